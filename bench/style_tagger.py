"""An outside listener: which style a pretrained music auto-tagger hears in each generated track.

    python bench/style_tagger.py [--seeds 101 202 303] [--duration 30] [--styles ...] [--gm] [--parts]
                                 [--tagger-python /tmp/tagger-venv/bin/python] [--keep DIR] [--json FILE]

Each style is generated for each seed with :func:`aimusic.pipeline.generate` and the shipped
melody model, written as a 16-bit WAV into a temporary folder (``--keep DIR`` keeps them), and
tagged by the two pretrained musicnn models, MTT_musicnn (MagnaTagATune, 50 tags: guitar,
piano, techno, classical, ambient, ...) and MSD_musicnn (Million Song Dataset, 50 tags: rock,
jazz, blues, electronic, chillout, ...). Each model's tag probabilities are averaged over the
track's 3 s patches. The track is *heard as* the style whose tags (``STYLE_TAGS`` below, from
both models) have the highest summed probability. The table gives per track the style asked,
the style heard, the five strongest tags of each model and the style scores; the summary
counts the tracks heard as asked, per style. A second verdict, *by name*, looks only at the
tag named like the style (mean over the models that have it), which no style wins merely by
having more tags mapped to it.

Two options tell the composition from the sound. ``--gm`` also tags the same Score rendered
by FluidSynth with the FluidR3 General MIDI soundfont (as ``bench/reference_render.py`` does):
what the tagger hears in these notes played by sampled instruments. ``--parts`` also tags the
drums and the other parts apart (our dry stems; with ``--gm`` the soundfont's as well). Every
such variant is scaled to the integrated loudness of our mix; the summary counts each apart.

This is a yardstick for development only: the service never depends on the tagger, which
lives in a virtual environment of its own (TensorFlow would upgrade the project's pins)::

    python3 -m venv /tmp/tagger-venv
    /tmp/tagger-venv/bin/pip install tensorflow-cpu==2.21.0 librosa soundfile
    /tmp/tagger-venv/bin/pip install --no-deps tf-keras==2.21.0 musicnn==0.1.0

``--no-deps`` because both ask for ``tensorflow``, not ``tensorflow-cpu`` (pip would fetch the
full TensorFlow beside it), and musicnn 0.1.0 also pins numpy<1.17. musicnn's code already
uses ``tf.compat.v1`` and runs as it is on TF 2.21, but ``tf.compat.v1.layers`` exists only
with Keras 2, hence ``tf-keras`` and ``TF_USE_LEGACY_KERAS=1`` (set by this script for the
tagger process). Nothing in site-packages is edited: the tagging
code here (``--worker`` mode, run with the tagger's Python) builds each model with
``musicnn.models.define_model`` and restores musicnn's bundled checkpoint as
``musicnn.extractor.extractor`` does, but builds each model once for all the tracks and feeds
all of a track's patches in one batch. The patches are ``musicnn.extractor.batch_data``'s,
computed here because under NumPy 2 that function overflows float16 on loud audio (see
``_patches``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("MTT_musicnn", "MSD_musicnn")
DEFAULT_TAGGER_PYTHON = "/tmp/tagger-venv/bin/python"
GM_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"   # as bench/reference_render.py

# Which tags of the two models speak for which style (tags are matched case-insensitively and
# a tag a model does not have is simply absent from its sum). MTT_musicnn has no jazz or blues
# tag and MSD_musicnn no classical one; neither has "sax". "guitar" counts for rock only, as
# the rock guitar is the part that most sets it apart from the others; "slow", "quiet" and
# "soft" are MTT's words for the calm, pulse-less texture that ambient is. The sums are not
# even: of the labels the models have, electronic counts 11, rock 9, ambient 8, classical 7,
# jazz and blues 1 each, so a track with a little of everything leans to electronic, and a
# guitar to rock; the by-name verdict (``name_scores``) has no such lean.
STYLE_TAGS: dict[str, tuple[str, ...]] = {
    "classical": ("classical", "classic", "strings", "violin", "cello", "harpsichord", "harp"),
    "jazz": ("jazz", "sax", "saxophone"),
    "rock": ("rock", "guitar", "hard rock", "classic rock", "metal", "heavy metal"),
    "blues": ("blues",),
    "electronic": ("electronic", "electronica", "techno", "electro", "dance", "house", "synth", "beat", "beats"),
    "ambient": ("ambient", "new age", "chillout", "chill", "quiet", "slow", "soft"),
}


# --------------------------------------------------------------------------------------------
# The tagger process (run with the tagger venv's Python: imports nothing from aimusic)

def _worker(files: list[str]) -> int:
    """Tag ``files`` with both models; print {file: {model: {tag: mean probability}}} as JSON."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")    # tf.compat.v1.layers needs Keras 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    import librosa
    import musicnn
    from musicnn import configuration as config
    from musicnn import models
    import musicnn.extractor  # noqa: F401               # switches eager execution off, as musicnn needs

    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    patches = {f: _patches(f, n_frames, config) for f in files}
    out: dict[str, dict[str, dict[str, float]]] = {f: {} for f in files}
    for model in MODELS:
        labels = config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS
        graph = tf.Graph()
        with graph.as_default():
            with tf.name_scope("model"):
                x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
                is_training = tf.compat.v1.placeholder(tf.bool)
                y = models.define_model(x, is_training, model, len(labels))[0]
                probs = tf.nn.sigmoid(y)
            sess = tf.compat.v1.Session(graph=graph)
            tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
        for f in files:
            taggram = sess.run(probs, feed_dict={x: patches[f].astype(np.float32), is_training: False})
            out[f][model] = {tag: float(p) for tag, p in zip(labels, taggram.mean(axis=0))}
        sess.close()
    json.dump(out, sys.stdout)
    return 0


