"""walker-walk port vs dm_control itself: observations, rewards and the initial-state distribution."""

from __future__ import annotations

import numpy as np

from gorl.envs.tasks import load_model, make_port

NAME = "walker-walk"


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


def test_unknown_object_names_list_the_known_ones():
    import pytest

    from gorl.envs.tasks.base import object_index, sensor_index

    model = load_model(NAME)
    assert object_index(model, "body", "torso") == 1
    assert sensor_index(model, "torso_subtreelinvel") == 0
    with pytest.raises(KeyError, match=r"no body named 'tail' in the model; known: .*'left_foot'"):
        object_index(model, "body", "tail")
