"""Shared checks of the cheetah, walker and hopper ports: registry, shapes, initial-state distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gorl.envs.tasks import get_port, load_model, make_port
from gorl.envs.tasks.cheetah import CheetahRun
from gorl.envs.tasks.hopper import HopperStand
from gorl.envs.tasks.walker import WalkerWalk

# name, port class, (obs_dim, action_dim, settle_steps), observation keys in dm_control's order
PORTS = [
    ("cheetah-run", CheetahRun, (17, 6, 200), ["position", "velocity"]),
    ("walker-walk", WalkerWalk, (24, 6, 0), ["orientations", "height", "velocity"]),
    ("hopper-stand", HopperStand, (15, 4, 0), ["position", "velocity", "touch"]),
]


@pytest.mark.parametrize(("name", "cls", "dims", "keys"), PORTS)
def test_registered_and_shapes(name, cls, dims, keys):
    assert get_port(name) is cls
    port = make_port(name, load_model(name))
    assert (port.obs_dim, port.action_dim, port.settle_steps) == dims
    assert [k for k, _ in port.obs_spec] == keys


@pytest.mark.parametrize("name", [p[0] for p in PORTS])
def test_initial_state_distribution_matches_dm_control(name, dmc_initial_qpos, assert_same_uniform_draws):
    mj_model = load_model(name)
    port = make_port(name, mj_model)
    nq, nv = mj_model.nq, mj_model.nv
    qpos0 = torch.as_tensor(mj_model.qpos0, dtype=torch.float32).expand(4000, -1)
    qpos, qvel, task_state = port.initial_state(qpos0, torch.Generator().manual_seed(0))
    assert qpos.dtype == torch.float32 and qpos.shape == (4000, nq) and task_state == {}
    assert torch.equal(qvel, torch.zeros(4000, nv))
    dmc = dmc_initial_qpos(name, 1500, seed=0)
    assert_same_uniform_draws(qpos.double().numpy(), dmc, mj_model.qpos0)
    # Same generator seed, same draws.
    again, _, _ = port.initial_state(qpos0, torch.Generator().manual_seed(0))
    assert torch.equal(qpos, again)


def _rewarding(rollout):
    return np.nanmax(rollout.rewards) > 0.01  # the reward check is not vacuous


def _touching(rollout):
    # random actions never stand the hopper up (reward 0 throughout; test_tasks_hopper checks standing
    # states), but its touch sensors must fire
    return rollout.observations[:, -2:].max() > 1.0


@pytest.mark.parametrize(
    ("name", "reaches"),
    [("cheetah-run", _rewarding), ("walker-walk", _rewarding), ("hopper-stand", _touching)],
)
def test_observation_and_reward_match_dm_control(name, reaches, dmc_rollout, port_parity_errors):
    # 300 random-action steps from 3 episodes: reset states and states deep into each episode.
    rollout = dmc_rollout(name, 300, seed=1, reset_every=100)
    port = make_port(name, load_model(name))
    obs_err, rew_err = port_parity_errors(port, rollout)
    # float32 reads of float64 state: velocities reach ~20-30, so a few ulp of float32 is ~1e-5.
    assert obs_err < 1e-5, obs_err
    assert rew_err < 1e-6, rew_err
    assert reaches(rollout)
