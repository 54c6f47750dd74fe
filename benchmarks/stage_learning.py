"""Does a GoRL stage keep learning? Stage variants started from one checkpoint, paired with no refit.

GoRL's stage 0 is the ``ppo`` run, so a ``ppo`` run's checkpoint at the first stage end *is* GoRL's state
before its first refit (policy, critic, Adam, normaliser, env and RNG states). For every run directory
given (tasks x seeds, e.g. ``gorl bench benchmarks/suites/stage1-base.yaml``) and every variant, this
script loads the checkpoint read-only, makes GoRL's first refit with the variant's schedule (the method's
cpu schedule with the variant's overrides), trains stage 1 for ``--stage-steps`` env steps and evaluates
on the run's own evaluation episodes every ``--eval-every`` steps. The variant ``none`` continues the
checkpoint without a refit: the baseline over the same steps, the other half of each pair (``ppo``, its
earlier name, is read as the same).

A GoRL run's checkpoint kept before a later refit (``keep_checkpoints``; ``--kept N`` reads the copy at
N env steps instead of ``checkpoint.pt``) works the same way: the refit is the one that checkpoint was
about to make (its stage and the run's own budget), with the run's own schedule and the variant's
overrides, and ``none`` continues its stage without that refit. GoRL(SAC) too::

    python benchmarks/stage_learning.py benchmarks/results/gorl_sac_paired/runs/*/gorl-sac-fm/s* \\
        --kept 200021 --method gorl-sac-fm --variants none default anchored last --stage-steps 50005 \\
        --eval-every 12544 --out <table>.md

    python benchmarks/stage_learning.py benchmarks/results/stage1_base/runs/*/ppo/s* \\
        --variants none default pen0 --out benchmarks/results/stage_screen.md

``--reference default`` pairs the variants with the default refit instead of ``none``, e.g. GoRL(SAC)'s
regulariser after the refit (``kl4d``: alpha holds the KL to N(0, I) near 4 d nats instead of d;
``ent-prior``: alpha on the latent's entropy, held at the prior's; ``act-ent``: alpha on the squashed
action's entropy through the decoder, sac's rule)::

    python benchmarks/stage_learning.py benchmarks/results/gorl_sac_paired/runs/hopper-stand/gorl-sac-fm/s* \
        --kept 200021 --method gorl-sac-fm --reference default --variants kl4d ent-prior \
        --stage-steps 50005 --eval-every 12544 --out benchmarks/results/sac_stage_screen.md

``--reach`` only prints how far each checkpoint's encoder has taken the policy from its refit's
(``latent_reach``: the KL's mean and scale parts, the deterministic action's move in the refit policy's
spreads). SAC records carry the same measure at the stage's end, with alpha and the regulariser's score.

Per (run, variant) a JSON line goes to ``--out`` with suffix ``.jsonl`` as it finishes (a rerun skips
the pairs already there); the Markdown table pairs each variant with ``none`` on the same run: stage
mean of the evaluation returns, the difference normalised by 1000 with its IQM over runs and a
stratified bootstrap 95% interval, the worst task, and the policy's movement (PPO's approximate KL and
clip fraction per iteration; n/a for SAC) beside ``none``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gorl.algos.sac.optimizer import PRIOR_ENTROPY_PER_DIM
from gorl.checkpoint import atomic_write_text
from gorl.report.stats import MAX_RETURN, iqm, stratified_bootstrap_ci
from gorl.train import Trainer
from gorl.train_config import TrainConfig, resolve
from gorl.twotimescale.config import ScheduleConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import refit_loaded

LATER = {"penalty_coef": 1e-3}  # the cpu later-stage settings (gorl.methods.CPU_LATER_STAGES)
# schedule overrides on top of the method's cpu schedule, per variant
VARIANTS: dict[str, dict[str, Any]] = {
    "none": {},
    "ppo": {},  # the earlier name of "none" (stage_screen.jsonl's records)
    "default": {},
    "fresh": {"encoder_reset": "fresh"},
    # the refit's data from the stage's last encoder instead of its best-evaluated one
    "last": {"data_from_best": False},
    "anchored-last": {"encoder_reset": "anchored", "data_from_best": False},
    "pen0": {"stage_overrides": [{}, {"penalty_coef": 0.0}]},
    "no-reset": {"reset_encoder": [False]},
    # the encoder's learning rate after the refit (the critic keeps the preset's 3e-4)
    "lr1e-3": {"stage_overrides": [{}, {**LATER, "lr": 1e-3, "critic_lr": 3e-4}]},
    "clip0.3": {"stage_overrides": [{}, {**LATER, "clip_epsilon": 0.3}]},
    "lr6e-4-clip0.3": {
        "stage_overrides": [{}, {**LATER, "lr": 6e-4, "critic_lr": 3e-4, "clip_epsilon": 0.3}]
    },
    "anchored": {"encoder_reset": "anchored"},
    "anchored-pen0": {"encoder_reset": "anchored", "stage_overrides": [{}, {"penalty_coef": 0.0}]},
    "freeze-norm": {},  # default schedule; the decoder then reads the refit's normaliser statistics
}
FROZEN_NORM = {"freeze-norm"}


def _later_sac(trainer: Trainer, **settings: Any) -> dict[str, Any]:
    """A GoRL(SAC) run's schedule overrides: its own stage 0, ``settings`` on the optimiser from stage 1."""
    first = trainer.schedule.stage_overrides[0] if trainer.schedule.stage_overrides else {}
    return {"stage_overrides": [first, settings]}


