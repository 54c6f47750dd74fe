"""Where a GoRL arm gains or loses against its baseline around a refit, in training returns.

A GoRL run and its baseline's run of the same seed agree until the first refit (stage 0 is the
baseline). Their training returns (the stochastic policy's finished episodes, averaged per iteration;
far more episodes than the 8-episode evaluations) split the difference at the end of stage ``--stage``
(K, default 1) in three:

* ``jump``: GoRL minus baseline over the ``--window`` iterations right after refit K, less the same gap
  over the window right before it (what refit K and the encoder's reset did to the policy; for K = 1
  the gap before is 0, both runs being the same run until then);
* ``learning``: GoRL's change from the window after the refit to the last window of stage K, minus the
  baseline's change over the same env steps (what stage K's learning added or lost);
* ``end``: GoRL minus baseline over the last window of stage K (= the gap before + jump + learning).

``start`` (the gap right after the refit, = the gap before + jump) is printed too. The first training
return after each refit is left out (``gorl.report.load.training_returns``: misreported until
2026-12-07).

    python benchmarks/stage_gap.py benchmarks/results/gorl_paired --arms gorl-fm gorl-diff \\
        --out benchmarks/results/gorl_paired/stage_gap.md

Runs are read from ``DIR/runs/<task>/<arm>/s<seed>/metrics.jsonl``; a seed missing either run is skipped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from gorl.checkpoint import atomic_write_text
from gorl.report.load import load_records, training_returns


def _window(returns: list[tuple[int, float]], lo: int, hi: int) -> float:
    """Mean training return reported with ``lo < env_steps <= hi`` (nan without any)."""
    values = [value for steps, value in returns if lo < steps <= hi]
    return statistics.mean(values) if values else float("nan")


def stage_gap(gorl: Path, base: Path, window: int, stage: int = 1) -> dict[str, float] | None:
    """The figures of stage ``stage`` for one GoRL run and its baseline run (None when the GoRL run has
    fewer than ``stage`` refits)."""
    recs = load_records(gorl)
    its = [r for r in recs if r["kind"] == "iteration"]
    refits = sorted(int(r["env_steps"]) for r in recs if r["kind"] == "refit")
    if len(refits) < stage or not its:
        return None
    start = refits[stage - 1]
    end = refits[stage] if len(refits) > stage else int(its[-1]["env_steps"])
    per_iter = its[1]["env_steps"] - its[0]["env_steps"] if len(its) > 1 else its[0]["env_steps"]
    span = window * per_iter
    ours, theirs = training_returns(recs), training_returns(load_records(base))
    before = 0.0 if stage == 1 else _window(ours, start - span, start) - _window(theirs, start - span, start)
    g0, g1 = _window(ours, start, start + span), _window(ours, end - span, end)
    b0, b1 = _window(theirs, start, start + span), _window(theirs, end - span, end)
    return {
        "before": before,
        "jump": (g0 - b0) - before,
        "start": g0 - b0,
        "learning": (g1 - g0) - (b1 - b0),
        "end": g1 - b1,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="a suite's results directory")
    ap.add_argument("--arms", nargs="+", required=True, help="GoRL arms (labels in DIR/runs/<task>/)")
    ap.add_argument("--baseline", default="ppo")
    ap.add_argument("--window", type=int, default=8, help="iterations per window")
    ap.add_argument("--stage", type=int, default=1, help="the stage K measured: from refit K to the next")
    ap.add_argument("--out", type=Path, default=None, help="Markdown file (default: print only)")
    args = ap.parse_args(argv)
    if args.stage < 1:
        ap.error(f"--stage must be 1 or more (stage 0 is the baseline itself), got {args.stage}")
    command = " ".join(["python benchmarks/stage_gap.py", *(sys.argv[1:] if argv is None else argv)])
    tasks = sorted(p.name for p in (args.dir / "runs").iterdir() if p.is_dir())
    k = args.stage
    names = ("before", "jump", "start", "learning", "end")
    lines = [
        f"# Stage {k} against the baseline, in training returns",
        "",
        f"`{command}`. Per task: means over seeds (per seed in brackets) of GoRL minus `{args.baseline}` in "
        f"training return: `before` over the {args.window} iterations before refit {k}, `jump` the gap's "
        f"change from that window to the {args.window} iterations after it, `start` the gap after it, "
        f"`learning` the change over stage {k} beyond the baseline's, `end` over the last window of stage "
        f"{k} (= before + jump + learning).",
        "",
        "| arm | task | seeds | before | jump | start | learning (per seed) | end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for arm in args.arms:
        pooled: dict[str, list[float]] = {name: [] for name in names}
        for task in tasks:
            found = []
            for run in sorted((args.dir / "runs" / task / arm).glob("s*")):
                base = args.dir / "runs" / task / args.baseline / run.name
                if (run / "summary.json").exists() and (base / "summary.json").exists():
                    gap = stage_gap(run, base, args.window, k)
                    if gap is not None:
                        found.append(gap)
            if not found:
                continue
            for name in names:
                pooled[name] += [g[name] for g in found]
            mean = {name: statistics.mean(g[name] for g in found) for name in names}
            seeds = ", ".join(f"{g['learning']:+.0f}" for g in found)
            lines.append(
                f"| {arm} | {task} | {len(found)} | {mean['before']:+.1f} | {mean['jump']:+.1f} "
                f"| {mean['start']:+.1f} | {mean['learning']:+.1f} ({seeds}) | {mean['end']:+.1f} |"
            )
        if pooled["start"]:
            m = {name: statistics.mean(v) for name, v in pooled.items()}
            lines.append(
                f"| **{arm}** | all ({len(pooled['start'])} runs) | | **{m['before']:+.1f}** "
                f"| **{m['jump']:+.1f}** | **{m['start']:+.1f}** | **{m['learning']:+.1f}** "
                f"| **{m['end']:+.1f}** |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