def _patches(path: str, n_frames: int, config):
    """The track's log-mel patches, 3 s each without overlap, as ``musicnn.extractor.batch_data``.

    musicnn rounds the mel power to float16 and then takes ``log10(10000 * mel + 1)``. With
    NumPy < 2 that product was computed in float32 (10000 promoted float16 to float32); NumPy 2
    keeps it float16, where it overflows to inf for any mel bin above 6.55, which a mastered
    track has, and every tag comes out NaN. Here the rounding is kept and the rest is float32.
    """
    import librosa
    import numpy as np

    audio, sr = librosa.load(path, sr=config.SR)
    mel = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE,
                                         n_mels=config.N_MELS).T
    rep = np.log10(np.float32(10000) * mel.astype(np.float16).astype(np.float32) + np.float32(1))
    starts = range(0, rep.shape[0] - n_frames + 1, n_frames)
    return np.stack([rep[t:t + n_frames] for t in starts]).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Deciding what a track is heard as

def style_scores(tags: dict[str, dict[str, float]]) -> dict[str, float]:
    """Summed probability of each style's tags over both models."""
    scores = {style: 0.0 for style in STYLE_TAGS}
    for probs in tags.values():
        lowered = {t.lower(): p for t, p in probs.items()}
        for style, names in STYLE_TAGS.items():
            scores[style] += sum(lowered.get(n, 0.0) for n in names)
    return scores


def name_scores(tags: dict[str, dict[str, float]]) -> dict[str, float]:
    """Probability of the tag named like each style, averaged over the models that have it."""
    out = {}
    for style in STYLE_TAGS:
        found = [probs[style] for probs in tags.values() if style in probs]
        out[style] = sum(found) / len(found) if found else 0.0
    return out


