"""The trained model as a :class:`~aimusic.compose.melody_context.Melodist` for the composer.

Serving imports no torch: the melodist reads the weights file pair beside the checkpoint
(:mod:`aimusic.model.weights`), steps the network in NumPy and draws every random number
from the request's NumPy generator. Only a checkpoint without a current weights file is
read with torch.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from ..compose.melody_context import MelodyContext
from ..data.records import TICKS_PER_QUARTER
from ..errors import ModelError
from ..score import Note
from ..theory import fold_into, nearest_pitch_with_class
from .events import (BOS_DUR, BOS_PITCH, DURATIONS, N_PITCH, REST, STYLES, chord_features, duration_index,
                     meter_index, mode_index, pitch_from_index, pitch_index, position_index, style_index)
from .melody_stats import beat_ticks
from .sample import NumpyMelodyStepper, nucleus_sample
from .weights import WeightsUnavailable, load_weights

log = logging.getLogger(__name__)

TOP_P = 0.98            # cuts the unlikeliest 2 % of pitches; rests are never cut
NATURAL_CENTER = 67      # MIDI pitch near the middle of the training melodies
_DUR_TICKS = np.array(DURATIONS)
_LOG_DUR = np.log(_DUR_TICKS / 12.0)     # note lengths in octaves of a quarter
ENERGY_LEAN = 6.0        # logit per octave of length per unit of energy away from the middle


def within_pulse(fits: np.ndarray, into: int, pulse: int, left: int) -> np.ndarray:
    """The lengths of ``fits`` a note ``into`` ticks past a compound meter's pulse may take.

    A note that starts on a dotted quarter may last as long as it likes; one that starts
    inside it ends on the next pulse at the latest (or with the span): the line never ties
    across a pulse from inside one, the hemiola that makes a 12/8 lead read as 3/4 or a
    tracker hear its quarter notes. Where nothing would be left, ``fits`` is kept.
    """
    ruled = fits & ((into == 0) | (into + _DUR_TICKS <= pulse) | (_DUR_TICKS == left))
    return ruled if ruled.any() else fits


class ModelMelodist:
    """Writes section melodies by sampling the trained network step by step."""

    def __init__(self, blob: dict, *, top_p: float | None = None) -> None:
        args = blob["model_args"]
        self.name: str = str(blob["name"])
        self.parameters: int = int(blob["parameters"])
        self.metrics: dict = dict(blob.get("metrics", {}))
        sampling = blob.get("sampling", {})
        self.top_p = float(top_p if top_p is not None else sampling.get("top_p", TOP_P))
        # Per style tag, an offset added to the rest logit (fitted by aimusic.model.calibrate).
        self.rest_offset: dict[str, float] = {str(tag): float(fit["offset"])
                                              for tag, fit in sampling.get("rest_offset", {}).items()}
        self.stepper = NumpyMelodyStepper(blob["state_dict"], int(args["layers"]), int(args["hidden"]))
        # A model trained without some tags (say, only on public-domain folk and chorales)
        # never learned their embeddings: those tags fall back to a tag it knows.
        trained = [t for t in self.metrics.get("train_styles", STYLES) if t in STYLES] or list(STYLES)
        fallback = STYLES.index("folk") if "folk" in trained else STYLES.index(trained[0])
        self.trained_tag = [i if tag in trained else fallback for i, tag in enumerate(STYLES)]

    def melody(self, context: MelodyContext, *, rng: np.random.Generator, temperature: float) -> list[Note]:
        """Sample the section's melody: notes inside the span and register, ordered, no overlaps.

        The network proposes every pitch and duration (the rest moved by the style's calibrated
        offset); rules only mask what cannot be used (pitches outside the register, durations
        running past the section) and, in the final section, settle the last note on the
        tonic and hold it to the end.
        """
        tpb, total, shift, cond_at = self._conditioning(context)
        bar = context.beats_per_bar * tpb
        start_tick = int(round(context.start * tpb))
        low, high = context.register
        tonic = context.key.tonic
        rest_offset = self.rest_offset.get(STYLES[self.trained_tag[style_index(context.style_tag)]], 0.0)
        midi = np.array([pitch_from_index(i, tonic) for i in range(N_PITCH)]) - shift
        allowed = (midi >= low) & (midi <= high)
        allowed[REST] = True
        fold = allowed.sum() <= 1            # register outside the vocabulary: fold octaves
        if fold:
            allowed[:] = True
        busy = 0.0 if context.energy is None else ENERGY_LEAN * (context.energy - 0.5)
        busy -= context.length_lean
        pulse = beat_ticks(context.time_signature)
        pulse = pulse if pulse != tpb else 0        # a compound meter's dotted quarter, in ticks
        uniforms = rng.random(2 * total + 2)      # enough for a pitch and a duration per tick
        state = self.stepper.initial_state()
        prev_p, prev_d, t, k = BOS_PITCH, BOS_DUR, 0, 0
        notes: list[Note] = list(context.primer)
        for token_p, token_d, at, _ in primer_events(context.primer, context.start, tpb, tonic, shift):
            _, state = self.stepper.step(prev_p, prev_d, cond_at(at), state)   # the state hears the primer
            prev_p, prev_d, t = token_p, token_d, at
        if context.primer:
            t = int(round((context.primer_end - context.start) * tpb))
        while t < total:
            beat = context.start + t / tpb
            logits, state = self.stepper.step(prev_p, prev_d, cond_at(t), state)
            logits[REST] += rest_offset
            mask = allowed.copy()
            if not notes:
                mask[REST] = False           # a section starts with a note, not silence
            p = nucleus_sample(logits, uniforms[k], temperature=temperature, top_p=self.top_p, allowed=mask,
                               keep=REST)
            d_logits = self.stepper.duration_logits(state, p)
            if busy:   # an asked energy (or a very slow meter) leans the line toward shorter (or longer) notes
                d_logits = d_logits - busy * _LOG_DUR
            fits = _DUR_TICKS <= total - t
            if pulse:
                fits = within_pulse(fits, (start_tick + t) % pulse, pulse, total - t)
            d = nucleus_sample(d_logits, uniforms[k + 1], temperature=temperature, top_p=self.top_p,
                               allowed=fits)
            k += 2
            length = int(DURATIONS[d])
            if p != REST:
                pitch = int(midi[p])
                if fold:
                    pitch = fold_into(pitch, low, high)
                pos = (start_tick + t) % bar
                vel = 0.85 if pos == 0 else 0.75 if pos % tpb == 0 else 0.68
                notes.append(Note(beat, length / tpb, pitch, vel))
            prev_p, prev_d, t = p, d, t + length
        if context.final and len(notes) > len(context.primer):   # a primer's own notes stay as given
            last = notes[-1]
            tonic_pitch = fold_into(nearest_pitch_with_class(last.pitch, tonic), low, high)
            notes[-1] = Note(last.start, context.start + context.length - last.start, tonic_pitch, last.velocity)
        return notes

    def _conditioning(self, context: MelodyContext) -> tuple[int, int, int, Callable[[int], tuple[int, ...]]]:
        """(ticks per beat, ticks in the span, octave shift, the conditioning features at a tick)."""
        tpb = TICKS_PER_QUARTER * 4 // context.beat_unit          # ticks per beat
        bar = context.beats_per_bar * tpb
        total = int(round(context.length * tpb))
        start_tick = int(round(context.start * tpb))
        low, high = context.register
        tonic = context.key.tonic
        meter = meter_index(context.time_signature)
        style, mode = self.trained_tag[style_index(context.style_tag)], mode_index(context.key.mode)
        # Sample in the octave the model knows best (melodies around G4) and move the
        # result by whole octaves into the register: a bass line gets the same shapes.
        shift = 12 * round((NATURAL_CENTER - (low + high) / 2) / 12)

        def cond_at(t: int) -> tuple[int, ...]:
            root, fam = chord_features(*self._chord(context, context.start + t / tpb), tonic)
            ending = int(context.final and total - t <= bar)
            return root, fam, position_index((start_tick + t) % bar), meter, style, mode, ending

        return tpb, total, shift, cond_at

    def log_likelihood(self, context: MelodyContext, notes: list[Note]) -> float:
        """Mean log-probability per event (pitch and duration, rests included) of ``notes`` after the primer.

        The network reads ``context.primer`` first, as :meth:`melody` does, then is scored on
        the events of ``notes`` (which start where the primer ends): how likely the model finds a
        continuation of that primer, for comparing continuations.
        """
        tpb, _, shift, cond_at = self._conditioning(context)
        primed = len(primer_events(context.primer, context.start, tpb, context.key.tonic, shift))
        events = primer_events((*context.primer, *notes), context.start, tpb, context.key.tonic, shift)
        state = self.stepper.initial_state()
        prev_p, prev_d = BOS_PITCH, BOS_DUR
        total = 0.0
        for i, (token_p, token_d, at, _) in enumerate(events):
            logits, state = self.stepper.step(prev_p, prev_d, cond_at(at), state)
            if i >= primed:
                d_logits = self.stepper.duration_logits(state, token_p)
                total += _log_softmax(logits)[token_p] + _log_softmax(d_logits)[token_d]
            prev_p, prev_d = token_p, token_d
        return total / max(len(events) - primed, 1)

    @staticmethod
    def _chord(context: MelodyContext, beat: float) -> tuple[int, str]:
        if not context.chords:                       # no harmony given: the key's tonic triad
            return context.key.tonic, "min" if mode_index(context.key.mode) else "maj"
        chord = context.chord_at(beat)
        return chord.root, chord.quality


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - float(np.max(logits))
    return z - np.log(np.exp(z).sum())


def primer_events(primer: tuple[Note, ...], start: float, ticks_per_beat: int, tonic: int,
                  shift: int = 0) -> list[tuple[int, int, int, int]]:
    """``(pitch token, duration token, onset tick, length ticks)`` of a primer's line, rests included.

    Ticks count from ``start``; a gap before a note is a rest event, as in the training data.
    ``shift`` is the octave offset the melodist samples at (a pitch ``p`` is token of ``p + shift``).
    """
    events: list[tuple[int, int, int, int]] = []
    cursor = 0
    for note in primer:
        onset = int(round((note.start - start) * ticks_per_beat))
        length = max(1, int(round(note.length * ticks_per_beat)))
        if onset > cursor:
            events.append((REST, duration_index(onset - cursor), cursor, onset - cursor))
        events.append((pitch_index(note.pitch + shift, tonic), duration_index(length), onset, length))
        cursor = max(cursor, onset + length)
    return events


def load_model_melodist(path: Path) -> ModelMelodist:
    """Load the model of the checkpoint at ``path`` as a melodist, without torch when it can.

    The weights file pair beside the checkpoint (``melody.npz`` + ``melody.json`` for
    ``melody.pt``) is read when it is there and matches the checkpoint; otherwise the
    checkpoint itself is read with torch (weights only, no pickled code), with a warning,
    since that costs the process torch's time and memory.

    Parameters
    ----------
    path : Path
        The checkpoint, or either file of its weights pair.

    Raises
    ------
    ModelError
        When neither file can be read, or neither is a compatible melody model.
    """
    path = Path(path)
    try:
        blob = load_weights(path)
    except WeightsUnavailable as why:
        if path.suffix in (".npz", ".json"):
            raise
        if path.exists():
            log.warning("%s: reading the checkpoint with torch instead (python train_models.py export "
                        "writes the weights file)", why)
        blob = _read_checkpoint(path)
    try:
        return ModelMelodist(blob)
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: incomplete melody checkpoint ({exc})") from exc


def _read_checkpoint(path: Path) -> dict:
    try:
        from .checkpoint import load_checkpoint
    except ImportError as exc:
        raise ModelError(f"no weights file beside {path}, and torch, needed to read it, is missing") from exc
    return load_checkpoint(path)
