"""Where a GoRL arm gains or loses against its baseline around the first refit, in training returns.

A GoRL run and its baseline's run of the same seed agree until the first refit (stage 0 is the
baseline). Their training returns (the stochastic policy's finished episodes, averaged per iteration;
far more episodes than the 8-episode evaluations) split the difference at the end of stage 1 in two:

* ``start``: GoRL minus baseline over the ``--window`` iterations right after the refit (what the refit
  and the reset did to the policy);
* ``learning``: GoRL's change from that window to the last ``--window`` iterations of stage 1, minus the
  baseline's change over the same env steps (what stage 1's learning added or lost);
* ``end``: GoRL minus baseline over the last window of stage 1 (= start + learning).

    python benchmarks/stage_gap.py benchmarks/results/gorl_paired --arms gorl-fm gorl-diff \\
        --out benchmarks/results/gorl_paired/stage_gap.md

Runs are read from ``DIR/runs/<task>/<arm>/s<seed>/metrics.jsonl``; a seed missing either run is skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from gorl.checkpoint import atomic_write_text


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _window(its: list[dict[str, Any]], lo: int, hi: int) -> float:
    """Mean training return of the iterations with ``lo < env_steps <= hi`` (nan without any)."""
    values = [
        r["train_return"] for r in its if lo < r["env_steps"] <= hi and r.get("train_return") is not None
    ]
    return statistics.mean(values) if values else float("nan")


def stage_gap(gorl: Path, base: Path, window: int) -> dict[str, float] | None:
    """The three figures for one GoRL run and its baseline run (None when the GoRL run has no refit)."""
    recs = _records(gorl / "metrics.jsonl")
    its = [r for r in recs if r["kind"] == "iteration"]
    refits = [r for r in recs if r["kind"] == "refit"]
    if not refits or not its:
        return None
    start = int(refits[0]["env_steps"])
    later = [int(r["env_steps"]) for r in refits[1:]]
    end = later[0] if later else int(its[-1]["env_steps"])
    per_iter = its[1]["env_steps"] - its[0]["env_steps"] if len(its) > 1 else its[0]["env_steps"]
    span = window * per_iter
    base_its = [r for r in _records(base / "metrics.jsonl") if r["kind"] == "iteration"]
    g0, g1 = _window(its, start, start + span), _window(its, end - span, end)
    b0, b1 = _window(base_its, start, start + span), _window(base_its, end - span, end)
    return {"start": g0 - b0, "learning": (g1 - g0) - (b1 - b0), "end": g1 - b1}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="a suite's results directory")
    ap.add_argument("--arms", nargs="+", required=True, help="GoRL arms (labels in DIR/runs/<task>/)")
    ap.add_argument("--baseline", default="ppo")
    ap.add_argument("--window", type=int, default=8, help="iterations per window")
    ap.add_argument("--out", type=Path, default=None, help="Markdown file (default: print only)")
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/stage_gap.py", *(sys.argv[1:] if argv is None else argv)])
    tasks = sorted(p.name for p in (args.dir / "runs").iterdir() if p.is_dir())
    lines = [
        "# Stage 1 against the baseline, in training returns",
        "",
        f"`{command}`. Per task: means over seeds (per seed in brackets) of GoRL minus `{args.baseline}` in "
        f"training return: `start` over the {args.window} iterations after the first refit, `learning` the "
        "change over stage 1 beyond the baseline's, `end` over the last window of stage 1.",
        "",
        "| arm | task | seeds | start | learning (per seed) | end |",
        "|---|---|---|---|---|---|",
    ]
    for arm in args.arms:
        pooled: dict[str, list[float]] = {"start": [], "learning": [], "end": []}
        for task in tasks:
            found = []
            for run in sorted((args.dir / "runs" / task / arm).glob("s*")):
                base = args.dir / "runs" / task / args.baseline / run.name
                if (run / "summary.json").exists() and (base / "summary.json").exists():
                    gap = stage_gap(run, base, args.window)
                    if gap is not None:
                        found.append(gap)
            if not found:
                continue
            for k in pooled:
                pooled[k] += [g[k] for g in found]
            mean = {k: statistics.mean(g[k] for g in found) for k in pooled}
            seeds = ", ".join(f"{g['learning']:+.0f}" for g in found)
            lines.append(
                f"| {arm} | {task} | {len(found)} | {mean['start']:+.1f} | {mean['learning']:+.1f} ({seeds}) "
                f"| {mean['end']:+.1f} |"
            )
        if pooled["start"]:
            m = {k: statistics.mean(v) for k, v in pooled.items()}
            lines.append(
                f"| **{arm}** | all ({len(pooled['start'])} runs) | | **{m['start']:+.1f}** "
                f"| **{m['learning']:+.1f}** | **{m['end']:+.1f}** |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
