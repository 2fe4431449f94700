"""Turning raw note lists into clean monophonic lines on the tick grid, with chords per note."""
from __future__ import annotations

import bisect

import numpy as np

from .chords import analyse_melody, chords_agree, family
from .keys import estimate_key
from .records import MelodyRecord

MIN_NOTES = 8


def clean_line(raw: list[tuple[int, int, int, int]]) -> list[list[int]]:
    """A monophonic line from ``(pitch, onset, duration, bar_position)`` tuples in ticks.

    Simultaneous onsets keep the highest pitch (the tune, not a double stop), overlaps are
    cut at the next onset, gaps become rests, zero-length (grace) notes are dropped and
    leading/trailing rests removed, so the rows tile time without holes. Bar positions
    of inserted rests are provisional: :func:`fix_positions` sets them all.
    """
    by_onset: dict[int, tuple[int, int, int]] = {}
    for pitch, onset, dur, pos in raw:
        if dur <= 0:
            continue
        cur = by_onset.get(onset)
        if cur is None or (pitch >= 0 and pitch > cur[0]):
            by_onset[onset] = (pitch, dur, pos)
    onsets = sorted(by_onset)
    out: list[list[int]] = []
    for i, onset in enumerate(onsets):
        pitch, dur, pos = by_onset[onset]
        nxt = onsets[i + 1] if i + 1 < len(onsets) else onset + dur
        length = min(dur, nxt - onset)
        if pitch < 0 and out and out[-1][0] < 0:      # merge consecutive rests
            out[-1][2] += nxt - onset
            continue
        if pitch < 0:
            length = nxt - onset
        out.append([pitch, onset, length, pos])
        gap = nxt - (onset + length)
        if gap > 0 and i + 1 < len(onsets):
            out.append([-1, onset + length, gap, pos + length])
    while out and out[0][0] < 0:
        out.pop(0)
    while out and out[-1][0] < 0:
        out.pop()
    return out


def fix_positions(line: list[list[int]], bar_ticks: int, shift: int) -> None:
    """Set each row's bar position from its onset, a pickup of ``shift`` ticks before bar 1."""
    for row in line:
        row[3] = (row[1] + shift) % bar_ticks


def chords_at(onsets: list[int], timeline: list[tuple[int, int, str]]) -> list[list]:
    """The chord sounding at each onset, from a sorted ``(onset, root, quality)`` timeline."""
    starts = [t[0] for t in timeline]
    out: list[list] = []
    for onset in onsets:
        i = bisect.bisect_right(starts, onset) - 1
        out.append([timeline[i][1], timeline[i][2]] if i >= 0 else [-1, ""])
    return out


def make_record(line: list[list[int]], *, piece_id: str, source: str, style: str, meter: str,
                bar_ticks: int, timeline: list[tuple[int, int, str]] | None, chord_source: str,
                title: str = "", key: tuple[int, str] | None = None,
                key_histogram: np.ndarray | None = None, final_pc: int | None = None) -> MelodyRecord | None:
    """Assemble a :class:`MelodyRecord`, finding the key and analysing chords as needed.

    When ``timeline`` holds real chords the melody-only analysis is run as well and its
    agreement (same root and family, over sounding notes under a chord) stored in ``agree``.
    """
    if sum(1 for r in line if r[0] >= 0) < MIN_NOTES:
        return None
    pitches = np.array([r[0] for r in line])
    onsets = np.array([r[1] for r in line])
    durs = np.array([r[2] for r in line])
    if key is None:
        hist = key_histogram
        if hist is None:
            hist = np.bincount(pitches[pitches >= 0] % 12, weights=durs[pitches >= 0], minlength=12)
        last = int(pitches[pitches >= 0][-1]) % 12
        key = estimate_key(hist, last if final_pc is None else final_pc)
    tonic, mode = key
    num = int(meter.split("/")[0])
    window = bar_ticks // 2 if num % 2 == 0 and num != 6 or num in (6, 12) else bar_ticks
    offset = (line[0][3] - line[0][1]) % bar_ticks
    analysed = analyse_melody(pitches, onsets, durs, tonic=tonic, mode=mode, window=window, offset=offset)
    agree = [0, 0]
    if timeline:
        chords = chords_at([r[1] for r in line], timeline)
        for p, real, guess in zip(pitches, chords, analysed):
            if p >= 0 and real[0] >= 0 and family(real[1]):
                agree[1] += 1
                agree[0] += chords_agree((real[0], real[1]), guess)
    else:
        chords = [[r, q] for r, q in analysed]
        chord_source = "analysis"
    return MelodyRecord(id=piece_id, source=source, style=style, tonic=int(tonic), mode=mode,
                        meter=meter, bar_ticks=bar_ticks, notes=line, chords=chords,
                        chord_source=chord_source, title=title, agree=agree)
