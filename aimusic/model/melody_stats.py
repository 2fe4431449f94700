"""Comparing generated melodies with real ones: scale use, chord tones, contour, range, rests."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..compose.melody_context import ChordSpan, MelodyContext
from ..data.records import TICKS_PER_QUARTER, MelodyRecord
from ..theory import SCALES, Chord, Key

METRICS = ("in_scale", "chord_tones_strong", "pc_entropy", "mean_abs_interval", "range", "rest_ratio")


def beat_ticks(meter: str) -> int:
    """Ticks of one felt beat: a dotted quarter in compound meters, else the written beat."""
    num, den = (int(x) for x in meter.split("/"))
    unit = TICKS_PER_QUARTER * 4 // den
    return unit * 3 if den == 8 and num % 3 == 0 and num > 3 else unit


def melody_metrics(rows: list[tuple[int, int, int, int]], chords: list[tuple[int, str]], *,
                   tonic: int, mode: str, meter: str) -> dict[str, float]:
    """The six descriptive figures of one melody.

    ``rows`` are ``(pitch or -1, onset, duration, bar position)`` in ticks and ``chords``
    the ``(root, quality)`` under each row.
    """
    scale = {(tonic + s) % 12 for s in SCALES["minor" if mode == "minor" else "major"]}
    beat = beat_ticks(meter)
    pitches = np.array([r[0] for r in rows if r[0] >= 0])
    strong = [(r[0], c) for r, c in zip(rows, chords) if r[0] >= 0 and r[3] % beat == 0 and c[0] >= 0]
    hist = np.bincount(pitches % 12, minlength=12).astype(float)
    p = hist / max(hist.sum(), 1)
    nz = p[p > 0]
    return {
        "in_scale": float(np.mean([q % 12 in scale for q in pitches])) if len(pitches) else 0.0,
        "chord_tones_strong": float(np.mean([q % 12 in Chord(c[0], c[1]).pitch_classes for q, c in strong]))
        if strong else float("nan"),
        "pc_entropy": float(-(nz * np.log2(nz)).sum()),
        "mean_abs_interval": float(np.abs(np.diff(pitches)).mean()) if len(pitches) > 1 else 0.0,
        "range": float(pitches.max() - pitches.min()) if len(pitches) else 0.0,
        "rest_ratio": float(np.mean([r[0] < 0 for r in rows])),
    }


def record_metrics(record: MelodyRecord) -> dict[str, float]:
    """:func:`melody_metrics` of a real melody."""
    return melody_metrics([tuple(n) for n in record.notes], [tuple(c) for c in record.chords],
                          tonic=record.tonic, mode=record.mode, meter=record.meter)


REGISTER_SPAN = 24       # every lead part of the service gets two octaves (aimusic/styles.py)


def context_for(record: MelodyRecord) -> MelodyContext:
    """A :class:`MelodyContext` asking for a melody like ``record``: same key, meter, chords, span.

    The register is the one a lead part gets in the service, two octaves, centred on the
    real melody: bounding the generated line by the real one's own range would hand it the
    answer and cap its range below the real one.
    """
    num, den = (int(x) for x in record.meter.split("/"))
    tpb = TICKS_PER_QUARTER * 4 // den
    spans, cur = [], None
    first_onset = record.notes[0][1]
    shift = record.notes[0][3]           # start where the real first note sits in its bar
    end = record.notes[-1][1] + record.notes[-1][2]
    for (_, onset, _, _), (root, quality) in zip(record.notes, record.chords):
        chord = Chord(root, quality) if root >= 0 else Chord(record.tonic, "min" if record.mode == "minor" else "maj")
        if cur is None or chord != cur[1]:
            spans.append([onset, chord])
            cur = spans[-1]
    chord_spans = []
    for i, (onset, chord) in enumerate(spans):
        stop = spans[i + 1][0] if i + 1 < len(spans) else end
        chord_spans.append(ChordSpan((onset - first_onset + shift) / tpb, (stop - onset) / tpb, chord))
    pitches = [n[0] for n in record.notes if n[0] >= 0]
    low = (min(pitches) + max(pitches) + 1) // 2 - REGISTER_SPAN // 2
    start = shift / tpb
    return MelodyContext(key=Key(record.tonic, record.mode), beats_per_bar=num, beat_unit=den, start=start,
                         length=(end - first_onset) / tpb, chords=tuple(chord_spans),
                         register=(low, low + REGISTER_SPAN), style_tag=record.style,
                         step=0.5, density=0.7, rest_prob=0.05, long_note_prob=0.1, final=True)


def rows_from_notes(notes, context: MelodyContext) -> tuple[list, list]:
    """Rows and chords of generated notes (gaps become rests), for :func:`melody_metrics`."""
    tpb = TICKS_PER_QUARTER * 4 // context.beat_unit
    bar = context.beats_per_bar * tpb
    rows, chords, t = [], [], context.start
    for n in notes:
        if n.start > t + 1e-6:
            rows.append((-1, round(t * tpb), round((n.start - t) * tpb), round(t * tpb) % bar))
            c = context.chord_at(t)
            chords.append((c.root, c.quality))
        rows.append((n.pitch, round(n.start * tpb), round(n.length * tpb), round(n.start * tpb) % bar))
        c = context.chord_at(n.start)
        chords.append((c.root, c.quality))
        t = n.end
    return rows, chords


def mean_interval(values: list[float], *, seed: int = 0, draws: int = 2000) -> tuple[float, float]:
    """A 95 % bootstrap interval of the mean of ``values`` (NaNs ignored): how well a set pins its mean."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return float("nan"), float("nan")
    means = np.random.default_rng(seed).choice(x, size=(draws, len(x))).mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def compare_generated(melodist, records: list[MelodyRecord], *, seed: int = 7, temperature: float = 1.0,
                      samples: int = 1) -> dict[str, dict]:
    """Per style: real and generated means of :data:`METRICS`, ``samples`` generated melodies per real one.

    Each generated melody is asked for with the real one's key, meter, chords and span, so
    the two sets differ only in who wrote the notes. ``real_low``/``real_high`` bound the
    real mean (95 % bootstrap): a small set of real melodies pins some figures only loosely.
    """
    rng = np.random.default_rng(seed)
    real, gen = defaultdict(list), defaultdict(list)
    for rec in records:
        ctx = context_for(rec)
        real[rec.style].append(record_metrics(rec))
        for _ in range(samples):
            rows, chords = rows_from_notes(melodist.melody(ctx, rng=rng, temperature=temperature), ctx)
            if rows:
                gen[rec.style].append(melody_metrics(rows, chords, tonic=rec.tonic, mode=rec.mode, meter=rec.meter))
    out = {}
    for style in real:
        figures = {}
        for m in METRICS:
            values = [x[m] for x in real[style]]
            low, high = mean_interval(values, seed=seed)
            figures[m] = {"real": float(np.nanmean(values)), "generated": float(np.nanmean([x[m] for x in gen[style]])),
                          "real_low": low, "real_high": high}
        out[style] = {"melodies": (len(real[style]), len(gen[style])), "metrics": figures}
    return out


