"""Two arms of one suite, paired by (task, seed): e.g. a candidate default against the current one.

Uses the report's own pairing (``gorl.report.paired``: ``after`` is the mean difference over the
evaluations after the first arm's first refit, ``final`` the difference of final returns; aggregates are
IQMs of the differences / 1000 with a 95% stratified-bootstrap interval). ``--pairs`` keeps only the
named ``task/sseed`` pairs, to recompute a figure from part of the suite; ``--after N`` pairs only the
evaluations after N env steps (arms branched from the same runs at N, ``benchmarks/branch_run.py``).

    python benchmarks/paired_arms.py benchmarks/results/gorl_paired gorl-diff gorl-diff-sample
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gorl.report.load import load_suite
from gorl.report.paired import paired_runs, summarise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="a suite's results directory")
    ap.add_argument("arm", help="the arm whose gain is measured (a method label)")
    ap.add_argument("other", help="the arm it is paired with")
    ap.add_argument("--pairs", nargs="+", default=None, help="only these task/sSEED pairs")
    ap.add_argument(
        "--after",
        type=int,
        default=None,
        metavar="STEPS",
        help="'after' averages the evaluations after STEPS env steps (default: after ARM's first refit); "
        "for arms that share their runs up to a later refit",
    )
    args = ap.parse_args(argv)
    pairs = paired_runs(load_suite(args.dir), args.arm, args.other, since=args.after)
    if args.pairs is not None:
        pairs = [p for p in pairs if f"{p.task}/s{p.seed}" in args.pairs]
    print(f"{args.arm} - {args.other}, {len(pairs)} pairs")
    print("| task | n | after (mean) | final (mean) |\n|---|---|---|---|")
    for task in dict.fromkeys(p.task for p in pairs):
        rows = [p for p in pairs if p.task == task]
        after = [p.after for p in rows if p.after is not None]
        print(f"| {task} | {len(rows)} | {np.mean(after):+.1f} | {np.mean([p.final for p in rows]):+.1f} |")
    for key in ("after", "final"):
        s = summarise(pairs, key)
        values = [getattr(p, key) for p in pairs if getattr(p, key) is not None]
        if s is not None:
            wins = sum(v > 0 for v in values)
            print(
                f"IQM ({key}): {s.iqm:+.4f} [{s.ci_low:+.4f}, {s.ci_high:+.4f}] (return / 1000); mean "
                f"{np.mean(values):+.1f}; ahead on {wins} of {len(values)}; worst task {s.worst_task} "
                f"{s.worst_mean:+.1f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
