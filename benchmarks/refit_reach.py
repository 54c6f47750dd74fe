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

``--fits`` refits the data policy here instead, with a method's cpu schedule (``--method``) and each fit
variant in ``late_refit.py``'s form, ``steps:lr:schedule[:key=value,...]`` (schedule fields or decoder
options): ``--method gorl-diff --fits 2000:1e-3:constant 2000:1e-3:constant:actions_per_state=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

import gorl.encoders as encoders
import gorl.methods as methods
from gorl.composite import CompositePolicy
from gorl.decoders import snapshot
from gorl.interfaces.policy import ActingPolicy
from gorl.train import Trainer
from gorl.twotimescale.fidelity import action_fidelity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import emit, fit_variant, raw_states, refit_loaded


def refitted(at_refit: Path, method: str, fit: str) -> tuple[ActingPolicy, dict[str, float]]:
    """The data policy of ``at_refit`` refitted with ``method``'s cpu schedule and fit variant ``fit``:
    the refitted policy (its encoder at the prior) and the refit's record."""
    sched = fit_variant(methods.get(method, "cpu").schedule, fit)
    trainer = Trainer.load(at_refit, progress=False, threads=1)
    total = 3 * trainer.config.total_steps  # stage 0 is a third of a GoRL run's budget
    record = refit_loaded(
        trainer, sched, stage=1, total_steps=total, seed=trainer.config.seed, episodes=False
    )
    return trainer.policy, record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--at-refit", type=Path, required=True, help="a run that stopped at the first refit")
    ap.add_argument("--decoders", type=Path, nargs="*", default=[], help="GoRL runs (decoders/stage1.pt)")
    ap.add_argument("--method", default="gorl-diff", help="whose cpu schedule --fits refit with")
    ap.add_argument("--fits", nargs="*", default=[], help="fit variants: steps:lr:schedule[:key=value,...]")
    ap.add_argument("--states-from", type=Path, nargs="*", default=[], help="runs whose final states to use")
    ap.add_argument("--states", type=int, default=128)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/refit_reach.md"))
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/refit_reach.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    data = Trainer.load(args.at_refit, progress=False, threads=1)
    norm = data.learner.observation_norm  # type: ignore[attr-defined]
    raws = {"refit": raw_states(data, args.states)}
    raws |= {
        str(run): raw_states(Trainer.load(run, progress=False, threads=1), args.states)
        for run in args.states_from
    }
    # per source, once: the states as the policies see them, the data policy's spread there, and the random
    # state each comparison starts from (as if drawn right after the spread, for every candidate alike)
    sources: dict[str, tuple[Tensor, float, Tensor]] = {}
    for name, raw in raws.items():
        obs = norm(raw.double()).float() if norm is not None else raw
        torch.manual_seed(1)
        spread = data.policy.act(obs.repeat_interleave(256, 0))["raw_action"].reshape(len(obs), 256, -1)
        sources[name] = (obs, float(spread.std(1).mean()), torch.get_rng_state())
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

    def candidates() -> Iterator[tuple[str, ActingPolicy]]:  # one at a time: rows are written as they come
        for run in args.decoders:
            decoder = snapshot.build(snapshot.read(run / "decoders" / "stage1.pt"))
            yield str(run), CompositePolicy(prior, decoder, data.policy.action_low, data.policy.action_high)
        for fit in args.fits:
            policy, record = refitted(args.at_refit, args.method, fit)
            yield f"{args.method} {fit} (fit {record['fit_wall_time']:.0f} s)", policy

    for label, policy in candidates():
        for name, (obs, spread, rng) in sources.items():
            torch.set_rng_state(rng)
            f = action_fidelity(data.policy, policy, obs)
            row = (
                f"| {label} | {name} | {spread:.3f} | {f.mean_error:.3f} "
                f"| {f.spread_ratio:.2f} | {f.det_error:.3f} | {f.energy_distance:.3f} |"
            )
            emit(args.out, head, rows, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
