"""The Gymnasium backend: rescaled actions, flattened observations, termination kept apart from
truncation with the final observation, deterministic seeds, restart-only resume."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from gorl.envs import make_env
from gorl.envs.gym import GymBatchEnv, reset_seed
from gorl.interfaces.keys import DONE, NEXT, OBSERVATION, TERMINATED, TRUNCATED


def test_actions_in_minus_one_one_are_rescaled_to_the_env_bounds(monkeypatch):
    env = make_env("gym:Humanoid-v5", 2)  # Box(-0.4, 0.4, (17,))
    assert env.action_dim == 17 and torch.equal(env.action_high, torch.ones(17))
    seen = []
    original = env.envs[0].step
    monkeypatch.setattr(env.envs[0], "step", lambda a: seen.append(a.copy()) or original(a))
    td = env.reset()
    a = torch.zeros(2, 17)
    a[0, 0], a[0, 1], a[0, 2] = 1.0, -1.0, 5.0  # 5 is clipped to 1
    td["action"] = a
    env.step_and_maybe_reset(td)
    # low + (a + 1) / 2 * (high - low) with low = -0.4, high = 0.4: 1 -> 0.4, -1 -> -0.4, 0 -> 0
    np.testing.assert_allclose(seen[0][:4], [0.4, -0.4, 0.4, 0.0], atol=1e-7)
    td["action"] = torch.full((2, 17), float("nan"))
    with pytest.raises(ValueError, match="NaN actions for envs"):
        env.step_and_maybe_reset(td)


def test_a_falling_hopper_terminates_and_keeps_its_last_observation():
    env = make_env("gym:Hopper-v5", 2, seed=0)
    td = env.reset()
    steps = 0
    while steps < 100:
        td["action"] = torch.ones(2, 3)
        stepped, td = env.step_and_maybe_reset(td)
        steps += 1
        nxt = stepped[NEXT]
        if nxt[DONE].any():
            break
    assert nxt[DONE].any(), "a hopper pushing every joint to its limit falls within 100 steps"
    i = int(nxt[DONE].reshape(-1).nonzero()[0])
    assert nxt[TERMINATED][i] and not nxt[TRUNCATED][i]
    # the final observation is the fallen hopper's (height < 0.7 or a large angle), the root a fresh one
    final, fresh = nxt[OBSERVATION][i], td[OBSERVATION][i]
    assert final[0] < 0.7 + 1.25 or final[1].abs() > 0.2  # qpos[1:] starts at z - 1.25 (obs excludes x)
    assert not torch.equal(final, fresh) and fresh[1].abs() < 0.01


def test_the_time_limit_truncates():
    env = make_env("gym:HalfCheetah-v5", 2, episode_length=5)
    td = env.reset()
    for _ in range(5):
        td["action"] = torch.zeros(2, 6)
        stepped, td = env.step_and_maybe_reset(td)
    assert stepped[NEXT][TRUNCATED].all() and not stepped[NEXT][TERMINATED].any()


class DictObs(gym.Env):
    """A Dict observation space and a Box action space in [0, 2]."""

    observation_space = gym.spaces.Dict(
        {"b": gym.spaces.Box(-1, 1, (2, 2)), "a": gym.spaces.Box(-1, 1, (1,))}
    )
    action_space = gym.spaces.Box(0.0, 2.0, (1,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample() if seed is None else self._obs(), {}

    def _obs(self):
        return {"a": self.np_random.uniform(-1, 1, (1,)).astype(np.float32), "b": np.ones((2, 2), np.float32)}

    def step(self, action):
        return self._obs(), float(action[0]), False, False, {}


def test_dict_observations_are_flattened_and_discrete_actions_refused():
    gym.register("GorlDictObs-v0", entry_point=DictObs, max_episode_steps=3)
    try:
        env = make_env("gym:GorlDictObs-v0", 2)
        obs = env.reset()[OBSERVATION]
        assert obs.shape == (2, 5) and obs.dtype == torch.float32
        assert torch.equal(obs[:, 1:], torch.ones(2, 4))  # spaces.flatten: keys sorted, "a" first
    finally:
        del gym.registry["GorlDictObs-v0"]
    with pytest.raises(ValueError, match="Discrete action space; gorl needs a Box"):
        make_env("gym:CartPole-v1", 1)


def test_seeds_are_per_env_and_deterministic():
    a, b = GymBatchEnv("Hopper-v5", 3, seed=4), GymBatchEnv("Hopper-v5", 3, seed=4)
    obs_a, obs_b = a.reset()[OBSERVATION], b.reset()[OBSERVATION]
    assert torch.equal(obs_a, obs_b) and not torch.equal(obs_a[0], obs_a[1])
    ref = gym.make("Hopper-v5")
    first, _ = ref.reset(seed=reset_seed(4, 1, 0))
    np.testing.assert_array_equal(obs_a[1].numpy(), first.astype(np.float32))


def test_resume_restarts_episodes_deterministically():
    env = make_env("gym:Hopper-v5", 2, seed=1)
    assert env.exact_resume is False
    start = env.env_state()
    td = env.reset()
    first = td[OBSERVATION].clone()
    for _ in range(3):
        td["action"] = torch.zeros(2, 3)
        _, td = env.step_and_maybe_reset(td)
    env.load_env_state(start)  # the state taken before the first reset: the same first episodes
    assert torch.equal(env.reset()[OBSERVATION], first)
    later = env.env_state()
    other = make_env("gym:Hopper-v5", 2, seed=9)
    other.load_env_state(later)
    env.load_env_state(later)
    assert torch.equal(other.reset()[OBSERVATION], env.reset()[OBSERVATION])
    with pytest.raises(ValueError, match="num_envs"):
        make_env("gym:Hopper-v5", 3).load_env_state(later)
