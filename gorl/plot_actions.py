"""The action distribution of trained policies at a fixed state (the GoRL paper's Figure 7).

The paper: "we fix a representative state, sample 10,000 actions from each trained policy, project
actions to 1D using PCA, and estimate densities via Gaussian KDE with a bandwidth factor of 0.8. The
same pipeline is applied to all methods for fair comparison." It shows GoRL's policy becoming
multimodal while Gaussian PPO's stays unimodal.

Pipeline here:

* ``fixed_states``: the run's own policy, deterministic (mean latent), in its evaluation env from the
  evaluation's fixed start, for ``warmup_steps`` steps; the observation there is the state (so it lies
  on the policy's own path).
* ``sample_actions``: ``n`` env-space actions drawn at that state by each run's behaviour policy (the
  actor its optimiser collects with: the composite ``z ~ encoder``, ``a = squash(decode(s, z))`` for
  PPO, GoRL, SAC and FPO; DPPO's stochastic denoising chain for DPPO).
* ``action_density_figure``: one PCA on the pooled actions of all runs (a shared axis), projection to
  1-D, a Gaussian KDE per run with ``bw_method = bandwidth * scott_factor`` (0.8 x Scott's rule), one
  line per run; the number of modes per run goes to a JSON file beside the PNG.

``main_plot_actions`` is the ``gorl plot actions RUN [RUN ...] --out FILE`` command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from gorl.checkpoint import CheckpointError, atomic_write_json, rng_state, set_rng_state
from gorl.plots import pyplot, save_figure

FloatArray = npt.NDArray[np.float64]
CHUNK = 4096  # actions drawn per policy call (fixed: the draws for a seed do not depend on n's split)
MODE_HEIGHT = 0.05  # a mode is a local maximum of the KDE above this fraction of its peak
GRID = 1024  # KDE evaluation points per curve


# -- loading a run ---------------------------------------------------------------------------------


@dataclass
class LoadedRun:
    """A run rebuilt from its directory: what sampling and warm-up need.

    Attributes:
        run_dir: the run directory.
        train: the ``train`` section of its ``config.json``.
        trainer: the ``gorl.train.Trainer`` from ``Trainer.load`` (read-only: policy, learner, envs).
    """

    run_dir: Path
    train: dict[str, Any]
    trainer: Any

    @property
    def task(self) -> str:
        """The run's task, e.g. ``"cheetah-run"``."""
        return str(self.train["task"])

    def actor(self) -> Any:
        """The behaviour policy the optimiser collects with (``learner.term.actor(policy)``: the
        composite, or DPPO's ``DenoisingActor``); the composite where the learner has no ratio term."""
        term = getattr(self.trainer.learner, "term", None)
        return term.actor(self.trainer.policy) if term is not None else self.trainer.policy

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations ``(*B, obs_dim)`` as the policy sees them (the run's running normaliser)."""
        return self.trainer.learner.normalize(obs)  # type: ignore[no-any-return]


def check_run_dir(run_dir: str | Path) -> dict[str, Any]:
    """The ``train`` section of ``run_dir/config.json``; raises ``FileNotFoundError`` for a missing
    directory, ``CheckpointError`` for one without ``config.json`` or ``checkpoint.pt``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    cfg = run_dir / "config.json"
    if not cfg.exists():
        raise CheckpointError(f"{run_dir} is not a run directory (no config.json)")
    if not (run_dir / "checkpoint.pt").exists():
        raise CheckpointError(f"{run_dir} has no checkpoint.pt (the run has not written one yet)")
    return dict(json.loads(cfg.read_text())["train"])


@contextlib.contextmanager
def _kept_global_state() -> Iterator[None]:
    """Restores torch's, numpy's and random's global RNGs and torch's thread count on exit: loading a
    run seeds them (``Trainer``), sampling reseeds torch's."""
    state, threads = rng_state(), torch.get_num_threads()
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=cuda):
            yield
    finally:
        set_rng_state(state)
        torch.set_num_threads(threads)


