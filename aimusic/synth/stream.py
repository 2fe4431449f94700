"""One track rendered as a stream of chunks: notes placed once, tails carried over.

:class:`TrackStream` hands out a track's stem a chunk at a time. Each note is rendered (or
taken from the note cache) once, when the stream first reaches its onset, and added whole
into a carry-over buffer that holds only what is still ringing; the stem colour then runs
over the finished samples with its state kept. Before the first chunk the stream already
knows its level and peak, predicted from the note data (:mod:`aimusic.synth.levels`), so a
mixer can set its gain without the whole stem.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ParameterError
from ..score import CLOSED_HAT, OPEN_HAT, PEDAL_HAT, TempoMap, Track
from .additive import raised_cosine
from .colour import Colour, rotary, rotary_reach
from .drums import TUNED_BELOW_HZ, get_kit, kit_tuning, velocity_layer
from .instruments import get_timbre
from .levels import (driven_power, frame_length, frame_power, gated_level_db, note_power, spread,
                     timbre_calibration)
from .notes import (RenderNotes, drum_hit, key_velocity_hold, note_key, onsets, velocity_bucket,
                    velocity_gain)
from .voice import rendered_length

DRUM_VARIANTS = 3          # round-robin noise variants per piece and layer
CHOKE_FADE_S = 0.008       # how fast a closing hi-hat silences an open one
QUIET_AFTER_S = 0.1        # an amplifier's filters have rung out this long after the last sound


@lru_cache(maxsize=1024)
def _hit_power(kit: str, pitch: int, layer: int, variant: int, sr: int, tune: int) -> np.ndarray:
    power = frame_power(drum_hit(kit, pitch, layer, variant, sr=sr, tune=tune), sr=sr)
    power.setflags(write=False)
    return power


def onset_order(track: Track, tempo: TempoMap, *, sr: int,
                n_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset samples, held samples, the notes starting before ``n_samples`` in onset order) of ``track``."""
    starts, holds = onsets(track, tempo, sr) if track.notes else (np.zeros(0, np.int64),) * 2
    keep = np.flatnonzero(starts < n_samples)
    return starts, holds, keep[np.argsort(starts[keep], kind="stable")]


def hit_keys(track: Track, order: np.ndarray, tonic: int | None) -> list[tuple]:
    """The hit of each note of drum track ``track`` in ``order``: (kit, piece, layer, variant, tuning).

    Successive hits of a piece take the round-robin variants in turn; the shells (pieces with
    tones below :data:`~aimusic.synth.drums.TUNED_BELOW_HZ`) are tuned to ``tonic``. Raises
    ParameterError for a piece the kit does not have.
    """
    kit_name = track.instrument
    kit = get_kit(kit_name)
    tune = kit_tuning(kit, tonic)
    count: dict[int, int] = {}
    keys = []
    for i in order:
        note = track.notes[i]
        spec = kit.get(note.pitch)
        if spec is None:
            raise ParameterError("note.pitch", f"drum piece {note.pitch} is not in {kit_name}")
        variant = count.get(note.pitch, 0) % DRUM_VARIANTS
        count[note.pitch] = count.get(note.pitch, 0) + 1
        tuned = tune if any(f < TUNED_BELOW_HZ for f, _, _ in spec.tones) else 0
        keys.append((kit_name, note.pitch, velocity_layer(note.velocity), variant, tuned))
    return keys


def make_hits(todo: list[tuple], *, sr: int) -> None:
    """Synthesize the drum hits ``todo`` lists into the cache, taking each off the list first.

    Two threads may work through one list together: each takes the next hit (``list.pop`` is
    atomic), so a set-up's new hits (a new key tunes the shells anew) are shared out.
    """
    while True:
        try:
            kit, pitch, layer, variant, tune = todo.pop()
        except IndexError:
            return
        drum_hit(kit, pitch, layer, variant, sr=sr, tune=tune)


