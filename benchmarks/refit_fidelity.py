"""How faithfully a decoder refit reproduces the policy its data came from, per refit setting.

For each task, trains (or reuses) a Gaussian ``ppo`` run to ``--steps`` env steps: GoRL's stage 0 is that
run, setting for setting, so its policy is what GoRL's first refit sees. Then, for each variant (decoder x
pairing x actions per state x fit steps x lr), it fits a fresh decoder on refit data drawn from that
policy exactly as ``gorl.twotimescale.TwoTimescale`` does, pairs it with the prior encoder, and measures on
held-out states (``gorl.twotimescale.fidelity``: mean error, spread ratio and deterministic-action error
in units of the data policy's spread, energy distance) and on the same ``--episodes`` fresh episodes the
deterministic return of both policies. Nothing in the run directory is written.

    python benchmarks/refit_fidelity.py --tasks cheetah-run walker-walk --steps 100352 \\
        --decoders flow diffusion --pairing independent coupled --actions-per-state 1 4 \\
        --fit-steps 500 2000 --lr 3e-4 1e-3 --out benchmarks/results/refit_fidelity.md

Prints a table and writes it to ``--out`` (Markdown) as rows arrive.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gorl.checkpoint import atomic_write_text
from gorl.train import Trainer
from gorl.train_config import TrainConfig
from gorl.twotimescale import FitConfig, ScheduleConfig, TwoTimescale


def base_run(task: str, steps: int, seed: int, root: Path, threads: int) -> Path:
    """A finished ``ppo`` run of ``task`` at ``steps`` env steps in ``root`` (trained once, then reused)."""
    out = root / f"{task}-ppo-s{seed}-{steps}"
    if not (out / "summary.json").exists():
        cfg = TrainConfig(
            task=task, method="ppo", total_steps=steps, seed=seed, progress=False, plot=False, threads=threads
        )
        Trainer(cfg, out).run()
    return out


def refit_loaded(
    trainer: Trainer, schedule: ScheduleConfig, *, stage: int, total_steps: int, seed: int, episodes: bool
) -> dict[str, Any]:
    """Makes the refit before ``stage`` of a run loaded with ``Trainer.load``, with ``schedule`` (its
    decoder options included) in place of the run's: the Trainer's own decoder factory on the run's
    device, the refitted policy left in ``trainer.policy`` and the learner bound to it. ``episodes``: also
    run both policies on the refit's fresh episodes. Returns the refit's record.

    The loaded run's stage bookkeeping carries over: its stage's best-evaluated encoder (the refit's data
    policy under ``data_from_best``) and the last refit's observation moments, so that a refit the run
    made itself, repeated with the run's own schedule, is that refit."""
    trainer.schedule = schedule  # the fresh decoder is built with this schedule's options
    ts = TwoTimescale(schedule, total_steps, lambda: trainer.make_decoder(schedule.decoder), seed)
    ts.load_state_dict(trainer.timescale.state_dict())
    ts.stage, ts.phase = stage, "refit"
    trainer.timescale = ts
    trainer.policy, record = ts.refit(
        trainer.learner, trainer.policy, episodes=trainer.fresh_returns if episodes else None
    )
    assert record is not None, "the schedule names no decoder to fit"
    return record


def parse_decoder(spec: str) -> tuple[str, dict[str, Any]]:
    """``"diffusion:prediction=sample"`` -> ``("diffusion", {"prediction": "sample"})`` (ints and floats
    are parsed as such, and ``256x256`` as the list ``[256, 256]``: ``hidden=256x256x256``)."""
    name, _, rest = spec.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if "x" in value and all(part.isdigit() for part in value.split("x")):
            options[key] = [int(part) for part in value.split("x")]
            continue
        for kind in (int, float):
            try:
                options[key] = kind(value)
                break
            except ValueError:
                continue
        else:
            options[key] = value
    return name, options


def fit_variant(base: dict[str, Any], fit: str, episodes: int = 0) -> ScheduleConfig:
    """``base`` (``ScheduleConfig`` fields) with the fit variant ``steps:lr:schedule[:key=value,...]``: the
    fit's steps, lr and lr schedule, then schedule fields or decoder options (``parse_decoder``'s values),
    and ``episodes`` fresh episodes for the returns."""
    steps, lr, lr_schedule, *rest = fit.split(":", 3)
    _, options = parse_decoder(":" + rest[0]) if rest else ("", {})
    fields = {k: v for k, v in options.items() if k in ScheduleConfig.model_fields}
    base = ScheduleConfig.model_validate(base).model_dump()
    decoder_options = {k: v for k, v in options.items() if k not in fields}
    fit_fields = {"steps": int(steps), "lr": float(lr), "lr_schedule": lr_schedule, "progress": False}
    return ScheduleConfig.model_validate(
        base
        | fields
        | {
            "decoder_options": {**base["decoder_options"], **decoder_options},
            "fit": base["fit"] | fit_fields,
            "fidelity_episodes": episodes,
        }
    )


