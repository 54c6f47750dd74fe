"""How far from its refit's states a refitted decoder still reproduces the data policy.

A refit is measured on held-out states of its own data (``gorl.twotimescale.fidelity``). The stage after
it moves the policy to states the data never held (a cheetah that runs faster), where the decoder only
extrapolates. This script compares the refitted policy (the prior latent through a run's
``decoders/stage1.pt``) with the data policy it was fitted to, on states from several sources:

* ``refit``: fresh states of the data policy itself (what the refit's own fidelity check sees);
* each ``--states-from`` run: states its final policy visits (later, better policies).

The data policy and the normaliser of the refit come from a run that stopped exactly at the refit
(``--at-refit``: the baseline with the budget of GoRL's stage 0, whose stage 0 it is bit for bit; see
``benchmarks/decoder_obs_drift.py``). Every state is normalised with the refit's statistics, so drift
plays no part here. Figures in units of the data policy's spread, as in the refit records.

    python benchmarks/refit_reach.py --at-refit /tmp/ppo_replay \\
        --decoders benchmarks/results/gorl_paired/runs/cheetah-run/gorl-{fm,diff}/s0 \\
        --states-from benchmarks/results/gorl_paired/runs/cheetah-run/{ppo,gorl-fm}/s0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch import Tensor

import gorl.encoders as encoders
from gorl.checkpoint import atomic_write_text
from gorl.composite import CompositePolicy
from gorl.decoders import snapshot
from gorl.train import Trainer
from gorl.twotimescale.fidelity import action_fidelity


def raw_states(run: Path, n: int) -> Tensor:
    """``n`` raw observations that ``run``'s final policy visits (a fixed seed), ``(n, obs_dim)``."""
    trainer = Trainer.load(run, progress=False, threads=1)
    rollout = trainer.learner.rollout  # type: ignore[attr-defined]
    torch.manual_seed(0)
    raw = rollout.collect(trainer.policy, -(-n // rollout.env.num_envs), where="states", count=False)["obs"]
    return raw.reshape(-1, raw.shape[-1])[:n].cpu()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--at-refit", type=Path, required=True, help="a run that stopped at the first refit")
    ap.add_argument("--decoders", type=Path, nargs="+", required=True, help="GoRL runs (decoders/stage1.pt)")
    ap.add_argument("--states-from", type=Path, nargs="*", default=[], help="runs whose final states to use")
    ap.add_argument("--states", type=int, default=128)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/refit_reach.md"))
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/refit_reach.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    data = Trainer.load(args.at_refit, progress=False, threads=1)
    norm = data.learner.observation_norm  # type: ignore[attr-defined]
    sources = {"refit": raw_states(args.at_refit, args.states)}
    sources |= {str(run): raw_states(run, args.states) for run in args.states_from}
    enc = data.policy.encoder
    prior = encoders.make("prior", obs_dim=enc.obs_dim, latent_dim=enc.latent_dim)
    head = [
        "# A stage-1 decoder away from its refit's states",
        "",
        f"`{command}`; load average at start {os.getloadavg()[0]:.1f} (2 cores). {args.states} states per "
        "source, 256 actions per state from each policy, all normalised with the refit's statistics; the "
        "refitted policy (prior latent through the decoder) against the data policy, in units of the data "
        "policy's spread (mean error, spread ratio, deterministic error, energy distance).",
        "",
        "| decoder | states from | data policy's spread (mean) | mean err | spread | det err | energy |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for run in args.decoders:
        decoder = snapshot.build(snapshot.read(run / "decoders" / "stage1.pt"))
        refitted = CompositePolicy(prior, decoder, data.policy.action_low, data.policy.action_high)
        for name, raw in sources.items():
            obs = norm(raw.double()).float() if norm is not None else raw
            torch.manual_seed(1)
            spread = data.policy.act(obs.repeat_interleave(256, 0))["raw_action"].reshape(len(obs), 256, -1)
            f = action_fidelity(data.policy, refitted, obs)
            rows.append(
                f"| {run} | {name} | {float(spread.std(1).mean()):.3f} | {f.mean_error:.3f} "
                f"| {f.spread_ratio:.2f} | {f.det_error:.3f} | {f.energy_distance:.3f} |"
            )
            print(rows[-1], flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(args.out, "\n".join(head + rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
