"""Does GoRL's stage 1 keep learning? Stage-1 variants started from the baseline's own checkpoint.

GoRL's stage 0 is the ``ppo`` run, so a ``ppo`` run's checkpoint at the first stage end *is* GoRL's state
before its first refit (policy, critic, Adam, normaliser, env and RNG states). This script loads such a
checkpoint read-only, makes GoRL's first refit with each variant's schedule (the method's cpu schedule
with the variant's overrides), trains stage 1 for ``--stage-steps`` env steps and evaluates on the run's
own evaluation episodes every ``--eval-every`` steps. The variant ``ppo`` continues the checkpoint
without a refit: the baseline over the same steps. Nothing in the run directory is written.

    python benchmarks/stage_learning.py RUN_DIR --variants ppo fresh keep_features fresh-pen0 \\
        --stage-steps 100352 --out benchmarks/results/stage_learning_cheetah.md

Prints a table (evaluation returns by env step, and their mean) and writes it as rows arrive.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from gorl.checkpoint import atomic_write_text
from gorl.train import Trainer
from gorl.train_config import TrainConfig, resolve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import refit_loaded

# schedule overrides on top of the method's cpu schedule, per variant
VARIANTS: dict[str, dict[str, Any]] = {
    "ppo": {},
    "fresh": {"encoder_reset": "fresh"},
    "keep_features": {"encoder_reset": "keep_features"},
    "fresh-pen0": {"encoder_reset": "fresh", "stage_overrides": [{}, {"penalty_coef": 0.0}]},
    "keep_features-pen0": {"encoder_reset": "keep_features", "stage_overrides": [{}, {"penalty_coef": 0.0}]},
    "no-reset": {"reset_encoder": [False]},
    # the encoder's learning rate after the refit (the critic keeps the preset's 3e-4)
    "fresh-lr1e-3": {"stage_overrides": [{}, {"penalty_coef": 1e-3, "lr": 1e-3, "critic_lr": 3e-4}]},
    "keep_features-lr1e-3": {
        "encoder_reset": "keep_features",
        "stage_overrides": [{}, {"penalty_coef": 1e-3, "lr": 1e-3, "critic_lr": 3e-4}],
    },
}


def run_variant(run: Path, method: str, variant: str, stage_steps: int, eval_every: int) -> dict[str, Any]:
    """Stage 1 of ``variant`` from the checkpoint in ``run``: evaluation returns by env step and the refit
    record (None for ``ppo``)."""
    trainer = Trainer.load(run, progress=False, threads=1)
    start = trainer.env_steps
    record = None
    if variant != "ppo":
        plan = resolve(TrainConfig(method=method, schedule={"fidelity_episodes": 0, **VARIANTS[variant]}))
        seed = trainer.config.seed
        record = refit_loaded(
            trainer, plan.schedule, stage=1, total_steps=3 * start, seed=seed, episodes=False
        )
    returns: dict[int, float] = {}
    next_eval = start + eval_every
    while trainer.env_steps < start + stage_steps:
        trainer.learner.iterate()
        if trainer.env_steps >= next_eval:
            returns[trainer.env_steps] = trainer.eval_returns().mean().item()
            next_eval += eval_every
    return {"returns": returns, "refit": record}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "run", type=Path, help="a ppo run directory whose checkpoint is at GoRL's first stage end"
    )
    ap.add_argument("--method", default="gorl-fm")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--stage-steps", type=int, default=100_352)
    ap.add_argument("--eval-every", type=int, default=25_088)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/stage_learning.md"))
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/stage_learning.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    head = [
        f"# Stage 1 of {args.method}, from the baseline's checkpoint `{args.run}`",
        "",
        f"`{command}`; load average at start {os.getloadavg()[0]:.1f} (2 cores). Deterministic evaluation "
        "returns on the run's own evaluation episodes; mean: over the stage's evaluations.",
        "",
    ]
    rows: list[str] = []
    for variant in args.variants:
        t0 = time.perf_counter()
        out = run_variant(args.run, args.method, variant, args.stage_steps, args.eval_every)
        returns = out["returns"]
        if not rows:
            steps = list(returns)
            rows += ["| variant | " + " | ".join(f"{s:,}" for s in steps) + " | mean | refit det err |"]
            rows += ["|---" * (len(steps) + 3) + "|"]
        rec = out["refit"] or {}
        mean = sum(returns.values()) / max(len(returns), 1)
        det = rec.get("fidelity_det_error")
        rows.append(
            f"| {variant} | "
            + " | ".join(f"{v:.1f}" for v in returns.values())
            + f" | {mean:.1f} | {'' if det is None else f'{det:.3f}'} |"
        )
        print(rows[-1], f"({time.perf_counter() - t0:.0f} s)", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, "\n".join(head + rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
