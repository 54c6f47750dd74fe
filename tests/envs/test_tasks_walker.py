"""walker-walk port vs dm_control itself: observations, rewards and the initial-state distribution."""

from __future__ import annotations

import numpy as np
import torch

from gorl.envs.tasks import get_port, load_model, make_port
from gorl.envs.tasks.walker import WalkerWalk

NAME = "walker-walk"


def test_registered_and_shapes():
    assert get_port(NAME) is WalkerWalk
    port = make_port(NAME, load_model(NAME))
    assert (port.obs_dim, port.action_dim, port.settle_steps) == (24, 6, 0)
    assert [k for k, _ in port.obs_spec] == ["orientations", "height", "velocity"]


def test_observation_and_reward_match_dm_control(dmc_rollout, port_parity_errors):
    # 300 random-action steps from 3 episodes: reset states and states deep into each episode.
    rollout = dmc_rollout(NAME, 300, seed=1, reset_every=100)
    port = make_port(NAME, load_model(NAME))
    obs_err, rew_err = port_parity_errors(port, rollout)
    # float32 reads of float64 state: velocities reach ~30, so a few ulp of float32 is ~1e-5.
    assert obs_err < 1e-5, obs_err
    assert rew_err < 1e-6, rew_err
    # The rollout must reach rewarding states, or the reward check is vacuous.
    assert np.nanmax(rollout.rewards) > 0.01


def test_initial_state_distribution_matches_dm_control(dmc_initial_qpos, assert_same_uniform_draws):
    mj_model = load_model(NAME)
    port = make_port(NAME, mj_model)
    gen = torch.Generator().manual_seed(0)
    qpos0 = torch.as_tensor(mj_model.qpos0, dtype=torch.float32).expand(4000, -1)
    qpos, qvel, task_state = port.initial_state(qpos0, gen)
    assert qpos.dtype == torch.float32 and qpos.shape == (4000, 9) and task_state == {}
    assert torch.equal(qvel, torch.zeros(4000, 9))
    dmc = dmc_initial_qpos(NAME, 1500, seed=0)
    assert_same_uniform_draws(qpos.double().numpy(), dmc, mj_model.qpos0)
    # Same generator seed, same draws.
    again, _, _ = port.initial_state(qpos0, torch.Generator().manual_seed(0))
    assert torch.equal(qpos, again)


def test_unknown_object_names_list_the_known_ones():
    import pytest

    from gorl.envs.tasks.base import object_index, sensor_index

    model = load_model(NAME)
    assert object_index(model, "body", "torso") == 1
    assert sensor_index(model, "torso_subtreelinvel") == 0
    with pytest.raises(KeyError, match=r"no body named 'tail' in the model; known: .*'left_foot'"):
        object_index(model, "body", "tail")
