"""How much of a policy a decoder refit keeps, as a function of the fit's budget.

Loads a GoRL run read-only at its checkpoint (nothing in the run directory is written), and for each
variant (pairs x fit steps x fit seed) reloads it, collects the refit's on-policy pairs from the stage's
best-evaluated encoder exactly as the Trainer does, fits a fresh decoder, resets the encoder to the prior
and evaluates the refitted policy on the run's fixed evaluation episodes. The data policy itself (the
same encoder with the current decoder) is evaluated first: what a perfect refit would keep.

    python benchmarks/refit_budget.py RUN_DIR --steps 500 2000 8000 --pairs 16384 --fit-seeds 0 1

Prints a table and writes it to ``--out`` (Markdown) as rows arrive.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gorl.checkpoint import atomic_write_text
from gorl.train import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import refit_loaded


def _load(run: Path, threads: int, decoder: str | None) -> Trainer:
    """The run at its checkpoint, read-only, with the stage's best encoder; ``decoder`` names the decoder
    to fit for a run whose schedule has none (a one-stage run standing in for a GoRL stage 0)."""
    changes: dict[str, Any] = {"progress": False, "threads": threads}
    if decoder is not None:
        schedule = json.loads((run / "config.json").read_text())["schedule"]
        changes["schedule"] = {**schedule, "decoder": decoder}
    trainer = Trainer.load(run, **changes)
    if trainer.schedule.decoder is None:
        raise SystemExit(f"{run} is a run without refits (schedule.decoder is None): give --decoder")
    best = trainer.timescale.best_encoder
    if trainer.schedule.data_from_best and best is not None:
        trainer.policy.encoder.load_state_dict(best)
    return trainer


def _one(
    run: Path, threads: int, decoder: str | None, pairs: int, steps: int, lr: float, fit_seed: int
) -> tuple[dict[str, Any], float]:
    """One refit of the checkpoint's policy with ``pairs`` pairs, ``steps`` fit steps at learning rate
    ``lr``: (record, return of the refitted policy)."""
    trainer = _load(run, threads, decoder)
    fit = trainer.schedule.fit.model_copy(update={"steps": steps, "lr": lr})
    sched = trainer.schedule.model_copy(update={"decoder_pairs": pairs, "fit": fit})
    stage, total = trainer.timescale.stage + 1, trainer.config.total_steps
    rec = refit_loaded(trainer, sched, stage=stage, total_steps=total, seed=fit_seed, episodes=False)
    # trainer.policy is the refitted one: evaluated the way the Trainer evaluates after a refit
    return rec, trainer.eval_returns().mean().item()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="a GoRL run directory with a checkpoint")
    ap.add_argument("--steps", type=int, nargs="+", default=[500, 2000, 8000], help="fit gradient steps")
    ap.add_argument("--pairs", type=int, nargs="+", default=[16384], help="decoder_pairs per refit")
    ap.add_argument(
        "--lr", type=float, nargs="+", default=None, help="fit learning rates (default: the run's)"
    )
    ap.add_argument("--fit-seeds", type=int, nargs="+", default=[0, 1], help="seeds of the fit")
    ap.add_argument("--decoder", default=None, help="decoder to fit when the run's schedule has none")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="Markdown table (default: a temp file)")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp()) / "refit_budget.md"
    out.parent.mkdir(parents=True, exist_ok=True)

    probe = _load(args.run, args.threads, args.decoder)
    stage = probe.timescale.stage
    data_return = probe.eval_returns().mean().item()
    fit_lr = probe.schedule.fit.lr
    head = [
        f"# Refit budget: {probe.config.method} on {probe.config.task}, seed {probe.config.seed}",
        "",
        f"Run `{args.run}` at {probe.env_steps:,} env steps (stage {stage}); decoder "
        f"`{probe.schedule.decoder}`, fit batch {probe.schedule.fit.batch_size}; "
        f"{probe.config.eval_envs} deterministic evaluation episodes. The data policy (the stage's best "
        f"encoder with its current decoder) returns **{data_return:.1f}**.",
        "",
        "| pairs | fit steps | fit lr | fit seed | best step | val loss | fit s | after refit | kept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(head), flush=True)
    rows: list[str] = []
    del probe
    lrs = args.lr or [fit_lr]
    for pairs, steps, lr, fit_seed in itertools.product(args.pairs, args.steps, lrs, args.fit_seeds):
        t0 = time.perf_counter()
        rec, after = _one(args.run, args.threads, args.decoder, pairs, steps, lr, fit_seed)
        row = (
            f"| {pairs:,} | {steps:,} | {lr:g} | {fit_seed} | {rec['fit_best_step']} "
            f"| {rec['fit_best_val_loss']:.3f} | {rec['fit_wall_time']:.0f} | {after:.1f} "
            f"| {after / max(data_return, 1e-9):.2f} |"
        )
        rows.append(row)
        print(row, f"({time.perf_counter() - t0:.0f} s with collection)", flush=True)
        atomic_write_text(out, "\n".join(head + rows) + "\n")
    print(f"table: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
