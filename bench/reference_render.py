"""Our render beside a General MIDI reference render of the same Score, with timbre figures.

    python bench/reference_render.py --style rock --seed 1 [--duration 30] [--engine model|markov]
                                     [--out bench/reference]

The Score the service composes for that request is rendered twice: by the pipeline (the
product) and, exported with :mod:`aimusic.midi`, by FluidSynth with the FluidR3 General MIDI
soundfont (Debian packages ``fluidsynth`` and ``fluid-soundfont-gm``). Both mixes are written
as 16-bit WAVs at the same integrated loudness, each with a spectrogram PNG. Then every part
is rendered alone and dry by both engines and the figures that tell timbres apart are
printed side by side: spectral centroid and 85 % roll-off, median note attack and decay,
and the decay rates of the first partials of the part's longest note. The click count of
both mixes (:func:`aimusic.analysis.click_positions`) ends the table.

The soundfont is a yardstick for development only: the service renders with its own
synthesizer and never needs FluidSynth.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import aimusic  # noqa: E402,F401  (first: it pins the numeric kernels before NumPy loads)
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from aimusic.analysis import click_positions, note_envelope_figures, partial_decays, spectral_shape  # noqa: E402
from aimusic.config import DEFAULT_MODEL_PATH, SAMPLE_RATE  # noqa: E402
from aimusic.mastering import db_to_gain, integrated_loudness  # noqa: E402
from aimusic.melodists import load_melodist  # noqa: E402
from aimusic.midi import write_midi  # noqa: E402
from aimusic.pipeline import GenerationRequest, generate  # noqa: E402
from aimusic.score import Score, Track  # noqa: E402
from aimusic.synth.notes import onsets  # noqa: E402
from aimusic.synth.render import render_stems  # noqa: E402
from aimusic.synth.voice import midi_to_hz  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = SAMPLE_RATE


def fluidsynth_render(score: Score, path: Path, *, dry: bool) -> np.ndarray:
    """``score`` through FluidSynth as (n, 2) float32, the length of ``score.duration_s``.

    ``dry`` turns the soundfont player's own reverb and chorus off (for single parts).
    """
    with tempfile.TemporaryDirectory() as tmp:
        mid = write_midi(score, Path(tmp) / "score.mid")
        cmd = ["fluidsynth", "-ni", "-q", "-r", str(SR), "-g", "0.5", "-F", str(path)]
        if dry:
            cmd += ["-R", "0", "-C", "0"]
        subprocess.run(cmd + [str(SOUNDFONT), str(mid)], check=True, capture_output=True)
    audio, _ = sf.read(path, dtype="float32", always_2d=True)
    n = int(round(score.duration_s * SR))
    out = np.zeros((n, 2), dtype=np.float32)
    out[: min(n, audio.shape[0])] = audio[:n, :2] if audio.shape[1] >= 2 else audio[:n, [0, 0]]
    return out


def match_loudness(audio: np.ndarray, target_lufs: float) -> np.ndarray:
    """``audio`` scaled to ``target_lufs`` (peaks above full scale are then scaled down)."""
    loud = integrated_loudness(audio, sr=SR)
    if not np.isfinite(loud):
        return audio
    out = audio * np.float32(db_to_gain(target_lufs - loud))
    peak = float(np.max(np.abs(out)))
    return out / np.float32(peak / 0.999) if peak > 0.999 else out


def plot_spectrogram(path: Path, audio: np.ndarray, *, title: str) -> None:
    """Log-frequency spectrogram of the mono sum in dB (the same scale for both renders)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    f, t, s = signal.spectrogram(audio.mean(axis=1), fs=SR, nperseg=4096, noverlap=3072, window="hann")
    db = 10 * np.log10(s + 1e-12)
    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=100)
    mesh = ax.pcolormesh(t, f[1:], db[1:], shading="auto", cmap="magma", vmin=-110, vmax=-20)
    ax.set_yscale("log")
    ax.set_ylim(30, SR / 2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz")
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, label="dB")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def longest_note(track: Track, starts: np.ndarray, holds: np.ndarray) -> tuple[int, float]:
    """(onset sample, f0) of the track's longest held note that no other note overlaps."""
    best, best_hold = (0, 0.0), 0
    order = np.argsort(starts)
    for j, i in enumerate(order):
        nxt = starts[order[j + 1]] if j + 1 < order.size else starts[i] + holds[i]
        hold = min(int(holds[i]), int(nxt - starts[i]))
        if hold > best_hold and (j == 0 or starts[order[j - 1]] + holds[order[j - 1]] <= starts[i]):
            best, best_hold = (int(starts[i]), midi_to_hz(track.notes[i].pitch)), hold
    return best


