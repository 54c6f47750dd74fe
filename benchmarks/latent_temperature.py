"""How a run's final policy does when it acts with the latent mean, with scaled-down latent noise, with
the full noise, and with the mean of its decoded actions, on the same fresh episodes.

For each run directory (its ``checkpoint.pt``, read-only through ``Trainer.load``), ``--episodes``
episodes from start states no evaluation of the run used, the same for every variant:

* ``t=0``: the latent mean (the runs' deterministic evaluation, the paper's protocol);
* ``t=x``: latent ``loc + x * scale * eps``, ``eps ~ N(0, I)`` (``t=1`` is the stochastic policy);
* ``mean``: the mean over ``--samples`` actions of the stochastic policy (decoded and squashed): the
  policy's mean action, which for a Gaussian policy away from the bounds is about ``t=0``.

    python benchmarks/latent_temperature.py benchmarks/results/gorl_paired_1m/runs/fish-swim/*/s* \\
        --out benchmarks/results/gorl_paired_1m/latent_temperature_fish.md
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from gorl.algos.evaluate import run_episodes
from gorl.checkpoint import atomic_write_text
from gorl.envs import make_env
from gorl.squash import squash
from gorl.train import Trainer


def actors(
    policy, temperatures: list[float], samples: int, seed: int
) -> dict[str, Callable[[Tensor], Tensor]]:
    """One act function per variant: normalised obs ``(N, obs_dim)`` -> env action ``(N, action_dim)``."""
    g = torch.Generator().manual_seed(seed)
    low, high = policy.action_low, policy.action_high

    def at(t: float) -> Callable[[Tensor], Tensor]:
        def act(obs: Tensor) -> Tensor:
            loc, scale = policy.encoder.loc_scale(obs)
            z = loc + t * scale * torch.randn(loc.shape, generator=g)
            return squash(policy.decode(obs, z), low, high)

        return act

    def mean(obs: Tensor) -> Tensor:
        loc, scale = policy.encoder.loc_scale(obs)
        z = loc.unsqueeze(0) + scale.unsqueeze(0) * torch.randn((samples, *loc.shape), generator=g)
        raw = policy.decode(
            obs.unsqueeze(0).expand(samples, *obs.shape).reshape(-1, obs.shape[-1]), z.flatten(0, 1)
        )
        return squash(raw, low, high).reshape(samples, *loc.shape[:-1], -1).mean(0)

    out = {f"t={t:g}": at(t) for t in temperatures}
    out["mean"] = mean
    return out


def probe(run: Path, temperatures: list[float], samples: int, episodes: int) -> dict[str, float]:
    trainer = Trainer.load(run, progress=False)
    env = make_env(
        trainer.config.task,
        episodes,
        seed=trainer.config.seed + 3_000_017,
        episode_length=trainer.eval_length,
        options=trainer.config.env_options,
    )
    start = env.env_state()
    result = {}
    for name, act in actors(trainer.policy, temperatures, samples, trainer.config.seed).items():
        env.load_env_state(start)
        returns = run_episodes(act, env, trainer.learner.normalize, trainer.eval_length)
        result[name] = returns.mean().item()
    env.close()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="run directories (each with checkpoint.pt)")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    ap.add_argument("--samples", type=int, default=32, help="decoded actions per state for 'mean'")
    ap.add_argument("--episodes", type=int, default=16)
    ap.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows, names = [], None
    for run in args.runs:
        result = probe(run, args.temperatures, args.samples, args.episodes)
        names = names or list(result)
        label = "/".join(run.parts[-3:])
        rows.append((label, result))
        print(label, {k: round(v, 1) for k, v in result.items()}, flush=True)
    assert names is not None
    lines = ["| run | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {label} | " + " | ".join(f"{r[n]:.1f}" for n in names) + " |" for label, r in rows]
    by_method: dict[str, list[dict[str, float]]] = {}
    for label, r in rows:
        by_method.setdefault(label.split("/")[-2], []).append(r)
    for method, rs in by_method.items():
        lines.append(
            f"| **{method}** (mean of {len(rs)}) | "
            + " | ".join(f"{statistics.mean(r[n] for r in rs):.1f}" for n in names)
            + " |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        command = "python benchmarks/latent_temperature.py " + " ".join(str(r) for r in args.runs)
        command += f" --samples {args.samples} --episodes {args.episodes}"
        atomic_write_text(args.out, f"`{command}`\n\n{args.episodes} fresh episodes per run.\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