@contextlib.contextmanager
def load_run(run_dir: str | Path) -> Iterator[LoadedRun]:
    """Rebuilds the run in ``run_dir`` (config and checkpoint) with ``Trainer.load``, which writes nothing
    into it (a run still training there is not disturbed), and closes its envs on exit. The caller's
    global RNG state and thread count are kept."""
    from gorl.train import Trainer

    train = check_run_dir(run_dir)
    with _kept_global_state():
        trainer = Trainer.load(run_dir, progress=False)
        try:
            yield LoadedRun(Path(run_dir), train, trainer)
        finally:
            for env in (trainer.env, trainer.eval_env):
                with contextlib.suppress(Exception):
                    env.close()


# -- states and actions ----------------------------------------------------------------------------


def _as_states(states: Any, obs_dim: int) -> np.ndarray:
    """``states`` ``(obs_dim,)`` or ``(k, obs_dim)`` as float32 ``(k, obs_dim)``."""
    arr = np.asarray(states, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != obs_dim or arr.shape[0] == 0:
        raise ValueError(
            f"states must have shape (obs_dim,) or (k, obs_dim) with obs_dim={obs_dim}, got "
            f"{np.asarray(states).shape}"
        )
    return arr


@torch.no_grad()
def _warmup_states(run: LoadedRun, count: int, warmup_steps: int) -> np.ndarray:
    """``(count, obs_dim)``: the first ``count`` evaluation episodes' observations after ``warmup_steps``
    deterministic steps of ``run``'s policy from the evaluation's fixed start."""
    tr = run.trainer
    env = tr.eval_env
    if not 1 <= count <= env.num_envs:
        raise ValueError(f"count must be in [1, eval_envs={env.num_envs}] (one state per eval episode)")
    if not 0 <= warmup_steps < tr.eval_length:
        raise ValueError(
            f"warmup_steps must be in [0, {tr.eval_length}) (the run's evaluation episode length)"
        )
    from gorl.interfaces.keys import ACTION, OBSERVATION

    env.load_env_state(tr.eval_start)
    td = env.reset()
    for _ in range(warmup_steps):
        obs = td[OBSERVATION].to(tr.device)
        td[ACTION] = tr.policy.act(run.normalize(obs), deterministic=True)["action"].to(env.device)
        _, td = env.step_and_maybe_reset(td)
    return td[OBSERVATION][:count].cpu().numpy().astype(np.float32)  # type: ignore[no-any-return]


@torch.no_grad()
def _draw(run: LoadedRun, states: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``(k, n, action_dim)`` env-space actions of ``run``'s behaviour policy at raw ``states (k,
    obs_dim)``; torch is seeded with ``seed`` once, the states are sampled in order."""
    if n < 1:
        raise ValueError(f"n must be a positive int, got {n}")
    tr = run.trainer
    states = _as_states(states, tr.env.obs_dim)
    actor = run.actor()
    torch.manual_seed(seed)
    if tr.device.type == "cuda":
        torch.cuda.manual_seed_all(seed)
    out = np.empty((states.shape[0], n, tr.env.action_dim), dtype=np.float32)
    for k, s in enumerate(states):
        obs = run.normalize(torch.as_tensor(s, device=tr.device))
        for a in range(0, n, CHUNK):
            m = min(CHUNK, n - a)
            out[k, a : a + m] = actor.act(obs.expand(m, -1), deterministic=False)["action"].cpu().numpy()
    return out


def fixed_states(run_dir: str | Path, count: int = 1, warmup_steps: int = 200, seed: int = 0) -> np.ndarray:
    """Representative states ``(count, obs_dim)`` (raw observations, float32) on the run's own path.

    The run's policy acts deterministically (mean latent) in its evaluation env from the evaluation's
    fixed start (the same episodes every evaluation of the run starts from) for ``warmup_steps`` steps
    (``< `` the evaluation episode length); state ``i`` is evaluation episode ``i``'s observation there
    (``count <= eval_envs``). ``seed`` seeds torch for the rollout (the deterministic policy draws nothing
    in the built-in methods; the env's start comes from the run's seed).
    """
    with load_run(run_dir) as run:
        torch.manual_seed(seed)
        return _warmup_states(run, count, warmup_steps)


def sample_actions(run_dir: str | Path, states: Any, n: int = 10_000, seed: int = 0) -> np.ndarray:
    """``n`` actions per state from the run's trained policy: ``(k, n, action_dim)`` float32 in env
    space (inside the action bounds, ``[-1, 1]`` in dm_control).

    Args:
        run_dir: a run directory (``config.json`` and ``checkpoint.pt``).
        states: raw (unnormalised) observations ``(obs_dim,)`` or ``(k, obs_dim)``; the run's observation
            normaliser is applied here.
        n: actions per state.
        seed: seeds torch before the first draw (same seed, same actions); the caller's RNG is kept.

    The actions come from the actor the run's optimiser collects with: ``z ~ encoder(s)``,
    ``a = squash(decode(s, z))`` (``CompositePolicy.act``) for PPO, GoRL, SAC and FPO, and DPPO's
    stochastic denoising chain (``gorl.algos.dppo.term.DenoisingActor``) for DPPO.
    """
    with load_run(run_dir) as run:
        return _draw(run, states, n, seed)


# -- projection, density, modes --------------------------------------------------------------------


def pca_axis(actions: np.ndarray) -> tuple[FloatArray, FloatArray, float]:
    """The first principal axis of ``actions (M, D)``: ``(mean (D,), axis (D,), explained variance
    ratio)``. The axis has unit length and its largest-magnitude component positive (a fixed sign)."""
    x = np.asarray(actions, dtype=np.float64).reshape(-1, np.shape(actions)[-1])
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    axis = vt[0]
    axis = axis * np.sign(axis[np.argmax(np.abs(axis))])
    total = float((s**2).sum())
    return mean, axis, float(s[0] ** 2 / total) if total > 0 else 1.0


def kde(x: np.ndarray, grid: np.ndarray, bandwidth: float = 0.8) -> FloatArray | None:
    """Gaussian KDE of the 1-D sample ``x (M,)`` evaluated on ``grid (G,)`` -> ``(G,)``.

    ``scipy.stats.gaussian_kde(x, bw_method=lambda k: bandwidth * k.scotts_factor())``: the kernel's
    std is ``bandwidth * M ** (-1/5) * std(x)``, i.e. Scott's rule scaled by ``bandwidth`` (0.8: a bit
    narrower than Scott's). None for a sample without spread (no density to estimate).
    """
    from scipy.stats import gaussian_kde

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size < 2 or not np.std(x) > 1e-12 * max(1.0, float(np.abs(x).max())):
        return None
    k = gaussian_kde(x, bw_method=lambda kd: bandwidth * kd.scotts_factor())
    return np.asarray(k(np.asarray(grid, dtype=np.float64)), dtype=np.float64)


def count_modes(density: np.ndarray, rel_height: float = MODE_HEIGHT) -> int:
    """Local maxima of a density on a grid ``(G,)`` that reach ``rel_height`` of its peak (a plateau
    counts once; an end point counts when it is above its neighbour)."""
    d = np.asarray(density, dtype=np.float64)
    if d.size == 0 or not d.max() > 0:
        return 0
    padded = np.concatenate([[-np.inf], d, [-np.inf]])
    modes, i = 0, 1
    while i <= d.size:
        j = i
        while j < d.size and padded[j + 1] == padded[i]:  # the plateau i..j
            j += 1
        if padded[i] > padded[i - 1] and padded[i] > padded[j + 1] and padded[i] >= rel_height * d.max():
            modes += 1
        i = j + 1
    return modes


def sample_modes(x: np.ndarray, bandwidth: float = 0.8, rel_height: float = MODE_HEIGHT) -> int:
    """Modes of the 1-D sample ``x (M,)``: ``count_modes`` of its ``kde`` on a grid over its range
    padded by three kernel widths (1 for a sample without spread)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    grid = _grid([x])
    density = kde(x, grid, bandwidth)
    return 1 if density is None else count_modes(density, rel_height)


def _grid(samples: Sequence[np.ndarray], points: int = GRID) -> FloatArray:
    """A grid over the union of the samples' ranges, padded by 3 Scott widths of the widest."""
    lo = min(float(s.min()) for s in samples)
    hi = max(float(s.max()) for s in samples)
    pad = 3 * max(float(s.std()) * s.size ** (-0.2) for s in samples)
    pad = pad if pad > 0 else 0.1
    return np.linspace(lo - pad, hi + pad, points)


# -- the figure ------------------------------------------------------------------------------------


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

    The JSON holds, per run, the modes per state (local maxima of its KDE above 5% of the peak), with
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
                states = _warmup_states(run, 1, warmup_steps)
                where = f"step {warmup_steps} of {label}'s deterministic episode"
            states = _as_states(states, run.trainer.env.obs_dim)
            actions[label] = _draw(run, states, n, seed)  # (k, n, action_dim)

    k = states.shape[0]  # type: ignore[union-attr]
    fig, axes = plt.subplots(1, k, figsize=(6 * k, 3.8), dpi=110, squeeze=False)
    modes: dict[str, list[int]] = {label: [] for label in runs}
    pcas: list[dict[str, Any]] = []
    for j in range(k):
        ax = axes[0, j]
        mean, axis, evr = pca_axis(np.concatenate([a[j] for a in actions.values()]))
        proj = {label: (a[j].astype(np.float64) - mean) @ axis for label, a in actions.items()}
        grid = _grid(list(proj.values()))
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
            "mode_threshold": MODE_HEIGHT,
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


# -- command line ----------------------------------------------------------------------------------


def run_labels(trains: Sequence[dict[str, Any]], dirs: Sequence[Path]) -> list[str]:
    """Method names, with ``(seed s)`` where a method repeats and the directory name where that repeats
    too."""
    methods = [str(t.get("method")) for t in trains]
    labels = [
        f"{m} (seed {t.get('seed')})" if methods.count(m) > 1 else m
        for m, t in zip(methods, trains, strict=True)
    ]
    return [
        f"{lab} [{d.name}]" if labels.count(lab) > 1 else lab for lab, d in zip(labels, dirs, strict=True)
    ]


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``gorl plot actions``."""
    ap = argparse.ArgumentParser(
        prog="gorl plot actions",
        description="Figure 7: the 1-D PCA density of each run's actions at one fixed state.",
    )
    ap.add_argument("runs", nargs="+", metavar="RUN", help="run directories (config.json, checkpoint.pt)")
    ap.add_argument(
        "--out",
        help="the PNG (default: actions.png in the first run's directory); the "
        "mode counts go beside it as .json",
    )
    ap.add_argument("--samples", type=int, default=10_000, help="actions per run (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the action draws (default 0)")
    ap.add_argument(
        "--warmup-steps",
        dest="warmup_steps",
        type=int,
        default=200,
        help="the state: this many deterministic steps of the first run's policy (default 200)",
    )
    ap.add_argument("--bandwidth", type=float, default=0.8, help="KDE factor of Scott's rule (default 0.8)")
    return ap


def main_plot_actions(argv: list[str]) -> int:
    """``gorl plot actions RUN [RUN ...] [--out FILE] [--samples N] [--seed S] [--warmup-steps K]``.

    Prints the PNG's path and each run's mode count; returns 0, or 1 with the reason on stderr.
    """
    args = parser().parse_args(argv)
    try:
        if args.samples < 2:
            raise ValueError(f"--samples must be at least 2, got {args.samples}")
        dirs = [Path(r) for r in args.runs]
        trains = [check_run_dir(d) for d in dirs]
        tasks = sorted({str(t["task"]) for t in trains})
        if len(tasks) > 1:
            listing = ", ".join(f"{d}: {t['task']}" for d, t in zip(dirs, trains, strict=True))
            raise ValueError(f"the runs are on different tasks ({listing}); one figure needs one task")
        labels = run_labels(trains, dirs)
        out = Path(args.out) if args.out else dirs[0] / "actions.png"
        action_density_figure(
            dict(zip(labels, dirs, strict=True)),
            out,
            n=args.samples,
            bandwidth=args.bandwidth,
            seed=args.seed,
            warmup_steps=args.warmup_steps,
        )
    except (FileNotFoundError, CheckpointError, ValueError, ImportError) as e:
        print(f"gorl: {e}", file=sys.stderr)
        return 1
    numbers = json.loads(out.with_suffix(".json").read_text())
    print(f"wrote {out} and {out.with_suffix('.json')}")
    for label in labels:
        print(f"  {label}: {numbers['runs'][label]['modes'][0]} mode(s)")
    return 0


__all__ = [
    "LoadedRun",
    "action_density_figure",
    "check_run_dir",
    "count_modes",
    "fixed_states",
    "kde",
    "load_run",
    "main_plot_actions",
    "pca_axis",
    "run_labels",
    "sample_actions",
    "sample_modes",
]
