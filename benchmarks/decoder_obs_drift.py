"""How much a refitted decoder's actions move when the observation normaliser moves under it.

A decoder is fitted on observations normalised with the running statistics of its refit; with
``decoder_observations: running`` (the official code) it later reads them under the statistics of the
moment, which keep changing as the policy visits new states. This script decodes the same raw states
and latents both ways and reports the difference in units of the decoded spread:

* ``mean shift``: |E_z g(norm_now(s), z) - E_z g(norm_refit(s), z)| / spread, per state and action dim
  (median and 90th percentile): how far the policy's mean action moved without any encoder update;
* ``spread ratio``: the decoded spread under the current statistics over that under the refit's.

The refit's statistics come from a run that stopped exactly at the refit (``--at-refit``: a run of the
baseline with the budget of GoRL's stage 0, whose stage 0 it is, bit for bit; ``gorl train --method ppo
--total-steps <first refit>``); the current ones, the raw states and the decoders come from the GoRL runs'
final checkpoints and ``decoders/stage1.pt``.

    python benchmarks/decoder_obs_drift.py --at-refit runs/ppo-cheetah-167936 \\
        benchmarks/results/gorl_paired/runs/cheetah-run/gorl-{fm,diff}/s0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch import Tensor

from gorl.algos.running_norm import RunningNorm, moment_drift
from gorl.decoders import snapshot
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.train import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import emit, raw_states


@torch.no_grad()
def decoded_drift(
    decoder: GenerativeDecoder, raw: Tensor, then: RunningNorm, now: RunningNorm, draws: int = 256
) -> dict[str, float]:
    """The decoder's actions at raw states ``raw (M, obs_dim)`` read under ``now`` against ``then``."""
    gen = torch.Generator().manual_seed(0)
    m = raw.shape[0]
    z = torch.randn(m * draws, decoder.latent_dim, generator=gen)

    def actions(norm: RunningNorm) -> Tensor:
        obs = norm(raw.double()).float().repeat_interleave(draws, dim=0)
        return decoder.decode(obs, z).reshape(m, draws, -1)

    a0, a1 = actions(then), actions(now)
    spread0 = a0.std(dim=1).clamp_min(1e-6)
    shift = ((a1.mean(1) - a0.mean(1)).abs() / spread0).flatten()
    ratio = (a1.std(dim=1) / spread0).flatten()
    return {
        "shift_median": float(shift.median()),
        "shift_p90": float(shift.quantile(0.9)),
        "ratio_median": float(ratio.median()),
    }


def norm_of(trainer: Trainer, run: Path) -> RunningNorm:
    """The observation normaliser of ``run``, loaded as ``trainer``."""
    norm: RunningNorm | None = trainer.learner.observation_norm  # type: ignore[attr-defined]
    if norm is None:
        raise ValueError(f"{run} does not normalise observations")
    return norm


def load(run: Path) -> Trainer:
    return Trainer.load(run, progress=False, threads=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="GoRL runs (final checkpoint, decoders/stage1.pt)")
    ap.add_argument("--at-refit", type=Path, required=True, help="a run that stopped at their first refit")
    ap.add_argument("--states", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/decoder_obs_drift.md"))
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/decoder_obs_drift.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    then = norm_of(load(args.at_refit), args.at_refit)
    head = [
        "# A stage-1 decoder under the normaliser's later statistics",
        "",
        f"`{command}`; load average at start {os.getloadavg()[0]:.1f} (2 cores). {args.states} raw states "
        f"the run's final policy visits (normaliser count at the refit {int(then.count)}), 256 latents each; "
        "shifts in units of the decoded spread under the refit's statistics.",
        "",
        "| run | steps (refit -> now) | obs mean drift (max dim, refit stds) | obs std ratio (min-max) "
        "| action mean shift (median) | (90th pct) | spread ratio (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for run in args.runs:
        trainer = load(run)
        now, raw = norm_of(trainer, run), raw_states(trainer, args.states)
        decoder = snapshot.build(snapshot.read(run / "decoders" / "stage1.pt"))
        d = moment_drift(then.mean, then.var, now.mean, now.var, then.eps)
        r = decoded_drift(decoder, raw, then, now)
        row = (
            f"| {run} | {int(then.count):,} -> {int(now.count):,} | {d['obs_drift_mean']:.2f} "
            f"| {d['obs_drift_std_min']:.2f}-{d['obs_drift_std_max']:.2f} | {r['shift_median']:.2f} "
            f"| {r['shift_p90']:.2f} | {r['ratio_median']:.2f} |"
        )
        emit(args.out, head, rows, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
