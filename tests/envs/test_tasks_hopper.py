"""hopper-stand port vs dm_control itself: observations, rewards and the initial-state distribution."""

from __future__ import annotations

import numpy as np

from gorl.envs.tasks import load_model, make_port

NAME = "hopper-stand"


def test_observation_and_reward_match_dm_control(dmc_rollout, port_parity_errors):
    # 300 random-action steps from 3 episodes: reset states and states deep into each episode.
    rollout = dmc_rollout(NAME, 300, seed=1, reset_every=100)
    port = make_port(NAME, load_model(NAME))
    obs_err, rew_err = port_parity_errors(port, rollout)
    # float32 reads of float64 state: velocities reach ~20, so a few ulp of float32 is ~1e-5.
    assert obs_err < 1e-5, obs_err
    assert rew_err < 1e-6, rew_err
    assert rollout.observations[:, -2:].max() > 1.0  # the touch sensors fire during the rollout
    # Random actions never stand the hopper up (reward 0 throughout); the standing states below check
    # the non-zero branch.


def test_reward_when_standing_matches_dm_control():
    # Poses near the upright qpos0 with random velocities and controls: standing, so the reward
    # exercises the small-control bonus. dm_control's own get_reward is the reference.
    from dm_control import suite

    from gorl.envs.tasks.base import SimState

    env = suite.load("hopper", "stand", task_kwargs={"random": 0})
    physics, rng = env.physics, np.random.default_rng(0)
    snapshots, expected = [], []
    for _ in range(50):
        with physics.reset_context():
            physics.data.qpos[:] = physics.model.qpos0 + rng.normal(0.0, 0.1, physics.model.nq)
            physics.data.qpos[1] = rng.uniform(-0.3, 0.3)  # rootz
            physics.data.qvel[:] = rng.normal(0.0, 1.0, physics.model.nv)
        physics.data.ctrl[:] = rng.uniform(-1.5, 1.5, physics.model.nu)  # also outside [-1, 1]
        expected.append(env.task.get_reward(physics))
        snapshots.append(physics.copy(share_model=True))
    port = make_port(NAME, load_model(NAME))
    sim = SimState.from_physics(snapshots)
    got = port.reward(sim, {}).double().numpy()
    assert np.mean(np.asarray(expected) > 0) > 0.5  # mostly standing, so the check has teeth
    np.testing.assert_allclose(got, expected, atol=1e-6)
