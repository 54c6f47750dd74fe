"""Shared fixtures for the environment tests: real dm_control rollouts to compare task ports with.

``dmc_rollout(name, num_steps, seed=0, reset_every=None)`` steps dm_control's own environment with
uniform random actions in ``[-1, 1]`` and records, at the reset state and after every step, a verbatim copy
of the physics (the model copied once per episode, so per-episode edits such as finger targets are kept), the
flattened observation and the reward (NaN at reset states). Results are cached per argument tuple.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "disable")


@dataclass(frozen=True)
class DmcRollout:
    """States of one dm_control rollout; T recorded states.

    Attributes:
        env: the dm_control environment (its ``task`` is the reference task object).
        physics: T physics copies, one per recorded state.
        observations: ``(T, obs_dim)`` float64, flattened in dm_control's dict order.
        rewards: ``(T,)`` float64; NaN at reset states (dm_control gives none there).
        first: ``(T,)`` bool, True at reset states.
        actions: ``(T, action_dim)`` the action that led to each state (zeros at reset states).
    """

    env: Any
    physics: list[Any]
    observations: np.ndarray
    rewards: np.ndarray
    first: np.ndarray
    actions: np.ndarray


def flatten_observation(obs: dict[str, Any]) -> np.ndarray:
    """dm_control's observation dict flattened in its order (scalars become length 1)."""
    return np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in obs.values()])


@functools.lru_cache(maxsize=32)
def _rollout(name: str, num_steps: int, seed: int, reset_every: int | None) -> DmcRollout:
    import mujoco
    from dm_control import suite

    domain, _, task = name.partition("-")
    env = suite.load(domain, task, task_kwargs={"random": seed})
    rng = np.random.default_rng(seed)
    spec = env.action_spec()
    physics, obs, rew, first, acts = [], [], [], [], []
    episode_model: list[Any] = [None]

    def record(ts: Any, action: np.ndarray, is_first: bool) -> None:
        # One model copy per episode (dm_control may edit the model at reset), shared by its states.
        if is_first:
            episode_model[0] = env.physics.copy(share_model=False)
        snapshot = episode_model[0].copy(share_model=True)
        # Physics.copy recomputes derived fields (acceleration-stage sensors such as touch change), so
        # copy the data again verbatim.
        mujoco.mj_copyData(snapshot.data.ptr, snapshot.model.ptr, env.physics.data.ptr)
        physics.append(snapshot)
        obs.append(flatten_observation(ts.observation))
        rew.append(np.nan if ts.reward is None else float(ts.reward))
        first.append(is_first)
        acts.append(action)

    zero = np.zeros(spec.shape, dtype=np.float64)
    record(env.reset(), zero, True)
    for t in range(1, num_steps + 1):
        if reset_every is not None and t % reset_every == 0:
            record(env.reset(), zero, True)
            continue
        action = rng.uniform(spec.minimum, spec.maximum).astype(np.float64)
        ts = env.step(action)
        record(ts, action, False)
        if ts.last():
            record(env.reset(), zero, True)
    return DmcRollout(env, physics, np.stack(obs), np.asarray(rew), np.asarray(first), np.stack(acts))


def _dmc_initial_qpos(name: str, num: int, seed: int = 0) -> np.ndarray:
    """``(num, nq)`` qpos drawn by dm_control's own ``initialize_episode``, before any settling.

    ``physics.step`` is disabled while sampling, so cheetah's 200 settle steps are skipped and the
    draws are the randomised joints themselves.
    """
    from dm_control import suite

    domain, _, task = name.partition("-")
    env = suite.load(domain, task, task_kwargs={"random": seed})
    physics = env.physics
    physics.step = lambda *args, **kwargs: None  # sampling only: no settling
    out = []
    for _ in range(num):
        with physics.reset_context():
            env.task.initialize_episode(physics)
        out.append(np.array(physics.data.qpos, dtype=np.float64))
    return np.stack(out)


def _port_parity_errors(port: Any, rollout: DmcRollout) -> tuple[float, float]:
    """Largest absolute observation and reward errors of ``port`` on every state of ``rollout``.

    The port reads float32 copies of the float64 dm_control state; rewards are compared where
    dm_control gives one (not at reset states).
    """
    import torch

    from gorl.envs.tasks.base import SimState

    sim = SimState.from_physics(rollout.physics)
    task_state = port.task_state_from_physics(rollout.physics)
    obs = port.observation(sim, task_state)
    rew = port.reward(sim, task_state)
    assert obs.dtype == torch.float32 and obs.shape == rollout.observations.shape, (obs.shape, obs.dtype)
    assert rew.shape == (len(rollout.physics),), rew.shape
    obs_err = np.abs(obs.double().numpy() - rollout.observations).max()
    mask = ~rollout.first
    rew_err = np.abs(rew.double().numpy()[mask] - rollout.rewards[mask]).max()
    return float(obs_err), float(rew_err)


def _assert_same_uniform_draws(port_qpos: np.ndarray, dmc_qpos: np.ndarray, qpos0: np.ndarray) -> None:
    """Column by column, the port's draws and dm_control's come from the same distribution.

    Constant columns must equal ``qpos0`` in both; varying columns must have the same support (min and
    max within 2% of the range) and means within 5 standard errors, standard deviations within 8%.
    """
    for j in range(dmc_qpos.shape[1]):
        p, d = port_qpos[:, j], dmc_qpos[:, j]
        if np.ptp(d) == 0.0:
            np.testing.assert_allclose(d, qpos0[j])
            np.testing.assert_allclose(p, qpos0[j], atol=1e-7, err_msg=f"column {j} should stay at qpos0")
            continue
        span = np.ptp(d)
        assert abs(p.min() - d.min()) < 0.02 * span and abs(p.max() - d.max()) < 0.02 * span, (j, p, d)
        se = np.sqrt(p.var() / len(p) + d.var() / len(d))
        assert abs(p.mean() - d.mean()) < 5 * se, (j, p.mean(), d.mean(), se)
        assert abs(p.std() / d.std() - 1.0) < 0.08, (j, p.std(), d.std())


@pytest.fixture(scope="session")
def dmc_rollout() -> Callable[..., DmcRollout]:
    """``dmc_rollout(name, num_steps, seed=0, reset_every=None) -> DmcRollout`` (cached)."""

    def run(name: str, num_steps: int, seed: int = 0, reset_every: int | None = None) -> DmcRollout:
        return _rollout(name, num_steps, seed, reset_every)

    return run


@pytest.fixture(scope="session")
def dmc_initial_qpos() -> Callable[..., np.ndarray]:
    """``dmc_initial_qpos(name, num, seed=0) -> (num, nq)``: dm_control's own initial joint draws."""
    return _dmc_initial_qpos


@pytest.fixture(scope="session")
def port_parity_errors() -> Callable[[Any, DmcRollout], tuple[float, float]]:
    """``port_parity_errors(port, rollout) -> (max obs error, max reward error)``."""
    return _port_parity_errors


@pytest.fixture(scope="session")
def assert_same_uniform_draws() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """``assert_same_uniform_draws(port_qpos, dmc_qpos, qpos0)``: same per-column distribution."""
    return _assert_same_uniform_draws