def top_tags(probs: dict[str, float], n: int = 5) -> str:
    """The ``n`` strongest tags as "tag .62, ..." ."""
    best = sorted(probs.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{t} {p:.2f}".replace(" 0.", " .") for t, p in best)


# --------------------------------------------------------------------------------------------
# The project side

VARIANTS = {
    "gm": "the same Score through FluidSynth and the FluidR3 General MIDI soundfont",
    "pitched_dry": "our dry stems of every part but the drums, summed",
    "drums_dry": "our dry drum stem",
    "gm_pitched": "FluidSynth render of every part but the drums",
    "gm_drums": "FluidSynth render of the drums alone",
}


def generate_tracks(styles: list[str], seeds: list[int], duration: float, folder: Path, *,
                    gm: bool, parts: bool, energy: float | None = None) -> list[dict]:
    """Generate every style x seed into ``folder``; returns one dict per track.

    Each dict's ``files`` maps ``"ours"`` (the product's mix) and the asked ``VARIANTS`` to
    WAV paths; every variant is scaled to the integrated loudness of our mix. ``energy`` is the
    request's (None: the style's own arrangement).
    """
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from dataclasses import replace

    import numpy as np
    import soundfile as sf
    from aimusic.config import DEFAULT_MODEL_PATH
    from aimusic.mastering import integrated_loudness
    from aimusic.melodists import load_melodist
    from aimusic.pipeline import GenerationRequest, generate
    from aimusic.synth.render import render_stems
    from reference_render import fluidsynth_render, match_loudness

    info = load_melodist("model", DEFAULT_MODEL_PATH)
    print(f"melody engine: {info.name}" + (f" (fallback: {info.error})" if info.error else ""), flush=True)
    tracks = []
    for seed in seeds:
        for style in styles:
            t0 = time.perf_counter()
            track = generate(GenerationRequest(style=style, duration=duration, seed=seed, energy=energy),
                             info.melodist)
            sr, score = track.sample_rate, track.score
            target = integrated_loudness(track.audio, sr=sr)
            files: dict[str, str] = {}

            def write(name: str, audio: np.ndarray, *, match: bool = True) -> None:
                if audio.ndim == 1:
                    audio = np.stack([audio, audio], axis=1)
                if match:
                    audio = match_loudness(audio.astype(np.float32), target)
                path = folder / f"{style}_{seed}_{name}.wav"
                sf.write(path, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")
                files[name] = str(path)

            write("ours", track.audio, match=False)
            drums = [t for t in score.tracks if t.is_drums]
            pitched = [t for t in score.tracks if not t.is_drums]
            if gm:
                write("gm", fluidsynth_render(score, folder / "gm_raw.wav", dry=False))
            if parts:
                stems = render_stems(score, sr=sr, n_samples=track.audio.shape[0])
                write("pitched_dry", sum(stems[t.name] for t in pitched))
                if drums:
                    write("drums_dry", sum(stems[t.name] for t in drums))
            if gm and parts:
                write("gm_pitched", fluidsynth_render(replace(score, tracks=pitched), folder / "gm_raw.wav", dry=False))
                if drums:
                    write("gm_drums", fluidsynth_render(replace(score, tracks=drums), folder / "gm_raw.wav", dry=False))
            instruments = ", ".join(f"{t.role}={t.instrument}" for t in score.tracks)
            print(f"  generated {style} {seed} in {time.perf_counter() - t0:.1f}s: {instruments}", flush=True)
            tracks.append({"style": style, "seed": seed, "files": files, "instruments": instruments,
                           "tempo": track.plan.tempo, "key": track.plan.key.name})
    return tracks


def run_tagger(python: str, files: list[str]) -> dict:
    """Tag ``files`` in the tagger's own environment; returns the worker's JSON."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", *files],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise SystemExit(f"tagger failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def verdict(tags: dict[str, dict[str, float]]) -> dict:
    """The tags of one file with its style scores and both verdicts."""
    scores, names = style_scores(tags), name_scores(tags)
    return {"tags": tags, "scores": scores, "heard": max(scores, key=scores.get),
            "heard_by_name": max(names, key=names.get)}


def summary(tracks: list[dict], styles: list[str], variant: str) -> None:
    """The "heard as asked" lines of one variant."""
    rows = [(t["style"], t[variant]) for t in tracks if variant in t]
    for key, label in (("heard", "heard as asked"), ("heard_by_name", "heard as asked, by name")):
        k = sum(v[key] == s for s, v in rows)
        per = ", ".join(f"{s} {sum(v[key] == s for a, v in rows if a == s)}/{sum(a == s for a, _ in rows)}"
                        for s in styles if any(a == s for a, _ in rows))
        print(f"{label}: {k}/{len(rows)} ({per})  ")


def report(tracks: list[dict], styles: list[str]) -> None:
    """Print the per-track tables and the summaries (Markdown)."""
    print("\n| seed | asked | heard as | by name | MTT_musicnn top 5 | MSD_musicnn top 5 |")
    print("| ---: | --- | --- | --- | --- | --- |")
    for t in tracks:
        o = t["ours"]
        print(f"| {t['seed']} | {t['style']} | {o['heard']} | {o['heard_by_name']} | "
              f"{top_tags(o['tags']['MTT_musicnn'])} | {top_tags(o['tags']['MSD_musicnn'])} |")
    print("\nStyle scores (summed probability of each style's tags, both models):\n")
    print("| seed | asked | " + " | ".join(STYLE_TAGS) + " |")
    print("| ---: | --- |" + " ---: |" * len(STYLE_TAGS))
    for t in tracks:
        o = t["ours"]
        cells = " | ".join((f"**{o['scores'][s]:.2f}**" if s == o["heard"] else f"{o['scores'][s]:.2f}")
                           for s in STYLE_TAGS)
        print(f"| {t['seed']} | {t['style']} | {cells} |")
    print()
    summary(tracks, styles, "ours")
    print("\nheard instead:  ")
    for s in styles:
        print(f"{s}: {', '.join(t['ours']['heard'] for t in tracks if t['style'] == s)}  ")
    variants = [v for v in VARIANTS if any(v in t for t in tracks)]
    if not variants:
        return
    print("\nVariants (each at the loudness of our mix):\n")
    for v in variants:
        print(f"- {v}: {VARIANTS[v]}")
    print("\n| seed | asked | render | heard as | by name | MTT_musicnn top 5 | MSD_musicnn top 5 |")
    print("| ---: | --- | --- | --- | --- | --- | --- |")
    for t in tracks:
        for v in ("ours", *variants):
            if v in t:
                o = t[v]
                print(f"| {t['seed']} | {t['style']} | {v} | {o['heard']} | {o['heard_by_name']} | "
                      f"{top_tags(o['tags']['MTT_musicnn'])} | {top_tags(o['tags']['MSD_musicnn'])} |")
    for v in variants:
        print(f"\n{v}:  ")
        summary(tracks, styles, v)


def main(argv: list[str] | None = None) -> int:
    """Generate, tag and report; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--styles", nargs="+", default=list(STYLE_TAGS), choices=list(STYLE_TAGS))
    parser.add_argument("--tagger-python", default=DEFAULT_TAGGER_PYTHON)
    parser.add_argument("--gm", action="store_true", help="also tag the Score rendered by FluidSynth (FluidR3 GM)")
    parser.add_argument("--parts", action="store_true", help="also tag the drums and the other parts apart")
    parser.add_argument("--keep", type=Path, default=None, help="write the WAVs here instead of a temp folder")
    parser.add_argument("--json", type=Path, default=None, help="also write every track's tags here")
    parser.add_argument("--energy", type=float, default=None, help="the requests' energy (0-1; default: none)")
    args = parser.parse_args(argv)
    if not Path(args.tagger_python).exists():
        raise SystemExit(f"no tagger Python at {args.tagger_python}: see the setup in this script's docstring")
    if args.gm and (shutil.which("fluidsynth") is None or not Path(GM_SOUNDFONT).exists()):
        raise SystemExit("--gm needs FluidSynth and the FluidR3 soundfont: "
                         "apt-get install fluidsynth fluid-soundfont-gm")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="style_tagger_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tracks = generate_tracks(args.styles, args.seeds, args.duration, folder, gm=args.gm, parts=args.parts,
                                 energy=args.energy)
        (folder / "gm_raw.wav").unlink(missing_ok=True)
        t1 = time.perf_counter()
        files = [f for t in tracks for f in t["files"].values()]
        print(f"generated {len(tracks)} tracks in {t1 - t0:.0f}s; tagging {len(files)} files ...", flush=True)
        tags = run_tagger(args.tagger_python, files)
        print(f"tagged in {time.perf_counter() - t1:.0f}s", flush=True)
    for t in tracks:
        for name, path in t.pop("files").items():
            t[name] = verdict(tags[path])
    report(tracks, args.styles)
    if args.json:
        args.json.write_text(json.dumps(tracks, indent=1))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
