"""The measurements behind the CPU PPO preset: one-change ablations around it (docs/ppo.md).

Each variant is the baseline (``BASE_OPTIMIZER`` and ``BASE_ENCODER``: the ``cpu`` preset with GoRL's
4x32 SiLU encoder and PyTorch's init, the ``ppo`` method's CPU setting until it took TorchRL's recipe
initialisation, variant ``recipe-init``) with a few fields changed; every (variant, task, seed) trains
Gaussian PPO (method ``ppo``) for ``--total-steps`` env steps and is evaluated deterministically on 8
full episodes every ``--eval-every`` steps (the same start states for every variant). Runs go two at a
time, one torch thread each; each writes its JSON as it finishes, a finished run is skipped when the
script is run again, and the table ``benchmarks/results/ppo_preset_sweep.md`` is rewritten after
every run:

    python benchmarks/ppo_preset_sweep.py                               # every variant, 2 seeds
    python benchmarks/ppo_preset_sweep.py --variants cpu global-clip    # a subset
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gorl.checkpoint import atomic_write_json, atomic_write_text  # noqa: E402

# The baseline every variant changes: the cpu preset with GoRL's encoder (4x32 SiLU, state-dependent
# scale, PyTorch's init), which was the ppo method's CPU setting before it took TorchRL's recipe
# initialisation (the variant recipe-init); these fields undo what the ppo method now adds to the preset.
BASE_OPTIMIZER: dict[str, Any] = {
    "penalty_coef": 0.0,
    "anneal_lr": False,
    "critic_hidden": [256, 256],
    "critic_activation": "silu",
    "critic_init": "default",
    "adam_eps": 1e-8,
}
BASE_ENCODER: dict[str, Any] = {
    "hidden": [32, 32, 32, 32],
    "activation": "silu",
    "state_scale": True,
    "init": "default",
    "init_head_gain": 0.0,
}

# name -> (PPOConfig fields changed from the baseline, what the change tests[, encoder options])
VARIANTS: dict[str, tuple[Any, ...]] = {
    "cpu": ({}, "the preset"),
    "global-clip": (
        {"grad_clip": "global", "max_grad_norm": 0.5},
        "one 0.5 clip over encoder and critic (official)",
    ),
    "official-returns": ({"reward_scale": 10.0, "gamma": 0.995}, "reward scale 10, gamma 0.995 (official)"),
    "lr-1e-3": ({"lr": 1e-3}, "lr 1e-3 (official)"),
    "no-trunc-mask": ({"mask_truncated_value": False}, "value loss on time-limit steps too"),
    "segments-32": ({"unroll_length": 32}, "GAE bootstraps every 32 steps (Brax segments)"),
    "epochs-4": ({"update_epochs": 4}, "4 epochs instead of 10 (fewer updates per sample)"),
    "critic-5x256": ({"critic_hidden": [256] * 5}, "the official 5x256 critic"),
    "entropy-0.01": ({"entropy_coef": 0.01}, "entropy bonus 0.01 (official)"),
    "envs-16": ({"num_envs": 16, "rollout_length": 128}, "16 envs x 128 steps (same batch)"),
    "anneal-lr": ({"anneal_lr": True}, "learning rates decay linearly to 0 (TorchRL's recipe)"),
    "enc-64x64-tanh": (
        {},
        "encoder 64x64 tanh (TorchRL's recipe) instead of 4x32 silu",
        {"hidden": [64, 64], "activation": "tanh"},
    ),
    "critic-64x64-tanh": (
        {"critic_hidden": [64, 64], "critic_activation": "tanh"},
        "critic 64x64 tanh (TorchRL's recipe)",
    ),
    "global-scale": (
        {},
        "one learned scale per latent dim (state-independent, TorchRL's recipe)",
        {"state_scale": False},
    ),
    "recipe": (
        {"anneal_lr": True, "critic_hidden": [64, 64], "critic_activation": "tanh"},
        "TorchRL's recipe in gorl: 64x64 tanh nets, state-independent scale, lr decay",
        {"hidden": [64, 64], "activation": "tanh", "state_scale": False},
    ),
    "no-clip": ({"max_grad_norm": 1e6}, "no gradient clipping (TorchRL's recipe clips none)"),
    "recipe-no-clip": (
        {"anneal_lr": True, "critic_hidden": [64, 64], "critic_activation": "tanh", "max_grad_norm": 1e6},
        "TorchRL's recipe in gorl, without gradient clipping",
        {"hidden": [64, 64], "activation": "tanh", "state_scale": False},
    ),
    "rollout-128": (
        {"rollout_length": 128, "unroll_length": 128, "num_minibatches": 16},
        "8 envs x 128 steps per iteration (updates twice as often, same updates per sample)",
    ),
    "rollout-128-no-clip": (
        {"rollout_length": 128, "unroll_length": 128, "num_minibatches": 16, "max_grad_norm": 1e6},
        "8 envs x 128 steps per iteration, no gradient clipping",
    ),
    "penalty-1e-3": (
        {"penalty_coef": 1e-3},
        "GoRL's latent penalty (1e-3) on Gaussian PPO: keeps latents off saturation",
    ),
    "vecnorm": (
        {"obs_norm_eps": 1e-2, "obs_clip": 10.0},
        "TorchRL VecNorm's std floor (eps 1e-2) and clip at 10",
    ),
    "prior-init": (
        {"critic_init": "orthogonal", "critic_init_gain": 0.01, "adam_eps": 1e-5},
        "TorchRL's recipe init: orthogonal hidden layers (gain 1), the critic orthogonal (gain 0.01), Adam "
        "eps 1e-5; the encoder's head still starts at the prior",
        {"init": "orthogonal"},
    ),
    "recipe-init": (
        {"critic_init": "orthogonal", "critic_init_gain": 0.01, "adam_eps": 1e-5},
        "prior-init, and the loc head orthogonal with gain 1 (the first policy's mean depends on the state)",
        {"init": "orthogonal", "init_head_gain": 1.0},
    ),
    "recipe-full": (
        {
            "anneal_lr": True,
            "critic_hidden": [64, 64],
            "critic_activation": "tanh",
            "critic_init": "orthogonal",
            "critic_init_gain": 0.01,
            "adam_eps": 1e-5,
        },
        "TorchRL's recipe in gorl with its init: 64x64 tanh nets, state-independent scale, lr decay, "
        "orthogonal init, Adam eps 1e-5",
        {
            "hidden": [64, 64],
            "activation": "tanh",
            "state_scale": False,
            "init": "orthogonal",
            "init_head_gain": 1.0,
        },
    ),
    "recipe-nets-anneal": (
        {"anneal_lr": True, "critic_hidden": [64, 64], "critic_activation": "tanh"},
        "both 64x64 tanh nets and lr decay",
        {"hidden": [64, 64], "activation": "tanh"},
    ),
}


def run_one(job: tuple[str, str, int, int, int, Path]) -> dict:
    """Trains one (variant, task, seed) in this process; returns (and writes) its record."""
    import torch

    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    variant, task, seed, total, eval_every, out = job
    torch.set_num_threads(1)
    record: dict = {"variant": variant, "task": task, "seed": seed}
    try:
        cfg = TrainConfig(
            task=task,
            method="ppo",
            seed=seed,
            total_steps=total,
            eval_every=eval_every,
            eval_envs=8,
            progress=False,
            threads=1,
            optimizer_preset="cpu",
            optimizer={**BASE_OPTIMIZER, **VARIANTS[variant][0]},
            encoder={**BASE_ENCODER, **(VARIANTS[variant][2] if len(VARIANTS[variant]) > 2 else {})},
        )
        summary = Trainer(cfg, out / "runs" / f"{variant}-{task}-s{seed}").run()
        metrics = [
            json.loads(s) for s in (out / "runs" / f"{variant}-{task}-s{seed}" / "metrics.jsonl").open()
        ]
        record |= {
            "final": summary["final_return"],
            "best": summary["best_return"],
            "wall_time": summary["wall_time"],
            "curve": [(r["env_steps"], r["return_mean"]) for r in metrics if r["kind"] == "eval"],
        }
    except Exception as e:  # a failed run is recorded, the others go on
        record["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
    atomic_write_json(out / f"{variant}-{task}-s{seed}.json", record)
    return record


def table(out: Path, args: argparse.Namespace) -> str:
    """The Markdown table of every finished run under ``out``."""
    recs = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    lines = [
        "# CPU PPO preset: one-change ablations",
        "",
        f"`python benchmarks/ppo_preset_sweep.py --total-steps {args.total_steps}`; Gaussian PPO (`ppo`), "
        "final deterministic evaluation return (8 full episodes, same start states) at the budget, "
        "mean over seeds (per-seed values in brackets); wall time is training only, mean per run, "
        "two runs sharing 2 cores.",
        "",
        "| variant | change | " + " | ".join(args.tasks) + " | wall s |",
        "|---|---|" + "---|" * len(args.tasks) + "---|",
    ]
    for name in [v for v in VARIANTS if any(r["variant"] == v for r in recs)]:
        cells, walls = [], []
        for task in args.tasks:
            rs = [r for r in recs if r["variant"] == name and r["task"] == task and "final" in r]
            walls += [r["wall_time"] for r in rs]
            vals = [r["final"] for r in sorted(rs, key=lambda r: r["seed"])]
            cells.append(
                f"{statistics.mean(vals):.0f} [{', '.join(f'{v:.0f}' for v in vals)}]" if vals else "-"
            )
        wall = f"{statistics.mean(walls):.0f}" if walls else "-"
        lines.append(f"| {name} | {VARIANTS[name][1]} | " + " | ".join(cells) + f" | {wall} |")
    errors = [r for r in recs if "error" in r]
    lines += [
        "",
        *[f"- failed: {r['variant']} {r['task']} s{r['seed']}: {r['error'].splitlines()[0]}" for r in errors],
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--tasks", nargs="+", default=["cheetah-run", "walker-walk"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--total-steps", type=int, default=200_704)
    ap.add_argument("--eval-every", type=int, default=50_176)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ppo_preset_sweep")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [
        (v, t, s, args.total_steps, args.eval_every, args.out)
        for s in args.seeds
        for v in args.variants
        for t in args.tasks
        if not (args.out / f"{v}-{t}-s{s}.json").exists()
    ]
    print(f"{len(jobs)} runs to do", flush=True)
    md = args.out.parent / "ppo_preset_sweep.md"
    with mp.get_context("spawn").Pool(args.parallel, maxtasksperchild=1) as pool:
        for rec in pool.imap_unordered(run_one, jobs):
            status = f"final {rec['final']:.1f}" if "final" in rec else "FAILED"
            print(
                f"[{time.strftime('%H:%M:%S')}] {rec['variant']} {rec['task']} s{rec['seed']}: {status}",
                flush=True,
            )
            atomic_write_text(md, table(args.out, args))
    atomic_write_text(md, table(args.out, args))
    print(f"table: {md}")


if __name__ == "__main__":
    main()
