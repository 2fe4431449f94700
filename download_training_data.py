"""Build the melody training corpus offline (music21 corpus, POP909, user folders).

Usage: ``python download_training_data.py [--out data/melody] [--sources ...] [--from DIR]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aimusic.data.build import build_dataset
from aimusic.data.sources import ALL_SOURCES

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the dataset, print the per-source summary."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "melody", help="output folder")
    ap.add_argument("--sources", nargs="*", default=list(ALL_SOURCES), choices=ALL_SOURCES,
                    help="sources to use (pick by licence); default all")
    ap.add_argument("--shared-datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                    help="folder holding pop909_melody_chords.json.gz (skipped when absent)")
    ap.add_argument("--from", dest="extra", type=Path, action="append", default=[],
                    help="extra folder of MIDI/MusicXML/ABC/Humdrum files (repeatable)")
    ap.add_argument("--from-style", default="folk", help="style tag for --from melodies")
    ap.add_argument("--heldout", default="airdsAirs", help="collection kept out of training ('' for none)")
    ap.add_argument("--cache", type=Path, default=None, help="per-file parse cache (default OUT/cache)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    shared = args.shared_datasets if args.shared_datasets.exists() else None
    if shared is None and "pop909" in args.sources:
        print(f"note: {args.shared_datasets} not found, building without POP909", file=sys.stderr)
    t0 = time.time()
    summary = build_dataset(args.out, sources=args.sources, shared_datasets=shared, extra_dirs=args.extra,
                            extra_style=args.from_style, cache_dir=args.cache or args.out / "cache",
                            heldout=args.heldout or None, workers=args.workers)
    print(f"{'source':16s} {'style':9s} {'melodies':>8s} {'notes':>8s} {'skipped':>7s} {'errors':>6s} agreement")
    for name, s in sorted(summary["sources"].items()):
        agree = "" if s["analysis_agreement"] is None else f"{s['analysis_agreement']:.3f}"
        print(f"{name:16s} {s['style']:9s} {s['melodies']:8d} {s['notes']:8d} {s.get('skipped', 0):7d} "
              f"{s.get('errors', 0):6d} {agree}")
    print(json.dumps(summary["splits"]), f"errors={summary['error_count']}", f"{time.time() - t0:.0f}s")
    timing = summary.get("timing", [])
    if timing:
        per_source: dict[str, list[float]] = {}
        for cpu, wall, source, _ in timing:
            acc = per_source.setdefault(source, [0.0, 0.0])
            acc[0] += cpu
            acc[1] += wall
        print("parse time per source, CPU / wall seconds summed over tasks:",
              ", ".join(f"{k} {c:.0f}/{w:.0f}" for k, (c, w) in sorted(per_source.items(), key=lambda kv: -kv[1][0])))
        print("slowest tasks (CPU s):", ", ".join(f"{label} {c:.1f}" for c, _, _, label in sorted(timing, reverse=True)[:8]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
