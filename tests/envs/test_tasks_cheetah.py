"""cheetah-run port vs dm_control itself: observations, rewards and the initial-state distribution."""

from __future__ import annotations

import numpy as np
import pytest

from gorl.envs.tasks import get_port, load_model, make_port

NAME = "cheetah-run"


def test_observation_and_reward_match_dm_control(dmc_rollout, port_parity_errors):
    # 300 random-action steps from 3 episodes: reset states and states deep into each episode.
    rollout = dmc_rollout(NAME, 300, seed=1, reset_every=100)
    port = make_port(NAME, load_model(NAME))
    obs_err, rew_err = port_parity_errors(port, rollout)
    # float32 reads of float64 state: velocities reach ~20, so a few ulp of float32 is ~1e-5.
    assert obs_err < 1e-5, obs_err
    assert rew_err < 1e-6, rew_err
    # The rollout must reach rewarding states, or the reward check is vacuous.
    assert np.nanmax(rollout.rewards) > 0.01


def test_registry_names_errors_and_control_timesteps():
    # The task registry (gorl.envs.tasks) is shared by all ports; checked once here.
    from dm_control import suite

    from gorl.envs.tasks import CONTROL_TIMESTEP, control_substeps, task_names
    from gorl.registry import RegistryError

    assert set(CONTROL_TIMESTEP) <= set(task_names())
    with pytest.raises(RegistryError, match=r"unknown task 'cheetah-walk'. Known: .*cheetah-run"):
        get_port("cheetah-walk")
    expected_substeps = {"cheetah-run": 1, "walker-walk": 10, "hopper-stand": 4, "finger-spin": 2}
    for name, dt in CONTROL_TIMESTEP.items():
        domain, _, task = name.partition("-")
        assert suite.load(domain, task).control_timestep() == pytest.approx(dt), name
        if name in expected_substeps:  # anchors.md section 3
            assert control_substeps(name, load_model(name)) == expected_substeps[name]
