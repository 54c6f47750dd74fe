"""Loading a trained run read-only, the fixed states of the action figure, and actions drawn there."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gorl.checkpoint import CheckpointError, rng_state, set_rng_state

CHUNK = 4096  # actions drawn per policy call (fixed: the draws for a seed do not depend on n's split)


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


def as_states(states: Any, obs_dim: int) -> np.ndarray:
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
def warmup_states(run: LoadedRun, count: int, warmup_steps: int) -> np.ndarray:
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
def draw_actions(run: LoadedRun, states: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``(k, n, action_dim)`` env-space actions of ``run``'s behaviour policy at raw ``states (k,
    obs_dim)``; torch is seeded with ``seed`` once, the states are sampled in order."""
    if n < 1:
        raise ValueError(f"n must be a positive int, got {n}")
    tr = run.trainer
    states = as_states(states, tr.env.obs_dim)
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
        return warmup_states(run, count, warmup_steps)


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
        return draw_actions(run, states, n, seed)
