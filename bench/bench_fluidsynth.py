"""Our render speed against FluidSynth's, and how a 300 s track scales against a 30 s one.

Run from the project root::

    python bench/bench_fluidsynth.py                       # 5 rounds of 30 s, 3 of 300 s
    python bench/bench_fluidsynth.py --rounds 7 --long-rounds 0
    python bench/bench_fluidsynth.py --compare /path/to/other/checkout   # before/after, interleaved

FluidSynth renders a 35 s four-track MIDI file (one of our own jazz Scores: melody,
harmony, bass and drums, written by :mod:`aimusic.midi`) with FluidR3_GM as a whole process,
``fluidsynth -ni -F out.wav FluidR3_GM.sf2 file.mid``, its start and the SoundFont's loading
included. Our side is :func:`aimusic.pipeline.generate` of a 30 s track, timed inside a warm
process (one per checkout, started once, every style rendered once before timing). The two
are interleaved request by request (FluidSynth, then each checkout, for every style in
turn), so a change in the machine's load touches both; medians are reported with the
1-minute load average before and after. With ``--long-rounds`` each checkout also renders
300 s tracks, each next to a 30 s track of the same style and seed, for the 300 s / 30 s ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
STYLES = ("classical", "jazz", "rock", "blues", "electronic", "ambient")
MIDI_STYLE, MIDI_SECONDS, MIDI_SEED = "jazz", 35.0, 3

# A warm generation process for one checkout: reads "style duration seed" lines, answers ms.
_WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from aimusic.config import DEFAULT_MODEL_PATH
from aimusic.melodists import load_melodist
from aimusic.pipeline import GenerationRequest, generate
melodist = load_melodist("melody-lstm-v1", DEFAULT_MODEL_PATH).melodist
for style in sys.argv[2:]:
    generate(GenerationRequest(style=style, duration=30.0, seed=0), melodist)
print("ready", flush=True)
for line in sys.stdin:
    style, duration, seed = line.split()
    t0 = time.perf_counter()
    track = generate(GenerationRequest(style=style, duration=float(duration), seed=int(seed)), melodist)
    ms = (time.perf_counter() - t0) * 1e3
    print(json.dumps({"ms": ms, "stages": track.timings_ms}), flush=True)
"""


class Worker:
    """One warm generation process running the code of the checkout at ``root``."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.root = root
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER, str(root), *STYLES], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=root)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker for {root} did not start")

    def generate_ms(self, style: str, duration: float, seed: int) -> dict:
        """Wall time in ms of one generation (and its stage timings), measured in the worker."""
        self.proc.stdin.write(f"{style} {duration} {seed}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        """End the worker."""
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def write_midi_file(path: Path) -> int:
    """Write the FluidSynth benchmark's MIDI file (a composed jazz Score); returns its track count."""
    sys.path.insert(0, str(ROOT))
    from aimusic.config import DEFAULT_MODEL_PATH
    from aimusic.melodists import load_melodist
    from aimusic.midi import write_midi
    from aimusic.pipeline import GenerationRequest, compose_piece

    melodist = load_melodist("melody-lstm-v1", DEFAULT_MODEL_PATH).melodist
    _, score, _ = compose_piece(GenerationRequest(style=MIDI_STYLE, duration=MIDI_SECONDS, seed=MIDI_SEED), melodist)
    write_midi(score, path)
    return len(score.tracks)


def fluidsynth_ms(midi: Path, out: Path) -> float:
    """Wall time in ms of one whole ``fluidsynth -ni -F`` process rendering ``midi``."""
    t0 = time.perf_counter()
    subprocess.run(["fluidsynth", "-ni", "-F", str(out), str(SOUNDFONT), str(midi)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1e3


def load() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved benchmark and print a Markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="30 s rounds (each: every style once)")
    parser.add_argument("--long-rounds", type=int, default=3, help="300 s rounds per style (0: none)")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="other checkouts, timed alongside")
    args = parser.parse_args(argv)
    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        print("fluidsynth or FluidR3_GM.sf2 missing", file=sys.stderr)
        return 2
    roots = [ROOT, *[p.resolve() for p in args.compare]]
    with tempfile.TemporaryDirectory() as tmp:
        midi, wav = Path(tmp) / "bench.mid", Path(tmp) / "out.wav"
        n_tracks = write_midi_file(midi)
        workers = [Worker(root) for root in roots]
        load_start = load()
        fluid: list[float] = []
        ours: dict[Path, dict[str, list[float]]] = {r: {s: [] for s in STYLES} for r in roots}
        stages: dict[Path, dict[str, list[dict]]] = {r: {s: [] for s in STYLES} for r in roots}
        fluidsynth_ms(midi, wav)   # the SoundFont into the page cache
        for k in range(args.rounds):
            for style in STYLES:
                fluid.append(fluidsynth_ms(midi, wav))
                order = workers if k % 2 == 0 else workers[::-1]
                for w in order:
                    got = w.generate_ms(style, 30.0, 100 + k)
                    ours[w.root][style].append(got["ms"])
                    stages[w.root][style].append(got["stages"])
        long_ratio: dict[Path, dict[str, list[float]]] = {r: {s: [] for s in STYLES} for r in roots}
        long_ms: dict[Path, dict[str, list[float]]] = {r: {s: [] for s in STYLES} for r in roots}
        for k in range(args.long_rounds):
            for style in STYLES:
                for w in (workers if k % 2 == 0 else workers[::-1]):
                    short = w.generate_ms(style, 30.0, 200 + k)["ms"]
                    long = w.generate_ms(style, 300.0, 200 + k)["ms"]
                    long_ratio[w.root][style].append(long / short)
                    long_ms[w.root][style].append(long)
        load_end = load()
        for w in workers:
            w.close()
    fl = statistics.median(fluid)
    print(f"Date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load (1 min) {load_start:.2f} -> "
          f"{load_end:.2f}; {args.rounds} rounds of 30 s, {args.long_rounds} of 300 s\n")
    print(f"FluidSynth, {MIDI_SECONDS:.0f} s {n_tracks}-track MIDI, whole process: median {fl:.0f} ms "
          f"(min {min(fluid):.0f}, max {max(fluid):.0f}, n={len(fluid)})\n")
    for root in roots:
        print(f"### {root}\n")
        print("| style | 30 s median ms | / FluidSynth | render_mix ms | compose ms | 300 s median ms | 300 s / 30 s |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        medians = []
        for style in STYLES:
            med = statistics.median(ours[root][style])
            medians.append(med)
            rm = statistics.median(s["render_mix"] for s in stages[root][style])
            cp = statistics.median(s["compose"] + s["plan"] for s in stages[root][style])
            lm = f"{statistics.median(long_ms[root][style]):.0f}" if long_ms[root][style] else "-"
            lr = f"{statistics.median(long_ratio[root][style]):.2f}" if long_ratio[root][style] else "-"
            print(f"| {style} | {med:.0f} | {med / fl:.2f} | {rm:.0f} | {cp:.0f} | {lm} | {lr} |")
        overall = statistics.median(medians)
        print(f"\nMedian over the styles: {overall:.0f} ms, {overall / fl:.2f}x FluidSynth\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
