"""How far a run's policy moved between two of its checkpoints, in units of the earlier policy's spread.

For each run directory: the policy kept at ``--kept`` env steps (``keep_checkpoints``) and the run's
latest checkpoint (or the one kept at ``--to``), both loaded read-only. On the latest ``--states`` states
of the later replay buffer (SAC runs; the states the later policy acts on), per state and action dimension:

* ``det move``: |a_later(s) - a_earlier(s)| / spread_earlier(s), where a(s) = decode(s, loc(s)) is the
  policy's deterministic (pre-squash) action and spread_earlier(s) the std of the earlier policy's decoded
  actions over ``--draws`` latents z ~ N(loc, scale);
* ``spread ratio``: spread_later(s) / spread_earlier(s).

``benchmarks/stage_learning.py --reach`` measures the same move for a GoRL stage against its refit's
policy (the refit policy is decode(s, 0)); this script measures it for any pair of checkpoints, e.g.
Gaussian SAC between the step where GoRL(SAC) refits and later, which says how far a stage would have to
move the policy to follow the baseline::

    python benchmarks/policy_move.py benchmarks/results/gorl_sac_paired/runs/hopper-stand/sac/s2 --kept 100011
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import Tensor

from gorl.train import Trainer


def deterministic_and_spread(trainer: Trainer, obs: Tensor, draws: int, seed: int) -> tuple[Tensor, Tensor]:
    """The policy's deterministic pre-squash action ``(N, A)`` and the std of its decoded actions over
    ``draws`` latents per state ``(N, A)``, at raw observations ``obs (N, obs_dim)``."""
    policy = trainer.policy
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        o = trainer.learner.normalize(obs)
        loc, scale = policy.encoder.loc_scale(o)
        det = policy.decode(o, loc)
        eps = torch.randn((draws, *loc.shape), generator=gen).to(loc)
        samples = torch.stack([policy.decode(o, loc + scale * e) for e in eps])
    return det, samples.std(0)


def move(run: Path, kept: int, to: int | None, states: int, draws: int) -> dict[str, float]:
    """The move of ``run``'s policy from its checkpoint kept at ``kept`` to the later one."""
    earlier = Trainer.load(run, kept, progress=False, threads=1)
    later = Trainer.load(run, to, progress=False, threads=1)
    buffer = getattr(later.learner, "buffer", None)
    if buffer is None or len(buffer) == 0:
        raise SystemExit(f"{run}: the later checkpoint has no replay buffer to take states from (SAC only)")
    obs = buffer.data["obs"][max(0, len(buffer) - states) : len(buffer)]
    det0, spread0 = deterministic_and_spread(earlier, obs, draws, seed=0)
    det1, spread1 = deterministic_and_spread(later, obs, draws, seed=1)
    spread0 = spread0.clamp_min(1e-3)
    return {
        "from": float(earlier.env_steps),
        "to": float(later.env_steps),
        "det_move_spreads": float(((det1 - det0).abs() / spread0).mean()),
        "spread_ratio": float((spread1 / spread0).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="run directories with a checkpoint kept at --kept")
    ap.add_argument("--kept", type=int, required=True, help="the earlier checkpoint (keep_checkpoints)")
    ap.add_argument("--to", type=int, default=None, help="the later one kept at this step (default: latest)")
    ap.add_argument("--states", type=int, default=4096, help="the later replay buffer's latest states")
    ap.add_argument("--draws", type=int, default=16, help="latents per state for the spreads")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print("| run | from | to | det move (earlier spreads) | spread ratio |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        m = move(run, args.kept, args.to, args.states, args.draws)
        label = "/".join(run.parts[-3:])
        print(
            f"| {label} | {m['from']:,.0f} | {m['to']:,.0f} | {m['det_move_spreads']:.2f} | "
            f"{m['spread_ratio']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