def emit(out: Path, head: list[str], rows: list[str], row: str, note: str = "") -> None:
    """Appends ``row`` to ``rows``, prints it (with ``note``) and rewrites the table ``out`` atomically."""
    rows.append(row)
    print(row, note, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, "\n".join(head + rows) + "\n")


def raw_states(trainer: Trainer, n: int) -> Tensor:
    """``n`` raw observations that a loaded run's policy visits from its checkpointed env state (a fixed
    seed), ``(n, obs_dim)``; the steps are not counted and the normaliser is left alone."""
    rollout = trainer.learner.rollout  # type: ignore[attr-defined]
    torch.manual_seed(0)
    raw = rollout.collect(trainer.policy, -(-n // rollout.env.num_envs), where="states", count=False)["obs"]
    return raw.reshape(-1, raw.shape[-1])[:n].cpu()


def variant(
    run: Path,
    threads: int,
    decoder: str,
    pairing: str,
    k: int,
    steps: int,
    lr: float,
    batch: int,
    pairs: int,
    fidelity_states: int,
    episodes: int,
    seed: int,
) -> dict[str, Any]:
    """One refit of the run's final policy with these settings; its record (fidelity and returns)."""
    trainer = Trainer.load(run, progress=False, threads=threads)
    decoder, options = parse_decoder(decoder)
    sched = ScheduleConfig(
        decoder=decoder,
        decoder_options=options,
        decoder_pairs=pairs,
        pairing=pairing,  # type: ignore[arg-type]
        actions_per_state=k,
        fit=FitConfig(steps=steps, lr=lr, batch_size=batch, progress=False),
        fidelity_states=fidelity_states,
        fidelity_episodes=episodes,
        data_from_best=False,  # the run's last policy: a one-stage run has no stage to pick from
    )
    torch.manual_seed(seed)
    total = trainer.config.total_steps * 2
    return refit_loaded(trainer, sched, stage=1, total_steps=total, seed=seed, episodes=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=["cheetah-run", "walker-walk"])
    ap.add_argument("--steps", type=int, default=100_352, help="env steps of the ppo run (the data policy)")
    ap.add_argument("--run-seed", type=int, default=0)
    ap.add_argument(
        "--decoders",
        nargs="+",
        default=["flow", "diffusion"],
        help="decoder names, each optionally with options: diffusion:prediction=sample",
    )
    ap.add_argument("--pairing", nargs="+", default=["independent", "coupled"])
    ap.add_argument("--actions-per-state", type=int, nargs="+", default=[1])
    ap.add_argument("--fit-steps", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--lr", type=float, nargs="+", default=[3e-4])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--pairs", type=int, default=16_384)
    ap.add_argument("--fidelity-states", type=int, default=64)
    ap.add_argument("--episodes", type=int, default=16, help="fresh episodes for both policies' returns")
    ap.add_argument("--fit-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--root", type=Path, default=Path("runs/refit_fidelity"), help="where the ppo runs go")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/refit_fidelity.md"))
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/refit_fidelity.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(args.threads)
    head = [
        "# Refit fidelity",
        "",
        f"Data policy: `ppo` (GoRL's stage 0) after {args.steps:,} env steps, seed {args.run_seed}. Refit: "
        f"{args.pairs:,} pairs, fit batch {args.batch}; fidelity on {args.fidelity_states} held-out refit "
        f"states x 256 actions, in units of the data policy's spread; returns: deterministic, the same "
        f"{args.episodes} fresh full episodes for both policies. `{command}`"
        f"; load average at start {os.getloadavg()[0]:.1f} (2 cores).",
        "",
        "| task | decoder | pairing | actions/state | fit steps | lr | seed | mean err | worst dim "
        "| spread | det err | energy | data return | refit return | kept | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(head), flush=True)
    rows: list[str] = []
    for task in args.tasks:
        run = base_run(task, args.steps, args.run_seed, args.root, args.threads)
        grid = itertools.product(
            args.decoders, args.pairing, args.actions_per_state, args.fit_steps, args.lr, args.fit_seeds
        )
        for decoder, pairing, k, steps, lr, seed in grid:
            t0 = time.perf_counter()
            r = variant(
                run,
                args.threads,
                decoder,
                pairing,
                k,
                steps,
                lr,
                args.batch,
                args.pairs,
                args.fidelity_states,
                args.episodes,
                seed,
            )
            kept = r.get("return_kept_det", float("nan"))
            row = (
                f"| {task} | {decoder} | {pairing} | {k} | {steps:,} | {lr:g} | {seed} "
                f"| {r['fidelity_mean_error']:.3f} | {r['fidelity_mean_error_worst_dim']:.3f} "
                f"| {r['fidelity_spread_ratio']:.2f} | {r['fidelity_det_error']:.3f} "
                f"| {r['fidelity_energy_distance']:.3f} | {r.get('return_data_det', float('nan')):.1f} "
                f"| {r.get('return_refit_det', float('nan')):.1f} | {kept:.2f} | {r['fit_wall_time']:.0f} |"
            )
            emit(args.out, head, rows, row, f"({time.perf_counter() - t0:.0f} s in all)")
    print(f"table: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
