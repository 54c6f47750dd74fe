"""``gorl plot actions RUN [RUN ...] --out FILE``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gorl.checkpoint import CheckpointError
from gorl.plot_actions.figure import action_density_figure
from gorl.plot_actions.sample import check_run_dir


def run_labels(trains: Sequence[dict[str, Any]], dirs: Sequence[Path]) -> list[str]:
    """Method names, with ``(seed s)`` where a method repeats and the directory name where that repeats
    too."""
    methods = [str(t.get("method")) for t in trains]
    labels = [
        f"{m} (seed {t.get('seed')})" if methods.count(m) > 1 else m
        for m, t in zip(methods, trains, strict=True)
    ]
    return [
        f"{lab} [{d.name}]" if labels.count(lab) > 1 else lab for lab, d in zip(labels, dirs, strict=True)
    ]


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``gorl plot actions``."""
    ap = argparse.ArgumentParser(
        prog="gorl plot actions",
        description="Figure 7: the 1-D PCA density of each run's actions at one fixed state.",
    )
    ap.add_argument("runs", nargs="+", metavar="RUN", help="run directories (config.json, checkpoint.pt)")
    ap.add_argument(
        "--out",
        help="the PNG (default: actions.png in the first run's directory); the "
        "mode counts go beside it as .json",
    )
    ap.add_argument("--samples", type=int, default=10_000, help="actions per run (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the action draws (default 0)")
    ap.add_argument(
        "--warmup-steps",
        dest="warmup_steps",
        type=int,
        default=200,
        help="the state: this many deterministic steps of the first run's policy (default 200)",
    )
    ap.add_argument("--bandwidth", type=float, default=0.8, help="KDE factor of Scott's rule (default 0.8)")
    return ap


def main_plot_actions(argv: list[str]) -> int:
    """``gorl plot actions RUN [RUN ...] [--out FILE] [--samples N] [--seed S] [--warmup-steps K]``.

    Prints the PNG's path and each run's mode count; returns 0, or 1 with the reason on stderr.
    """
    args = parser().parse_args(argv)
    try:
        if args.samples < 2:
            raise ValueError(f"--samples must be at least 2, got {args.samples}")
        dirs = [Path(r) for r in args.runs]
        trains = [check_run_dir(d) for d in dirs]
        tasks = sorted({str(t["task"]) for t in trains})
        if len(tasks) > 1:
            listing = ", ".join(f"{d}: {t['task']}" for d, t in zip(dirs, trains, strict=True))
            raise ValueError(f"the runs are on different tasks ({listing}); one figure needs one task")
        labels = run_labels(trains, dirs)
        out = Path(args.out) if args.out else dirs[0] / "actions.png"
        action_density_figure(
            dict(zip(labels, dirs, strict=True)),
            out,
            n=args.samples,
            bandwidth=args.bandwidth,
            seed=args.seed,
            warmup_steps=args.warmup_steps,
        )
    except (FileNotFoundError, CheckpointError, ValueError, ImportError) as e:
        print(f"gorl: {e}", file=sys.stderr)
        return 1
    numbers = json.loads(out.with_suffix(".json").read_text())
    print(f"wrote {out} and {out.with_suffix('.json')}")
    for label in labels:
        print(f"  {label}: {numbers['runs'][label]['modes'][0]} mode(s)")
    return 0
