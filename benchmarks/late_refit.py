"""How faithful a late refit is, per fit setting: refits of GoRL runs' last policies.

A GoRL run's final checkpoint is at the end of its last stage: its policy (the stage's encoder through the
decoder of the refit before it) is the kind of data policy a late refit sees, narrower than stage 0's and
itself a fitted decoder's image. For every run directory and fit variant this script loads the checkpoint
read-only, makes one more refit with the run's own schedule and the variant's fit settings, and measures
its fidelity on held-out states (``gorl.twotimescale.fidelity``, in units of the data policy's spread).

    python benchmarks/late_refit.py benchmarks/results/gorl_paired/runs/*/gorl-*/s0 \\
        --fits 1000:1e-3:constant 1000:1e-3:cosine 3000:1e-3:cosine --out benchmarks/results/late_refit.md

A fit variant is ``steps:lr:schedule``, optionally followed by options that replace the run's,
``:key=value,key=value``: a ``ScheduleConfig`` field (``pairing=coupled,actions_per_state=4``) or else a
decoder option (``2000:1e-3:constant:prediction=velocity``). ``--episodes N`` also runs the data and the
refitted policy on the same N fresh episodes (deterministic returns). Prints a table and writes it to
``--out`` as rows arrive.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from gorl.train import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import emit, fit_variant, refit_loaded


def late_refit(run: Path, fit: str, episodes: int = 0, kept: int | None = None) -> dict[str, float]:
    """One refit of ``run``'s last policy with fit ``steps:lr:schedule[:key=value,...]`` (schedule fields
    or decoder options), with ``episodes`` fresh episodes for the returns (0: none); the refit's record.
    ``kept``: the policy of the run's checkpoint kept at that many env steps, and the refit the run made
    there (its next stage within its own budget) instead of one after its end."""
    trainer = Trainer.load(run, kept, progress=False, threads=1)
    sched = fit_variant(trainer.schedule.model_dump(), fit, episodes)
    stage = trainer.timescale.stage + 1
    total = (1 if kept is not None else 2) * trainer.config.total_steps
    return refit_loaded(
        trainer, sched, stage=stage, total_steps=total, seed=trainer.config.seed, episodes=episodes > 0
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="GoRL run directories with a final checkpoint")
    ap.add_argument("--fits", nargs="+", default=["1000:1e-3:constant", "1000:1e-3:cosine"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/late_refit.md"))
    ap.add_argument("--episodes", type=int, default=0, help="fresh episodes for both policies' returns")
    ap.add_argument(
        "--kept", type=int, default=None, help="refit the runs' checkpoints kept at this many env steps"
    )
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/late_refit.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    head = [
        "# Late refits: fidelity by fit setting",
        "",
        f"`{command}`; load average at start {os.getloadavg()[0]:.1f} (2 cores). One refit of each run's "
        "last policy (or the one kept at --kept) with the run's own schedule and the fit below; fidelity "
        "on 64 held-out refit states x 256 actions in units of the data policy's spread (targets: mean and "
        "deterministic error <= 0.2, spread in [0.9, 1.1]).",
        "",
        "| run | fit (steps:lr:schedule) | mean err | spread | det err | energy | best val loss | fit s "
        "| data return | refit return | kept |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for run in args.runs:
        for fit in args.fits:
            t0 = time.perf_counter()
            r = late_refit(run, fit, args.episodes, args.kept)
            nan = float("nan")
            row = (
                f"| {run} | {fit} | {r['fidelity_mean_error']:.3f} | {r['fidelity_spread_ratio']:.2f} "
                f"| {r['fidelity_det_error']:.3f} | {r['fidelity_energy_distance']:.3f} "
                f"| {r['fit_best_val_loss']:.4f} | {r['fit_wall_time']:.0f} "
                f"| {r.get('return_data_det', nan):.1f} | {r.get('return_refit_det', nan):.1f} "
                f"| {r.get('return_kept_det', nan):.2f} |"
            )
            emit(args.out, head, rows, row, f"({time.perf_counter() - t0:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
