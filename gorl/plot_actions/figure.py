"""The action figure: densities of the projected actions of several runs at the same states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gorl.checkpoint import atomic_write_json
from gorl.plot_actions.density import (
    MODE_HEIGHT,
    MODE_PROMINENCE,
    count_modes,
    kde,
    pca_axis,
    shared_grid,
)
from gorl.plot_actions.sample import as_states, check_run_dir, draw_actions, load_run, warmup_states
from gorl.plots import pyplot, save_figure


def action_density_figure(
    runs: dict[str, Path],
    out: Path,
    *,
    states: Any = None,
    n: int = 10_000,
    bandwidth: float = 0.8,
    seed: int = 0,
    warmup_steps: int = 200,
) -> Path:
    """Figure 7: the density of each run's actions at the same state, projected to 1-D.

    Args:
        runs: label -> run directory, all on the same task; the label names the line.
        out: the PNG to write (atomically); ``out.with_suffix(".json")`` gets the numbers.
        states: raw observations ``(obs_dim,)`` or ``(k, obs_dim)``, one panel each; None: one state,
            ``fixed_states`` of the first run (``warmup_steps`` deterministic steps of its policy).
        n: actions per run and state.
        bandwidth: KDE bandwidth as a factor of Scott's rule (``kde``).
        seed: seeds every run's draws (the same seed for each: common random numbers).
        warmup_steps: for ``states=None``.

    The PCA is fitted once per state on the pooled actions of all runs (equal numbers each), so every
    curve in a panel lies on the same axis and their positions and widths compare directly; the paper
    fits per run, which puts each curve on its own axis (the shapes, hence the mode counts, are what
    survive there). The axis's sign is fixed (largest component positive). Densities are
    ``scipy.stats.gaussian_kde`` with ``bw_method = bandwidth * scotts_factor``.

    The JSON holds, per run, the modes per state (``count_modes``: local maxima of its KDE above 5% of
    the peak that stand out by a quarter of their height), with
    the task, the states and the PCA's axes and explained variance ratios. Returns ``out``.
    """
    if not runs:
        raise ValueError("no runs to plot")
    plt = pyplot()
    if plt is None:
        raise ImportError("the action figure needs matplotlib: pip install 'gorl[plot]'")
    out = Path(out)
    if out.suffix == ".json":
        raise ValueError(f"out={out} is the PNG; the numbers go to the .json beside it")
    trains = {label: check_run_dir(d) for label, d in runs.items()}
    tasks = {t["task"] for t in trains.values()}
    if len(tasks) > 1:
        listing = ", ".join(f"{label}: {t['task']}" for label, t in trains.items())
        raise ValueError(f"the runs are on different tasks ({listing}); one figure needs one task")
    task = tasks.pop()
    where = "given state"
    actions: dict[str, np.ndarray] = {}
    for i, (label, run_dir) in enumerate(runs.items()):
        with load_run(run_dir) as run:
            if i == 0 and states is None:
                torch.manual_seed(seed)
                states = warmup_states(run, 1, warmup_steps)
                where = f"step {warmup_steps} of {label}'s deterministic episode"
            states = as_states(states, run.trainer.env.obs_dim)
            actions[label] = draw_actions(run, states, n, seed)  # (k, n, action_dim)

    k = states.shape[0]  # type: ignore[union-attr]
    fig, axes = plt.subplots(1, k, figsize=(6 * k, 3.8), dpi=110, squeeze=False)
    modes: dict[str, list[int]] = {label: [] for label in runs}
    pcas: list[dict[str, Any]] = []
    for j in range(k):
        ax = axes[0, j]
        mean, axis, evr = pca_axis(np.concatenate([a[j] for a in actions.values()]))
        proj = {label: (a[j].astype(np.float64) - mean) @ axis for label, a in actions.items()}
        grid = shared_grid(list(proj.values()))
        pcas.append({"mean": mean.tolist(), "axis": axis.tolist(), "explained_variance_ratio": evr})
        for label, x in proj.items():
            density = kde(x, grid, bandwidth)
            m = 1 if density is None else count_modes(density)
            modes[label].append(m)
            name = f"{label} ({m} mode{'s' if m != 1 else ''})"
            if density is None:  # no spread: a point mass
                ax.axvline(float(x.mean()), linestyle="--", label=name + ", no spread")
            else:
                ax.plot(grid, density, label=name)
        ax.set_xlabel(f"action PC 1 (shared by all runs, {evr:.0%} of the pooled variance)")
        ax.set_ylabel("density")
        ax.set_title(f"{task}: {where}" + (f", state {j}" if k > 1 else ""), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(
        f"actions at a fixed state: {n} samples per policy, Gaussian KDE ({bandwidth} x Scott)", fontsize=10
    )
    save_figure(plt, fig, out)
    atomic_write_json(
        out.with_suffix(".json"),
        {
            "task": task,
            "state": where,
            "states": np.asarray(states).tolist(),
            "samples": n,
            "seed": seed,
            "bandwidth": {"factor_of_scott": bandwidth},
            "mode_threshold": {"height": MODE_HEIGHT, "prominence": MODE_PROMINENCE},
            "pca": {"fitted_on": "pooled actions of all runs, per state", "per_state": pcas},
            "runs": {
                label: {
                    "run_dir": str(runs[label]),
                    "method": trains[label].get("method"),
                    "seed": trains[label].get("seed"),
                    "modes": modes[label],
                }
                for label in runs
            },
        },
    )
    return out