class TrackStream:
    """A track's mono float32 stem, read chunk after chunk with :meth:`read`.

    Attributes
    ----------
    level_db : float
        Predicted gated RMS level of the whole coloured stem (-inf for a silent track).
    peak : float
        Predicted peak of the summed notes before colour (sets the drive's pre-gain).
    """

    def __init__(self, track: Track, tempo: TempoMap, *, sr: int, n_samples: int,
                 tonic: int | None = None) -> None:
        self.track, self.sr, self.n = track, sr, n_samples
        self.keys: dict[int, tuple] = {}
        self.pos = 0
        self.starts, holds, self.order = onset_order(track, tempo, sr=sr, n_samples=n_samples)
        self.gains = velocity_gain(np.array([n.velocity for n in track.notes], dtype=np.float64))
        self._next = 0
        self.timbre = None
        if track.is_drums:
            self._prepare_drums(tonic)
        else:
            self._prepare_pitched(holds)
        self.notes = RenderNotes(self.uses())
        self.reach = rotary_reach(self.timbre, sr=sr) if self.timbre is not None else 0
        self.colour = (Colour(self.timbre, sr=sr, ref=self.peak, quiet=self._quiet_spans())
                       if self.timbre is not None else None)
        self.buf = np.zeros(1 << 16, dtype=np.float32)
        self.scratch = np.empty(1 << 16, dtype=np.float32)
        self.base = 0      # sample index of buf[0]
        self.hi = 0        # samples before this may be non-zero
        self.done = 0      # samples before this are final and coloured

    # -- set-up: what each note is, and the level the track will have --------------------
    def _prepare_pitched(self, holds: np.ndarray) -> None:
        timbre = self.timbre = get_timbre(self.track.instrument)
        notes, sr = self.track.notes, self.sr
        played: dict[tuple[int, int], int] = {}   # notes of each pitch and velocity bucket so far
        self.keys = {}
        for i in self.order:
            played_as = (notes[i].pitch, velocity_bucket(notes[i].velocity))
            count = played.get(played_as, 0)
            played[played_as] = count + 1
            self.keys[int(i)] = note_key(self.track.instrument, notes[i].pitch, notes[i].velocity, int(holds[i]),
                                         sr=sr, variant=count)
        # a note's expected power does not depend on its tone's variant: one profile for both
        profiles = [note_power(self.keys[i][:5], timbre, self.keys[i][1], *key_velocity_hold(self.keys[i]), sr=sr)
                    for i in self.order]
        self._predict(profiles, timbre_calibration(timbre.name, sr) if self.order.size else (1.0, 0.0, None))

    def _prepare_drums(self, tonic: int | None) -> None:
        kit_name, sr = self.track.instrument, self.sr
        pitches = np.array([n.pitch for n in self.track.notes], dtype=np.int64)
        closing = np.sort(self.starts[np.isin(pitches, (CLOSED_HAT, PEDAL_HAT))]) if pitches.size else pitches
        self.hits: dict[int, tuple] = {}
        profiles = []
        for i, key in zip(self.order, hit_keys(self.track, self.order, tonic)):
            note = self.track.notes[i]
            tuned = key[4]
            keep = -1
            if note.pitch == OPEN_HAT:  # the next closed or pedal hat chokes a ringing open hat
                later = closing[np.searchsorted(closing, self.starts[i], side="right"):]
                length = drum_hit(*key[:4], sr=sr, tune=tuned).shape[0]
                if later.size and later[0] - self.starts[i] + int(CHOKE_FADE_S * sr) < length:
                    keep = int(later[0] - self.starts[i])
            self.hits[int(i)] = (key, keep)
            profiles.append(frame_power(self._hit(int(i)), sr=sr) if keep >= 0
                            else _hit_power(*key[:4], sr, tuned))
        self._predict(profiles, (1.0, 0.0, None))

    def _quiet_spans(self) -> np.ndarray:
        """(start, end) samples where no note of this pitched track sounds, nor has for QUIET_AFTER_S.

        From the note data alone (onsets and rendered lengths), so the colour stage may skip
        them whatever the chunking; empty for a track without an amplifier.
        """
        if self.timbre is None or not self.timbre.amp or not self.order.size:
            return np.zeros((0, 2), dtype=np.int64)
        starts = self.starts[self.order]
        ends = starts + np.array([rendered_length(self.timbre, self.keys[int(i)][1],
                                                  key_velocity_hold(self.keys[int(i)])[1], sr=self.sr)
                                  for i in self.order], dtype=np.int64)
        reach = np.maximum.accumulate(ends)                 # everything before has ended by then
        margin = int(QUIET_AFTER_S * self.sr)
        gap_from = np.concatenate([[0], reach[:-1] + margin])
        gap_to = starts
        spans = [(0, int(starts[0]))] if starts[0] > 0 else []
        spans += [(int(a), int(b)) for a, b in zip(gap_from[1:], gap_to[1:]) if b - a > margin]
        if reach[-1] + margin < self.n:
            spans.append((int(reach[-1] + margin), self.n))
        return np.array(spans, dtype=np.int64).reshape(-1, 2)

    def uses(self) -> dict[tuple, list[int]]:
        """Onset samples of every pitched note key this track plays (for a shared :class:`RenderNotes`)."""
        uses: dict[tuple, list[int]] = {}
        for i in self.order:
            if int(i) in self.keys:
                uses.setdefault(self.keys[int(i)], []).append(int(self.starts[i]))
        return uses

    def _hit(self, i: int) -> np.ndarray:
        key, keep = self.hits[i]
        hit = drum_hit(*key[:4], sr=self.sr, tune=key[4])
        if keep >= 0:
            fade = int(CHOKE_FADE_S * self.sr)
            hit = hit[:keep + fade].copy()
            hit[keep:] *= raised_cosine(fade)[::-1]
        return hit

    def _predict(self, profiles: list[np.ndarray], calibration: tuple) -> None:
        crest, colour_db, curve = calibration
        starts, gains = self.starts[self.order], self.gains[self.order]
        n_frames = self.n // frame_length(self.sr)
        power = spread(profiles, starts, gains ** 2, sr=self.sr, n_frames=n_frames)
        self.peak = 0.0
        if self.timbre is not None and self.timbre.amp and profiles:
            amp = spread(profiles, starts, gains, sr=self.sr, n_frames=max(n_frames, 1), root=True)
            self.peak = crest * float(np.max(amp))
            power = driven_power(power, curve, ref=self.peak, drive=self.timbre.drive)
        self.level_db = gated_level_db(power) + colour_db

    # -- streaming ----------------------------------------------------------------------
    def _cover(self, end: int) -> None:
        """Grow the carry-over buffer so that it reaches sample ``end``."""
        if end - self.base > self.buf.shape[0]:
            grown = np.zeros(max(2 * self.buf.shape[0], end - self.base), dtype=np.float32)
            grown[: self.hi - self.base] = self.buf[: self.hi - self.base]
            self.buf = grown

    def _place_until(self, horizon: int) -> None:
        """Add every note starting before ``horizon`` into the buffer, in onset order."""
        while self._next < self.order.size and self.starts[self.order[self._next]] < horizon:
            i = int(self.order[self._next])
            self._next += 1
            y = self._hit(i) if self.timbre is None else self.notes.get(self.keys[i], self.timbre)
            start = int(self.starts[i])
            m = min(y.shape[0], self.n - start)
            if m <= 0:
                continue
            self._cover(start + m)
            if self.scratch.shape[0] < m:
                self.scratch = np.empty(m, dtype=np.float32)
            scaled = np.multiply(y[:m], np.float32(self.gains[i]), out=self.scratch[:m])
            seg = self.buf[start - self.base:start - self.base + m]
            np.add(seg, scaled, out=seg)
            self.hi = max(self.hi, start + m)

    def _drop_before(self, start: int) -> None:
        """Forget the samples before ``start``, moving the ringing tail to the buffer's front."""
        if start <= self.base:
            return
        a, live = start - self.base, max(self.hi - start, 0)
        if live:
            self.buf[:live] = self.buf[a:a + live]
        self.buf[live:self.hi - self.base] = 0.0
        self.base = start

    def read(self, m: int) -> np.ndarray:
        """The next ``m`` samples of the stem (fewer at its end), float32, coloured."""
        c0 = self.pos
        c1 = min(c0 + m, self.n)
        horizon = min(c1 + self.reach, self.n)
        self._place_until(horizon)
        self._cover(horizon)
        if self.colour is not None and self.colour.active:
            self.colour(self.buf[self.done - self.base:horizon - self.base], self.done)
        self.done = horizon
        self.hi = max(self.hi, horizon)
        if self.reach:
            out = rotary(self.buf, self.base, c0, c1, n=self.n, sr=self.sr, depth=self.timbre.rotary)
        else:
            out = self.buf[c0 - self.base:c1 - self.base].copy()
        self.pos = c1
        self._drop_before(max(c1 - self.reach, 0))
        return out

    def render(self, *, chunk: int = 1 << 17) -> np.ndarray:
        """The rest of the stem as one array (tests and the non-streaming API use this)."""
        out = np.empty(self.n - self.pos, dtype=np.float32)
        at = 0
        while self.pos < self.n:
            y = self.read(chunk)
            out[at:at + y.shape[0]] = y
            at += y.shape[0]
        return out