# variants whose overrides depend on the run (its latent dimension d), for GoRL(SAC)'s later stages
RUN_VARIANTS: dict[str, Callable[[Trainer], dict[str, Any]]] = {
    # alpha holds KL(pi || N(0, I)) near 4 d nats instead of d: the mean may move twice as far
    "kl4d": lambda t: _later_sac(t, target_kl=4.0 * t.policy.encoder.latent_dim),
    # alpha on the latent's entropy, held at the prior's (the value SACConfig's target_entropy='prior'
    # takes): the spread of the refit's data policy on average, the mean free (the latent penalty alone
    # pulls it to 0)
    "ent-prior": lambda t: _later_sac(
        t, regularizer="entropy", target_entropy=PRIOR_ENTROPY_PER_DIM * t.policy.encoder.latent_dim
    ),
    # alpha on the squashed action's entropy through the frozen decoder, sac's own rule and target -dim
    # (SACConfig regularizer 'decoded_entropy'; docs/sac.md)
    "act-ent": lambda t: _later_sac(t, regularizer="decoded_entropy"),
}
ALL_VARIANTS = [*VARIANTS, *RUN_VARIANTS]


def overrides_of(variant: str, trainer: Trainer) -> dict[str, Any]:
    """The schedule overrides of ``variant`` for the run ``trainer`` holds."""
    return RUN_VARIANTS[variant](trainer) if variant in RUN_VARIANTS else dict(VARIANTS[variant])


def latent_reach(trainer: Trainer, states: int = 4096, draws: int = 16) -> dict[str, float] | None:
    """How far the encoder has taken the policy from the refit's, on the replay's latest ``states``
    (learners with a replay buffer, i.e. SAC; None otherwise): the mean KL(pi(.|s) || N(0, I)) split into
    its mean part 0.5 |loc|^2 and its scale part, the mean |loc| and scale per dimension, and the move of
    the deterministic action from the refit policy's, decode(s, loc) - decode(s, 0), in action units and
    in units of the refit policy's spread (decode(s, z), z ~ N(0, I), ``draws`` per state)."""
    buffer = getattr(trainer.learner, "buffer", None)
    if buffer is None or len(buffer) == 0:
        return None
    policy = trainer.policy
    obs = buffer.data["obs"][torch.arange(max(0, len(buffer) - states), len(buffer))]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        loc, scale = policy.encoder.loc_scale(obs)
        move = (policy.decode(obs, loc) - policy.decode(obs, torch.zeros_like(loc))).abs()
        z = torch.randn((draws, *loc.shape), generator=gen).to(loc)
        spread = torch.stack([policy.decode(obs, zi) for zi in z]).std(0)
    return {
        "kl_mean_part": float((0.5 * loc**2).sum(-1).mean()),
        "kl_scale_part": float((0.5 * (scale**2 - 1 - 2 * scale.log())).sum(-1).mean()),
        "abs_loc": float(loc.abs().mean()),
        "scale": float(scale.mean()),
        "det_move": float(move.mean()),
        "det_move_spreads": float((move / spread.clamp_min(1e-3)).mean()),
    }


