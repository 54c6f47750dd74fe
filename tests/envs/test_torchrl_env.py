"""The torchrl backend: a factory's EnvBase wrapped to the contract, by name, path or callable."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

import gorl.envs as envs
from gorl.envs.torchrl_env import FACTORIES, TorchRLBatchEnv
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.keys import OBSERVATION
from gorl.testing import check_env
from gorl.testing.toy_env import PointMass, make_point_mass


class TwoKeys(EnvBase):
    """float64 ``pos`` (N, 2) and float32 ``vel`` (N, 1); optionally without a truncated entry."""

    def __init__(
        self, n: int, *, seed: int = 0, device: str = "cpu", truncated: bool = True, length: int = 5
    ):
        super().__init__(batch_size=torch.Size([n]), device=device)
        self.episode_length = length
        self.observation_spec = Composite(
            pos=Unbounded(shape=(n, 2), dtype=torch.float64), vel=Unbounded(shape=(n, 1)), shape=(n,)
        )
        self.action_spec = Bounded(low=-2.0, high=2.0, shape=(n, 1))
        self.reward_spec = Unbounded(shape=(n, 1))
        keys = ("done", "terminated", "truncated") if truncated else ("done", "terminated")
        self.done_spec = Composite(
            {k: Categorical(2, shape=(n, 1), dtype=torch.bool) for k in keys}, shape=(n,)
        )
        self.t = torch.zeros(n, dtype=torch.int64)
        self.pos = torch.ones(n, 2, dtype=torch.float64)

    def _set_seed(self, seed):
        pass

    def _reset(self, td=None, **kw):
        n = self.batch_size[0]
        mask = (
            torch.ones(n, dtype=torch.bool) if td is None or "_reset" not in td else td["_reset"].reshape(n)
        )
        self.t[mask] = 0
        self.pos[mask] = 1.0
        false = torch.zeros(n, 1, dtype=torch.bool)
        flags = {k: false.clone() for k in list(self.done_spec.keys())}
        return TensorDict({"pos": self.pos.clone(), "vel": torch.zeros(n, 1), **flags}, [n])

    def _step(self, td):
        n = self.batch_size[0]
        self.t += 1
        self.pos = self.pos + td["action"].double()
        trunc = (self.t >= self.episode_length)[:, None]
        out = {"pos": self.pos.clone(), "vel": td["action"].clone(), "reward": torch.ones(n, 1)}
        out |= {"done": trunc, "terminated": torch.zeros_like(trunc)}
        if "truncated" in list(self.done_spec.keys()):
            out["truncated"] = trunc
        return TensorDict(out, [n])


def test_observation_entries_are_concatenated_into_one_float32_vector():
    env = TorchRLBatchEnv(TwoKeys(3))
    assert isinstance(env, BatchedEnv) and env.exact_resume is False
    assert (env.num_envs, env.obs_dim, env.action_dim, env.episode_length) == (3, 3, 1, 5)
    assert torch.equal(env.action_low, torch.tensor([-2.0])) and torch.equal(
        env.action_high, torch.tensor([2.0])
    )
    obs = env.reset()[OBSERVATION]
    assert obs.dtype == torch.float32 and obs.shape == (3, 3)


def test_envs_gorl_cannot_use_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="no \\['truncated'\\] done entries"):
        TorchRLBatchEnv(TwoKeys(2, truncated=False))
    with pytest.raises(TypeError, match="must return an EnvBase"):
        TorchRLBatchEnv(object())
    with pytest.raises(ValueError, match="batch_size \\[N\\]"):
        TorchRLBatchEnv(Unbatched())


class Unbatched(EnvBase):
    def _reset(self, td=None, **kw):
        raise NotImplementedError

    def _step(self, td):
        raise NotImplementedError

    def _set_seed(self, seed):
        pass


def test_a_factory_builds_by_callable_by_name_and_by_path():
    assert envs.make_env(make_point_mass, 2).num_envs == 2
    assert envs.make_env(make_point_mass, 2, options={"kwargs": {"drift": 0.3}}).env.drift == 0.3
    assert envs.make_env("torchrl:toy", 3, episode_length=7).episode_length == 7
    env = envs.make_env("torchrl:gorl.testing.toy_env:make_point_mass", 2, options={"kwargs": {"drift": 0.5}})
    assert env.env.drift == 0.5
    FACTORIES.add("two-keys", lambda n, *, seed, device: TwoKeys(n, seed=seed, device=device))
    try:
        assert envs.make_env("torchrl:two-keys", 2).obs_dim == 3
        with pytest.raises(ValueError, match="takes no episode_length and its env's episode_length is 5"):
            envs.make_env("torchrl:two-keys", 2, episode_length=9)
    finally:
        FACTORIES.remove("two-keys")
    with pytest.raises(ValueError, match="built 3 envs, 2 were asked for"):
        envs.make_env(lambda n, *, seed, device: PointMass(3), 2)


def test_the_wrapped_env_passes_check_env():
    check_env(lambda n, seed, length: envs.make_env(TwoKeys, n, seed=seed, length=length), episode_length=5)


def test_restarts_are_deterministic_and_the_first_reproduces_the_start():
    env = envs.make_env("torchrl:toy", 3, seed=5)
    start = env.env_state()
    first = env.reset()[OBSERVATION].clone()
    env.reset()
    env.load_env_state(start)
    assert torch.equal(env.reset()[OBSERVATION], first)
    with pytest.raises(ValueError, match="not a torchrl env state"):
        env.load_env_state({"format": 1, "exact": True})