def part_figures(y: np.ndarray, track: Track, score: Score) -> dict[str, object]:
    """The timbre figures of one part's dry stem."""
    starts, holds = onsets(track, score.tempo, SR)
    centroid, rolloff = spectral_shape(y, sr=SR)
    attack, decay = note_envelope_figures(y, starts, sr=SR)
    figures: dict[str, object] = {"centroid": centroid, "rolloff": rolloff, "attack_ms": 1e3 * attack,
                                  "decay_db_s": decay}
    if not track.is_drums and track.notes:
        at, f0 = longest_note(track, starts, holds)
        figures["partials_db_s"] = partial_decays(y[at:], f0, sr=SR, harmonics=5, seconds=0.4)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Render, write the files and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="rock")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--engine", choices=["model", "markov"], default="model")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "reference")
    args = parser.parse_args(argv)
    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        print("needs FluidSynth and the FluidR3 soundfont: apt-get install fluidsynth fluid-soundfont-gm")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    melodist = load_melodist(args.engine, DEFAULT_MODEL_PATH).melodist
    track = generate(GenerationRequest(style=args.style, duration=args.duration, seed=args.seed), melodist)
    score, ours = track.score, track.audio
    stem = f"{args.style}_{args.seed}"
    ref = match_loudness(fluidsynth_render(score, args.out / f"{stem}_gm_raw.wav", dry=False),
                         integrated_loudness(ours, sr=SR))
    (args.out / f"{stem}_gm_raw.wav").unlink()
    for name, audio in (("ours", ours), ("gm", ref)):
        sf.write(args.out / f"{stem}_{name}.wav", np.clip(audio, -1.0, 1.0), SR, subtype="PCM_16")
        plot_spectrogram(args.out / f"{stem}_{name}.png", audio, title=f"{args.style} seed {args.seed}: {name}")
    print(f"{args.style} seed {args.seed}: {score.tempo.bpm:.0f} BPM, {score.key_name}; files in {args.out}")
    print(f"{'part':8s} {'instrument':17s} {'render':6s} {'centroid':>8s} {'rolloff':>8s} {'attack':>7s} "
          f"{'decay':>7s}  partial decays h1..h5 dB/s")
    stems = render_stems(score, sr=SR, n_samples=ours.shape[0])
    for t in score.tracks:
        solo = replace(score, tracks=[t])
        gm = fluidsynth_render(solo, args.out / f"{stem}_part.wav", dry=True)
        (args.out / f"{stem}_part.wav").unlink()
        for name, y in (("ours", stems[t.name]), ("gm", gm)):
            fig = part_figures(y, t, score)
            partials = " ".join(f"{r:5.0f}" for r in fig.get("partials_db_s", ()))
            print(f"{t.name:8s} {t.instrument:17s} {name:6s} {fig['centroid']:8.0f} {fig['rolloff']:8.0f} "
                  f"{fig['attack_ms']:5.1f}ms {fig['decay_db_s']:7.1f}  {partials}")
    print(f"clicks: ours {len(click_positions(ours, sr=SR))}, gm {len(click_positions(ref, sr=SR))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
