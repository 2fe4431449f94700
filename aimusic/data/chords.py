"""Chords for melody notes: reading labels, naming pitch-class sets, analysing a bare melody.

Three ways to get the chord under a note, in order of trust: a chord symbol written in the
source (ABC quotes, MusicXML harmony, POP909 labels), the notes of the other voices
(chorales), or :func:`analyse_melody`, a harmonic analysis of the melody alone.
"""
from __future__ import annotations

import numpy as np

from ..theory import CHORD_INTERVALS, PITCH_CLASSES, QUALITY_FAMILY

# Qualities considered when naming a pitch-class set; order breaks ties (simplest first).
_NAMING_QUALITIES = ("maj", "min", "7", "min7", "maj7", "dim", "hdim7", "dim7", "aug",
                     "sus4", "sus2", "6", "min6")
_TEMPLATES = {q: frozenset(CHORD_INTERVALS[q]) for q in _NAMING_QUALITIES}

# Harte (POP909) quality names -> our qualities.
_HARTE = {
    "maj": "maj", "min": "min", "7": "7", "maj7": "maj7", "min7": "min7", "dim": "dim",
    "dim7": "dim7", "hdim7": "hdim7", "aug": "aug", "sus2": "sus2", "sus4": "sus4",
    "sus4(b7)": "7sus4", "maj6": "6", "min6": "min6", "minmaj7": "minmaj7", "9": "9",
    "maj9": "maj9", "min9": "min9",
}
# music21 ChordSymbol.chordKind -> our qualities.
_M21_KIND = {
    "major": "maj", "minor": "min", "augmented": "aug", "diminished": "dim",
    "dominant-seventh": "7", "major-seventh": "maj7", "minor-seventh": "min7",
    "diminished-seventh": "dim7", "half-diminished-seventh": "hdim7", "major-sixth": "6",
    "minor-sixth": "min6", "suspended-second": "sus2", "suspended-fourth": "sus4",
    "suspended-fourth-seventh": "7sus4", "dominant-ninth": "9", "major-ninth": "maj9",
    "minor-ninth": "min9", "minor-major-seventh": "minmaj7", "power": "5",
    "dominant-11th": "7", "dominant-13th": "13", "minor-11th": "min7", "augmented-seventh": "7",
}


def family(quality: str) -> str:
    """Coarse family (maj/min/dom/dim/aug/sus) of a quality; ``""`` for no chord."""
    return QUALITY_FAMILY.get(quality, "")


def parse_pitch_name(name: str) -> int:
    """Pitch class of a note name such as ``"C#"``, ``"Bb"`` or music21's ``"B-"``."""
    pc = PITCH_CLASSES[name[0].upper()]
    for ch in name[1:]:
        pc += 1 if ch == "#" else -1 if ch in "b-" else 0
    return pc % 12


def parse_harte(label: str) -> tuple[int, str]:
    """Read a Harte chord label (``"F#:maj7/5"``, ``"N"``) as ``(root_pc, quality)``."""
    if ":" not in label:
        return -1, ""
    root, rest = label.split(":", 1)
    quality = _HARTE.get(rest.split("/")[0])
    if quality is None:
        return -1, ""
    return parse_pitch_name(root), quality


def quality_from_m21_kind(kind: str) -> str | None:
    """Our quality for a music21 ``chordKind`` (None when unknown)."""
    return _M21_KIND.get(kind)


def name_pitch_classes(pcs: set[int] | frozenset[int], bass: int | None = None) -> tuple[int, str]:
    """Best ``(root, quality)`` for a set of sounding pitch classes (``(-1, "")`` if empty).

    Each template scores chord tones present minus half the tones missing minus the
    extra tones; the bass as root wins ties, as in a figured-bass reading.
    """
    if not pcs:
        return -1, ""
    best, best_score = (-1, ""), -1e9
    for root in range(12):
        rel = frozenset((p - root) % 12 for p in pcs)
        for rank, q in enumerate(_NAMING_QUALITIES):
            tpl = _TEMPLATES[q]
            score = len(rel & tpl) - 0.5 * len(tpl - rel) - len(rel - tpl)
            score += 0.3 * (bass == root) - 0.01 * rank
            if score > best_score:
                best, best_score = (root, q), score
    return best


# Diatonic triads tried by the analysis (sevenths lost agreement with real chords: they are
# rarely certain from a melody alone), as (semitones above tonic, quality, prior weight).
_DIATONIC = {
    "major": ((0, "maj", 1.0), (2, "min", 0.5), (4, "min", 0.3), (5, "maj", 0.8),
              (7, "maj", 0.9), (9, "min", 0.6), (11, "dim", 0.2)),
    "minor": ((0, "min", 1.0), (2, "dim", 0.3), (3, "maj", 0.6), (5, "min", 0.7),
              (7, "maj", 0.8), (8, "maj", 0.6), (10, "maj", 0.6)),
}


def analyse_melody(pitches: np.ndarray, onsets: np.ndarray, durations: np.ndarray, *,
                   tonic: int, mode: str, window: int, offset: int = 0) -> list[tuple[int, str]]:
    """Label every note with a diatonic chord by analysing the melody per window.

    The line is cut into windows of ``window`` ticks (half a bar, or a bar in triple
    meters), shifted by ``offset`` so windows start on bar lines. In each window every
    candidate diatonic triad of the key scores the duration-weighted share of
    melody time on its chord tones, minus time on other tones, plus a small prior for the
    common functions and a bonus for keeping the previous chord (harmonic rhythm is slow
    in folk tunes). Rests (pitch < 0) carry no weight and get the window's chord.
    """
    cands = _DIATONIC["minor" if mode == "minor" else "major"]
    tones = [frozenset((tonic + s + i) % 12 for i in CHORD_INTERVALS[q]) for s, q, _ in cands]
    labels = [((tonic + s) % 12, q) for s, q, _ in cands]
    priors = np.array([p for _, _, p in cands])
    sizes = np.array([len(t) for t in tones])
    n = len(pitches)
    out: list[tuple[int, str]] = [labels[0]] * n
    if n == 0:
        return out
    win_of = (onsets + offset) // window
    prev = 0
    for w in np.unique(win_of):
        idx = np.nonzero(win_of == w)[0]
        weights = np.zeros(12)
        start_w = w * window - offset
        for i in idx:
            if pitches[i] < 0:
                continue
            strong = 1.5 if (onsets[i] - start_w) % window == 0 else 1.0
            weights[pitches[i] % 12] += min(durations[i], window) * strong
        total = weights.sum()
        if total > 0:
            inside = np.array([sum(weights[p] for p in t) for t in tones])
            score = (2 * inside - total) / total + 0.15 * priors - 0.05 * (sizes - 3)
            score[prev] += 0.2
            prev = int(np.argmax(score))
        for i in idx:
            out[i] = labels[prev]
    return out


def chords_agree(a: tuple[int, str], b: tuple[int, str]) -> bool:
    """Same root and same family: the level of detail the model is conditioned on."""
    return a[0] == b[0] and family(a[1]) == family(b[1])
