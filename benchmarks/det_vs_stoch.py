"""The deterministic policy against the stochastic one at the end of each run, per task and arm.

A run's evaluations act with the latent mean (``deterministic``, the paper's protocol); its training
returns are the stochastic policy's finished episodes, far more of them. Over the span of a run's last
``--evals`` evaluations (from the evaluation before them to the end) this prints, as means over seeds:

* ``det``: the mean of those evaluations' returns;
* ``stoch``: the mean training return over the same env steps (the first after each refit left out:
  ``gorl.report.load.training_returns``);
* ``det - stoch``: what acting with the latent mean gains or loses against sampling;
* ``latent std``: the encoder's std per latent dim over the same span, as the geometric mean of its
  ``exp(entropy / dim - 0.5 * log(2 pi e))``. For ``ppo`` the latent is the action (before the squash);
  for a GoRL run after a refit, one unit of latent is about one std of the data policy's spread in
  action space (``docs/gorl.md``), so 1.0 there is the prior. SAC runs (their records carry ``alpha``)
  log under ``entropy`` the score alpha is tuned on (the squashed action's entropy for ``sac``, minus
  the latent's KL to N(0, I) for GoRL(SAC)), which sits at its target and says nothing of the std: their
  cells print ``n/a`` there.

    python benchmarks/det_vs_stoch.py benchmarks/results/gorl_paired_1m --arms ppo gorl-fm gorl-diff \\
        --out benchmarks/results/gorl_paired_1m/det_vs_stoch.md
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path
from typing import Any

from gorl.checkpoint import atomic_write_text
from gorl.envs import make_env
from gorl.report.load import load_records, training_returns

_GAUSS_ENTROPY = 0.5 * math.log(2 * math.pi * math.e)  # per dim, at std 1


def end_of_run(records: list[dict[str, Any]], evals: int, dim: int) -> dict[str, float | None] | None:
    """``det``, ``stoch`` and ``std`` of one run over its last ``evals`` evaluations' span (None when the
    run has fewer than ``evals + 1`` evaluations; ``std`` None for a SAC run, whose ``entropy`` is the
    score alpha is tuned on, not the latent's entropy)."""
    ev = [r for r in records if r["kind"] == "eval"]
    if len(ev) < evals + 1:
        return None
    lo = int(ev[-evals - 1]["env_steps"])
    its = [r for r in records if r["kind"] == "iteration" and r["env_steps"] > lo]
    train = [value for steps, value in training_returns(records) if steps > lo]
    entropy = [r["entropy"] for r in its if r.get("entropy") is not None]
    if not train or not entropy:
        return None
    return {
        "det": statistics.mean(r["return_mean"] for r in ev[-evals:]),
        "stoch": statistics.mean(train),
        "std": None
        if any("alpha" in r for r in its)
        else math.exp(statistics.mean(entropy) / dim - _GAUSS_ENTROPY),
    }


def table(root: Path, arms: list[str], evals: int) -> str:
    tasks = sorted(p.name for p in (root / "runs").iterdir() if p.is_dir())
    head = "| task | " + " | ".join(f"{a}: det / stoch (det - stoch), latent std" for a in arms) + " |"
    lines = [head, "|---|" + "---|" * len(arms)]
    for task in tasks:
        env = make_env(task, 1)
        dim = env.action_dim
        env.close()
        cells = []
        for arm in arms:
            finished = [
                d for d in sorted((root / "runs" / task / arm).glob("s*")) if (d / "summary.json").exists()
            ]
            runs = [end_of_run(load_records(d), evals, dim) for d in finished]
            done = [r for r in runs if r is not None]
            if not done:
                cells.append("-")
                continue
            det, stoch = (statistics.mean(r[k] for r in done) for k in ("det", "stoch"))
            stds = [r["std"] for r in done if r["std"] is not None]
            std = f"{math.exp(statistics.mean(math.log(v) for v in stds)):.2f}" if stds else "n/a"
            cells.append(f"{det:.0f} / {stoch:.0f} ({det - stoch:+.0f}), {std} [{len(done)} runs]")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="a suite's results directory (finished runs only)")
    ap.add_argument("--arms", nargs="+", required=True, help="method labels")
    ap.add_argument("--evals", type=int, default=3, help="how many of the last evaluations (default 3)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = ap.parse_args(argv)
    text = table(args.dir, args.arms, args.evals)
    print(text)
    if args.out is not None:
        command = (
            f"python benchmarks/det_vs_stoch.py {args.dir} --arms {' '.join(args.arms)} --evals {args.evals}"
        )
        atomic_write_text(
            args.out, f"`{command}`\n\n{__doc__.split(chr(10) + chr(10) + '    python')[0]}\n\n{text}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
