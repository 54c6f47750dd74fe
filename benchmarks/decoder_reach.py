"""Which actions a refitted decoder can reach: does it extrapolate as the latent leaves the prior?

For a GoRL(SAC) run's checkpoint (``--kept``: the copy kept at that many env steps), on the replay
buffer's latest ``--states`` states (the states the stage visits, not only the refit's), the decoder's
deterministic-axis response: for each latent dimension i and sign, z = +-t e_i against z = 0, the move of
decode(s, z) along its own action axis, in units of the spread of decode(s, z ~ N(0, I)) (pre-squash).
A decoder that is affine in z moves t spreads at every t; one that confines the policy to the refit's
support flattens once |z| leaves the prior's typical set (about 3)::

    python benchmarks/decoder_reach.py \\
        benchmarks/results/gorl_sac_paired/runs/hopper-stand/gorl-sac-fm-anch-first/s1 --kept 200021
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from gorl.train import Trainer


def reach(run: Path, kept: int | None, states: int, ts: list[float]) -> list[str]:
    """Markdown rows, one per ``t``: the mean own-axis move over dimensions and signs, min and max."""
    trainer = Trainer.load(run, kept, progress=False, threads=1)
    buffer = getattr(trainer.learner, "buffer", None)
    if buffer is None or len(buffer) == 0:
        raise SystemExit(f"{run}: no replay buffer to take states from (GoRL(SAC) runs only)")
    obs = buffer.data["obs"][max(0, len(buffer) - states) : len(buffer)]
    policy = trainer.policy
    d = policy.encoder.latent_dim
    gen = torch.Generator().manual_seed(0)
    label = f"{'/'.join(run.parts[-3:])} at {trainer.env_steps:,} (stage {trainer.timescale.stage})"
    rows = []
    with torch.no_grad():
        o = trainer.learner.normalize(obs)
        centre = policy.decode(o, torch.zeros(len(o), d))
        draws = [policy.decode(o, torch.randn(len(o), d, generator=gen)) for _ in range(16)]
        spread = torch.stack(draws).std(0).clamp_min(1e-3)
        for t in ts:
            moves = []
            for i in range(d):
                for sign in (1.0, -1.0):
                    z = torch.zeros(len(o), d)
                    z[:, i] = sign * t
                    moves.append(float(((policy.decode(o, z) - centre)[:, i] * sign / spread[:, i]).mean()))
            mean = sum(moves) / len(moves)
            rows.append(f"| {label} | {t:g} | {mean:.2f} | {min(moves):.2f} | {max(moves):.2f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="GoRL(SAC) run directories")
    ap.add_argument("--kept", type=int, default=None, help="the checkpoint kept at this step (default: last)")
    ap.add_argument("--states", type=int, default=2048)
    ap.add_argument("--t", type=float, nargs="+", default=[1, 2, 3, 4, 6, 8, 12])
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print("| run | t | own-axis move at z = +-t e_i (spreads), mean over dims and signs | min | max |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        print("\n".join(reach(run, args.kept, args.states, args.t)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