def samples_for(contexts: int, min_generated: int) -> int:
    """Generated melodies per context so that a style gets at least ``min_generated`` in all."""
    return max(1, -(-min_generated // max(contexts, 1)))


def real_means(records: list[MelodyRecord]) -> dict[str, float]:
    """Mean of every figure of :data:`METRICS` over real melodies."""
    rows = [record_metrics(r) for r in records]
    return {m: float(np.nanmean([x[m] for x in rows])) for m in METRICS}


def generated_report(melodist, records: list[MelodyRecord], *, seed: int = 7, min_generated: int = 800,
                     temperature: float = 1.0) -> tuple[list[str], float]:
    """The generated-vs-real table (markdown lines) and the largest relative difference.

    Per style tag, melodies are generated for every context of the test and validation
    splits (enough samples each for ``min_generated`` in all) and compared with those real
    melodies (95 % interval of their mean) and with the training split's real melodies.
    """
    lines = ["| style (real / generated melodies) | figure | real, held out (95 % interval) | real, train "
             "| generated | ratio to held out | ratio to train |", "|---|---|---|---|---|---|---|"]
    worst = 0.0
    for style in sorted({r.style for r in records if r.split == "train"}):
        held = [r for r in records if r.style == style and r.split in ("test", "validation")]
        if not held:
            continue
        stats = compare_generated(melodist, held, seed=seed, temperature=temperature,
                                  samples=samples_for(len(held), min_generated))[style]
        train = real_means([r for r in records if r.style == style and r.split == "train"])
        for m in METRICS:
            f = stats["metrics"][m]
            ratio = f["generated"] / f["real"] if f["real"] else float("nan")
            ratio_train = f["generated"] / train[m] if train[m] else float("nan")
            worst = max(worst, abs(ratio - 1))
            lines.append(f"| {style} ({stats['melodies'][0]} / {stats['melodies'][1]}) | {m} | {f['real']:.4f} "
                         f"({f['real_low']:.4f}-{f['real_high']:.4f}) | {train[m]:.4f} | {f['generated']:.4f} "
                         f"| {ratio:.3f} | {ratio_train:.3f} |")
    return lines, worst
