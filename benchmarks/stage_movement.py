"""How far PPO moves the policy per iteration in a stage, from runs' metrics: GoRL against ppo.

For each run directory given (``LABEL=RUN_DIR``), the mean over the iterations with env steps in
``(--start, --end]`` of the PPO engine's clip fraction, approximate KL and latent entropy
(``metrics.jsonl``'s iteration records). With GoRL's first refit at ``--start``, this compares stage 1's
policy movement with the baseline's over the same env steps.

    python benchmarks/stage_movement.py --start 100352 --end 200704 \\
        ppo=benchmarks/results/gorl_paired_dev/runs/cheetah-run/ppo/s0 \\
        fm-kept=benchmarks/results/gorl_paired_dev/runs/cheetah-run/gorl-fm/s0 \\
        fm-fresh=benchmarks/results/gorl_paired_dev_fresh/runs/cheetah-run/gorl-fm/s0

Prints a Markdown table (and writes it to ``--out`` when given).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from gorl.checkpoint import atomic_write_text
from gorl.report.load import load_records

FIELDS = ("clip_fraction", "kl_approx", "entropy")


def movement(run: Path, start: int, end: int) -> tuple[int, dict[str, float]]:
    """(iterations, mean of each of ``FIELDS``) over the run's iterations in ``(start, end]``."""
    its = [
        r for r in load_records(run) if r.get("kind") == "iteration" and start < int(r["env_steps"]) <= end
    ]
    return len(its), {k: float(np.mean([r[k] for r in its])) if its else float("nan") for k in FIELDS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    ap.add_argument("--start", type=int, required=True, help="env steps after which iterations count")
    ap.add_argument("--end", type=int, required=True, help="last env step counted")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/stage_movement.py", *(sys.argv[1:] if argv is None else argv)])
    rows = [
        f"`{command}`",
        "",
        "| run | iterations | clip fraction | approx KL | entropy |",
        "|---|---|---|---|---|",
    ]
    for item in args.runs:
        label, _, path = item.partition("=")
        n, m = movement(Path(path), args.start, args.end)
        rows.append(
            f"| {label} | {n} | {m['clip_fraction']:.3f} | {m['kl_approx']:.4f} | {m['entropy']:.2f} |"
        )
    text = "\n".join(rows) + "\n"
    print(text, end="")
    if args.out is not None:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