def freeze_decoder_obs(trainer: Trainer) -> None:
    """Screen-only: the refitted decoder reads observations normalised with the statistics of its refit
    (the encoder and critic keep the running ones). Patches the decoder's ``decode`` in place."""
    norm = trainer.learner.rollout.norm
    mean0, std0 = norm.mean.clone(), torch.sqrt(norm.var + norm.eps)
    decoder = trainer.policy.decoder
    decode = decoder.decode

    def renormed(obs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        raw = obs * torch.sqrt(norm.var + norm.eps).to(obs.dtype) + norm.mean.to(obs.dtype)
        return decode((raw - mean0.to(obs.dtype)) / std0.to(obs.dtype), z)

    decoder.decode = renormed


NO_REFIT = ("none", "ppo")  # continue the checkpoint without a refit ("ppo": the earlier name)


def run_variant(
    run: Path, method: str, variant: str, stage_steps: int, eval_every: int, kept: int | None = None
) -> dict[str, Any]:
    """The stage after ``run``'s checkpoint with ``variant``: evaluation returns by env step, per-iteration
    movement and training returns, and the refit record (None without a refit).

    A one-stage baseline's checkpoint (``ppo``, ``sac``) gets ``method``'s first refit (stage 1, the cpu
    schedule's stage 0 a third of the budget); a GoRL run's checkpoint the refit it was about to make (its
    next stage, its own budget), with its own schedule; either with the variant's overrides. ``kept``:
    the run's checkpoint kept at that many env steps instead of its last."""
    trainer = Trainer.load(run, kept, progress=False, threads=1)
    start = trainer.env_steps
    record = None
    if variant not in NO_REFIT:
        overrides = {"fidelity_episodes": 0, **overrides_of(variant, trainer)}
        if trainer.schedule.decoder is None:  # the baseline: method's first refit
            plan = resolve(TrainConfig(method=method, schedule=overrides))
            schedule, stage, total = plan.schedule, 1, 3 * start
        else:  # a GoRL run before a later refit: that refit, the run's own schedule
            schedule = ScheduleConfig.model_validate({**trainer.schedule.model_dump(), **overrides})
            stage, total = trainer.timescale.stage + 1, trainer.config.total_steps
        record = refit_loaded(
            trainer, schedule, stage=stage, total_steps=total, seed=trainer.config.seed, episodes=False
        )
        if variant in FROZEN_NORM:
            freeze_decoder_obs(trainer)
    returns: dict[int, float] = {}
    its: list[dict[str, float]] = []
    next_eval = start + eval_every
    while trainer.env_steps < start + stage_steps:
        its.append(trainer.learner.iterate())
        if trainer.env_steps >= next_eval:
            returns[trainer.env_steps] = trainer.eval_returns().mean().item()
            next_eval += eval_every

    def mean_of(key: str) -> float | None:
        values = [it[key] for it in its if key in it]
        return float(np.mean(values)) if values else None

    return {
        "task": trainer.config.task,
        "seed": trainer.config.seed,
        "start": start,
        "returns": returns,
        "eval_mean": float(np.mean(list(returns.values()))),
        "train_return": mean_of("train_return"),
        "kl_approx": mean_of("kl_approx"),
        "clip_fraction": mean_of("clip_fraction"),
        # SAC: the temperature and the regulariser's mean score (KL or entropy estimate, as logged)
        "alpha": mean_of("alpha"),
        "entropy": mean_of("entropy"),
        "reach": latent_reach(trainer),
        "refit": record,
    }


def load_done(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(run, variant) -> record, from the JSON lines already written."""
    if not path.exists():
        return {}
    done = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            done[(rec["run"], rec["variant"])] = rec
    return done


def no_refit(done: dict[tuple[str, str], dict[str, Any]], run: str) -> dict[str, Any] | None:
    """``run``'s record without a refit (under either name), if there is one."""
    return next((done[(run, v)] for v in NO_REFIT if (run, v) in done), None)


def reference_of(
    done: dict[tuple[str, str], dict[str, Any]], run: str, reference: str
) -> dict[str, Any] | None:
    """``run``'s record of the ``reference`` variant (``none`` under either name), if there is one."""
    return no_refit(done, run) if reference in NO_REFIT else done.get((run, reference))


def reference_label(reference: str) -> str:
    """How the table and its title name the reference: ``no refit`` for ``none`` (either name)."""
    return "no refit" if reference in NO_REFIT else reference


def _fmt(values: list[float | None], spec: str) -> str:
    """The mean of ``values`` formatted, or n/a where the learner does not report them (SAC: no KL)."""
    present = [v for v in values if v is not None]
    return format(float(np.mean(present)), spec) if present else "n/a"


def table(
    done: dict[tuple[str, str], dict[str, Any]], variants: list[str], reference: str = "none"
) -> list[str]:
    """Per variant, paired with ``reference`` (default ``none``) on the same runs: the stage's mean
    evaluation return, the paired difference's IQM [95% CI] (normalised by 1000), the worst task's mean
    difference, KL and clip fraction per iteration (the variant's / the reference's), and the paired IQM
    of the stage's mean training episode return (the stochastic policy, over many more episodes than the
    evaluations)."""
    ref = reference_label(reference)
    rows = [
        f"| variant | runs | eval mean | {ref}'s | paired IQM [95% CI] | worst task | KL / {ref}'s "
        f"| clip / {ref}'s | fidelity det err | training return, paired IQM [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in variants:
        if variant in NO_REFIT or variant == reference:
            continue
        pairs = [
            (rec, base)
            for (run, v), rec in done.items()
            if v == variant and (base := reference_of(done, run, reference)) is not None
        ]
        if not pairs:
            continue
        by_task: dict[str, list[float]] = {}
        train: dict[str, list[float]] = {}
        for rec, base in pairs:
            by_task.setdefault(rec["task"], []).append((rec["eval_mean"] - base["eval_mean"]) / MAX_RETURN)
            if rec["train_return"] is not None and base["train_return"] is not None:
                diff = (rec["train_return"] - base["train_return"]) / MAX_RETURN
                train.setdefault(rec["task"], []).append(diff)
        point, low, high = stratified_bootstrap_ci(by_task, iqm)
        t_point, t_low, t_high = stratified_bootstrap_ci(train, iqm) if train else (np.nan,) * 3
        worst = min(by_task, key=lambda t: float(np.mean(by_task[t])))
        dets = [r["refit"]["fidelity_det_error"] for r, _ in pairs if r.get("refit")]
        rows.append(
            f"| {variant} | {len(pairs)} | {np.mean([r['eval_mean'] for r, _ in pairs]):.1f} | "
            f"{np.mean([b['eval_mean'] for _, b in pairs]):.1f} | {float(point):+.3f} "
            f"[{float(low):+.3f}, {float(high):+.3f}] | {worst} {1000 * np.mean(by_task[worst]):+.1f} | "
            f"{_fmt([r['kl_approx'] for r, _ in pairs], '.4f')} / "
            f"{_fmt([b['kl_approx'] for _, b in pairs], '.4f')} | "
            f"{_fmt([r['clip_fraction'] for r, _ in pairs], '.3f')} / "
            f"{_fmt([b['clip_fraction'] for _, b in pairs], '.3f')} | "
            f"{np.mean(dets) if dets else float('nan'):.3f} | {float(t_point):+.3f} "
            f"[{float(t_low):+.3f}, {float(t_high):+.3f}] |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "runs",
        type=Path,
        nargs="+",
        help="baseline run directories with checkpoints at GoRL's first stage end, or GoRL run directories "
        "with a checkpoint kept before a later refit (--kept)",
    )
    ap.add_argument("--method", default="gorl-fm")
    ap.add_argument(
        "--kept", type=int, default=None, help="start from the runs' checkpoints kept at this many env steps"
    )
    ap.add_argument("--variants", nargs="+", default=["none", "default"], choices=ALL_VARIANTS)
    ap.add_argument(
        "--reference",
        default="none",
        choices=ALL_VARIANTS,
        help="the variant the others are paired with (run first on each run; default: none, no refit)",
    )
    ap.add_argument("--stage-steps", type=int, default=100_352)
    ap.add_argument("--eval-every", type=int, default=25_088)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/stage_screen.md"))
    ap.add_argument(
        "--reach",
        action="store_true",
        help="only print how far each run's encoder has taken the policy from its last refit's "
        "(latent_reach, SAC runs) at the checkpoint, and train nothing",
    )
    args = ap.parse_args(argv)
    if args.reach:
        for run in args.runs:
            trainer = Trainer.load(run, args.kept, progress=False, threads=1)
            reach = latent_reach(trainer)
            where = f"{run} at {trainer.env_steps} env steps, stage {trainer.timescale.stage}"
            print(where, "no replay buffer" if reach is None else json.dumps(reach))
        return 0
    command = " ".join(["python benchmarks/stage_learning.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    records = args.out.with_suffix(".jsonl")
    done = load_done(records)
    head = [
        f"# The stage after a refit of {args.method} against {reference_label(args.reference)}, from the "
        "runs' checkpoints",
        "",
        f"`{command}`; load average at start {os.getloadavg()[0]:.1f} (2 cores). Deterministic evaluation "
        "returns on each run's own evaluation episodes, mean over the stage's evaluations; paired: the "
        f"variant's minus the reference's on the same run, / {MAX_RETURN:.0f}. Per-run records: "
        f"`{records.name}`.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ref = "none" if args.reference in NO_REFIT else args.reference  # run first on every run
    for run in args.runs:
        name = str(run) if args.kept is None else f"{run}@{args.kept}"
        for variant in [ref, *[v for v in args.variants if v not in (*NO_REFIT, ref)]]:
            key = (name, variant)
            if key in done or (variant == "none" and no_refit(done, name) is not None):
                continue
            t0 = time.perf_counter()
            out = run_variant(run, args.method, variant, args.stage_steps, args.eval_every, args.kept)
            rec = {"run": name, "variant": variant, "method": args.method, **out}
            rec["returns"] = {str(k): v for k, v in out["returns"].items()}
            rec["seconds"] = time.perf_counter() - t0
            done[key] = rec
            with records.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"{run} {variant}: eval mean {out['eval_mean']:.1f} ({rec['seconds']:.0f} s)", flush=True)
            atomic_write_text(args.out, "\n".join(head + table(done, args.variants, args.reference)) + "\n")
    atomic_write_text(args.out, "\n".join(head + table(done, args.variants, args.reference)) + "\n")
    print("\n".join(table(done, args.variants, args.reference)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
