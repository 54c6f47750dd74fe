"""hopper-stand port: task-specific checks (the shared ones are in test_tasks_locomotion.py)."""

from __future__ import annotations

import numpy as np

from gorl.envs.tasks import load_model, make_port

NAME = "hopper-stand"


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
