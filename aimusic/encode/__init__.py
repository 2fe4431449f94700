"""Every file format a track is delivered in: audio, MIDI, score JSON and stems.

The pipeline hands over float samples and a Score; these modules turn them into bytes with
libraries made for each format (libsndfile through soundfile, mido, zipfile), never with
hand-written encoders.
"""
from __future__ import annotations

from .audio import AUDIO_FORMATS, MEDIA_TYPES, AudioTags, decode_pcm16, encode_audio
from .midi import score_to_midi, write_midi_file
from .score_json import ScoreDocument, score_document

__all__ = ["AUDIO_FORMATS", "MEDIA_TYPES", "AudioTags", "ScoreDocument", "decode_pcm16", "encode_audio",
           "score_document", "score_to_midi", "write_midi_file"]
