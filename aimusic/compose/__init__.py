"""Composition: from a SongPlan to a Score (harmony, bass, drums, melody, feel)."""
