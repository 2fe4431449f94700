"""Render one track per style with fixed seeds: WAV (16-bit) + spectrogram PNG, and a summary.

    python bench/gallery.py [OUT_DIR] [--duration 30] [--engine model|markov]

Prints, per style, the integrated loudness (pyloudnorm), the 4x-oversampled true peak and
the stage timings, so a listening session starts with the numbers next to the files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import aimusic  # noqa: E402,F401  (first: it pins the numeric kernels before NumPy loads)
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyloudnorm  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy import signal  # noqa: E402

from aimusic.config import Settings  # noqa: E402
from aimusic.melodists import load_melodist  # noqa: E402
from aimusic.pipeline import GeneratedTrack, GenerationRequest, generate  # noqa: E402
from aimusic.styles import STYLE_NAMES  # noqa: E402

SEEDS = {name: 1000 + i for i, name in enumerate(STYLE_NAMES)}


def write_wav(path: Path, audio: np.ndarray, *, sr: int) -> None:
    """16-bit PCM, clipped to full scale first (the mastering already keeps -1 dBTP)."""
    sf.write(path, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")


def plot_spectrogram(path: Path, track: GeneratedTrack, *, title: str) -> None:
    """Log-frequency spectrogram of the mono sum, in dB, with the form's sections marked."""
    sr = track.sample_rate
    mono = np.mean(track.audio, axis=1)
    f, t, s = signal.spectrogram(mono, fs=sr, nperseg=4096, noverlap=3072, window="hann")
    db = 10 * np.log10(s + 1e-12)
    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=100)
    mesh = ax.pcolormesh(t, f[1:], db[1:], shading="auto", cmap="magma", vmin=db.max() - 90, vmax=db.max())
    ax.set_yscale("log")
    ax.set_ylim(30, sr / 2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz")
    ax.set_title(title)
    for label, beat in track.score.sections:
        x = float(track.score.tempo.seconds(beat))
        ax.axvline(x, color="white", lw=0.6, alpha=0.6)
        ax.text(x + 0.1, 40, label, color="white", fontsize=8)
    fig.colorbar(mesh, ax=ax, label="dB")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak measured the slow, reference way (4x polyphase resampling)."""
    up = signal.resample_poly(audio.astype(np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(up))))


def main(argv: list[str] | None = None) -> int:
    """Render the gallery; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "bench" / "gallery"))
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--engine", default=None, help="model or markov (default: MELODY_ENGINE)")
    parser.add_argument("--styles", nargs="*", default=list(STYLE_NAMES))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    info = load_melodist(args.engine or settings.melody_engine, settings.model_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"melody engine: {info.name}" + (f" (fallback: {info.error})" if info.error else ""))
    print(f"{'style':11s} {'seed':>5s} {'LUFS':>7s} {'dBTP':>6s}  {'render+mix':>10s}  instruments")
    for style in args.styles:
        seed = SEEDS.get(style, 1)
        track = generate(GenerationRequest(style=style, duration=args.duration, seed=seed), info.melodist)
        stem = f"{style}_{seed}"
        write_wav(out / f"{stem}.wav", track.audio, sr=track.sample_rate)
        plot_spectrogram(out / f"{stem}.png", track, title=f"{style} (seed {seed}, {track.plan.key.name})")
        loud = pyloudnorm.Meter(track.sample_rate).integrated_loudness(track.audio.astype(np.float64))
        instruments = ", ".join(f"{t.role}={t.instrument}" for t in track.score.tracks)
        print(f"{style:11s} {seed:5d} {loud:7.2f} {true_peak_dbtp(track.audio):6.2f}  "
              f"{track.timings_ms['render_mix']:8.0f}ms  {instruments}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
