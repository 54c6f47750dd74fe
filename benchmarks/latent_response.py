"""How far a refitted decoder moves the action when the encoder moves the latent: the latent's gain.

After a refit the encoder starts at the prior and PPO (or SAC) moves its latent mean. An ideal coupled
refit of a Gaussian data policy decodes ``g(s, z) = mu(s) + sigma(s) z``: moving the latent mean by d
along axis k moves action k's mean by ``sigma_k(s) d``, one data-policy spread per unit of latent, the
scale the anchored encoder reset assumes (``docs/gorl.md``). A decoder that reproduces the action
distribution but compresses or bends this map makes every encoder step move the policy less (or
elsewhere) than the stage expects. For each decoder snapshot of a run (``<run>/decoders/stage<k>.pt``)
this script measures, on states the run's final policy visits (normalised by its final statistics):

* ``gain``: ``(E_z g(s, z + d e_k)_k - E_z g(s, z - d e_k)_k) / (2 d spread_k(s))``, the action mean's
  response to a latent mean shift of ``d`` along axis k, in units of the decoded spread at the state
  (the std of ``g(s, z)_k`` over ``z ~ N(0, I)``); 1 for the ideal map, median and 10th percentile over
  states and dims;
* ``gain at 1.5``: the same response around a latent mean of 1.5 along axis k (where a stage's encoder
  goes once it has moved), over the response at 0;
* ``cross``: the mean |response of action j != k| over the response of action k (0 for a diagonal map);
* ``linear R2``: the share of the decoded actions' variance a per-state linear map of z explains.

    python benchmarks/latent_response.py benchmarks/results/gorl_paired/runs/cheetah-run/gorl-*/s0 \\
        --out benchmarks/results/latent_response.md

Common random numbers: every shift uses the same draws of z. Prints a table and writes it as rows
arrive.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch import Tensor

from gorl.decoders import snapshot
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.train import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refit_fidelity import emit


@torch.no_grad()
def latent_response(
    decoder: GenerativeDecoder, obs: Tensor, *, draws: int = 256, delta: float = 0.5, seed: int = 0
) -> dict[str, float]:
    """The latent-gain figures of ``decoder`` at ``obs (M, obs_dim)``; see the module docstring."""
    gen = torch.Generator().manual_seed(seed)
    m, k = obs.shape[0], decoder.latent_dim
    z = torch.randn(draws, k, generator=gen)
    states = obs.repeat_interleave(draws, dim=0)  # state-major: (M * draws, obs_dim)
    zs = z.repeat(m, 1)

    def decode(shift: Tensor) -> Tensor:  # (M, draws, action_dim) at latent z + shift
        return decoder.decode(states, zs + shift).reshape(m, draws, -1)

    base = decode(torch.zeros(k))
    spread = base.std(dim=1).clamp_min(1e-6)  # (M, action_dim)
    if k != base.shape[-1]:
        raise ValueError(f"latent_response needs latent_dim == action_dim, got {k} and {base.shape[-1]}")
    eye = torch.eye(k)

    def response(center: float) -> Tensor:  # (M, k, action_dim): d E[a_j] / d mu_k in spread units
        out = []
        for i in range(k):
            hi = decode((center + delta) * eye[i]).mean(1)
            lo = decode((center - delta) * eye[i]).mean(1)
            out.append((hi - lo) / (2 * delta * spread))
        return torch.stack(out, dim=1)

    r0, r15 = response(0.0), response(1.5)
    diag0, diag15 = r0.diagonal(dim1=1, dim2=2), r15.diagonal(dim1=1, dim2=2)  # (M, k)
    off = r0.abs().sum(dim=2) - diag0.abs()  # sum over j != k of |response of a_j to mu_k|
    cross = off / (k - 1) / diag0.abs().clamp_min(1e-6) if k > 1 else torch.zeros_like(diag0)
    zc = z - z.mean(0)
    ac = base - base.mean(1, keepdim=True)  # (M, draws, action_dim)
    coef = torch.linalg.lstsq(zc.expand(m, -1, -1), ac).solution  # (M, k, action_dim)
    resid = ac - zc @ coef
    r2 = 1 - resid.pow(2).sum(1) / ac.pow(2).sum(1).clamp_min(1e-12)
    return {
        "gain_median": float(diag0.median()),
        "gain_p10": float(diag0.flatten().quantile(0.1)),
        "gain_at_1.5": float((diag15 / diag0.abs().clamp_min(1e-6)).median()),
        "cross": float(cross.median()),
        "linear_r2": float(r2.median()),
    }


def run_rows(run: Path, states: int, draws: int, delta: float) -> list[tuple[str, dict[str, float]]]:
    """``(snapshot name, figures)`` for every decoder snapshot of ``run``, at ``states`` states its final
    policy visits (collected under a fixed seed)."""
    trainer = Trainer.load(run, progress=False, threads=1)
    torch.manual_seed(0)
    obs, _ = trainer.learner.decoder_data(states)
    rows = []
    for path in sorted((run / "decoders").glob("stage*.pt")):
        decoder = snapshot.build(snapshot.read(path))
        rows.append((path.stem, latent_response(decoder, obs.cpu(), draws=draws, delta=delta)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="GoRL run directories (final checkpoint, decoders/)")
    ap.add_argument("--states", type=int, default=64)
    ap.add_argument("--draws", type=int, default=256)
    ap.add_argument("--delta", type=float, default=0.5, help="latent mean shift each way")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/latent_response.md"))
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/latent_response.py", *(sys.argv[1:] if argv is None else argv)])
    torch.set_num_threads(1)
    head = [
        "# The latent's gain through refitted decoders",
        "",
        f"`{command}`; load average at start {os.getloadavg()[0]:.1f} (2 cores). {args.states} states the "
        f"run's final policy visits x {args.draws} latents, shifts of +-{args.delta}; gain 1 is one "
        "decoded spread per unit of latent mean (the ideal coupled refit of a Gaussian policy).",
        "",
        "| run | decoder | gain (median) | gain (10th pct) | gain at 1.5 / at 0 | cross | linear R2 |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for run in args.runs:
        for name, r in run_rows(run, args.states, args.draws, args.delta):
            row = (
                f"| {run} | {name} | {r['gain_median']:.2f} | {r['gain_p10']:.2f} | {r['gain_at_1.5']:.2f} "
                f"| {r['cross']:.2f} | {r['linear_r2']:.2f} |"
            )
            emit(args.out, head, rows, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
