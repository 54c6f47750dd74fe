"""``PointMass``: a tiny batched TorchRL env that both terminates and truncates, in pure torch.

A plain TorchRL ``EnvBase`` (no gorl attributes): it is what a user's own env looks like, and the
``torchrl`` backend wraps it (``"torchrl:toy"``). Per env, with position ``x`` and velocity ``v``::

    v' = 0.9 v + 0.1 a + drift,   x' = x + v',   a in [-1, 1]   (drift 0 unless given)
    reward = 1 - |x'|
    terminated: |x'| > 1 (it left the track);  truncated: step count == episode_length, not terminated
    reset: x ~ U(-0.5, 0.5), v = 0, from the env's own generator (``set_seed``)

Observation ``(x, v)``, float32. A constant action +1 from x = 0 leaves the track at step 5 (x = 0.1,
0.29, 0.561, 0.9049, 1.31441); a policy that holds x near 0 earns about ``episode_length``.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase


class PointMass(EnvBase):
    """N point masses on a track ``[-1, 1]``; see the module docstring.

    Args:
        num_envs: N.
        episode_length: steps before truncation.
        seed: seeds the reset generator.
        device: torch device.
        drift: added to the velocity every step (a drift makes episodes terminate early).
    """

    def __init__(
        self,
        num_envs: int,
        *,
        episode_length: int = 50,
        seed: int = 0,
        device: Any = "cpu",
        drift: float = 0.0,
    ) -> None:
        super().__init__(batch_size=torch.Size([num_envs]), device=device)
        self.episode_length, self.drift = episode_length, drift
        n = num_envs
        self.observation_spec = Composite(
            observation=Unbounded(shape=(n, 2), dtype=torch.float32, device=device), shape=(n,)
        )
        self.action_spec = Bounded(low=-1.0, high=1.0, shape=(n, 1), dtype=torch.float32, device=device)
        self.reward_spec = Unbounded(shape=(n, 1), dtype=torch.float32, device=device)
        self.done_spec = Composite(
            {
                k: Categorical(2, shape=(n, 1), dtype=torch.bool, device=device)
                for k in ("done", "terminated", "truncated")
            },
            shape=(n,),
        )
        self._gen = torch.Generator(device=device)
        self._x = torch.zeros(n, device=device)
        self._v = torch.zeros(n, device=device)
        self._t = torch.zeros(n, dtype=torch.int64, device=device)
        self.set_seed(seed)

    def _set_seed(self, seed: int | None) -> None:
        self._gen.manual_seed(0 if seed is None else int(seed))

    def _obs(self) -> torch.Tensor:
        return torch.stack([self._x, self._v], dim=-1)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        mask = None if tensordict is None else tensordict.get("_reset", None)
        n = self.batch_size[0]
        m = torch.ones(n, dtype=torch.bool, device=self.device) if mask is None else mask.reshape(n)
        draw = torch.rand(n, generator=self._gen, device=self.device) - 0.5
        self._x = torch.where(m, draw, self._x)
        self._v = torch.where(m, torch.zeros_like(self._v), self._v)
        self._t = torch.where(m, torch.zeros_like(self._t), self._t)
        false = torch.zeros(n, 1, dtype=torch.bool, device=self.device)
        return TensorDict(
            {
                "observation": self._obs(),
                "done": false,
                "terminated": false.clone(),
                "truncated": false.clone(),
            },
            batch_size=self.batch_size,
            device=self.device,
        )

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        a = tensordict.get("action").reshape(-1).clamp(-1.0, 1.0)
        self._v = 0.9 * self._v + 0.1 * a + self.drift
        self._x = self._x + self._v
        self._t = self._t + 1
        terminated = self._x.abs() > 1.0
        truncated = (self._t >= self.episode_length) & ~terminated
        return TensorDict(
            {
                "observation": self._obs(),
                "reward": (1.0 - self._x.abs())[:, None],
                "done": (terminated | truncated)[:, None],
                "terminated": terminated[:, None],
                "truncated": truncated[:, None],
            },
            batch_size=self.batch_size,
            device=self.device,
        )


def make_point_mass(
    num_envs: int, *, seed: int = 0, device: Any = "cpu", episode_length: int = 50, drift: float = 0.0
) -> PointMass:
    """The ``torchrl:toy`` factory: ``PointMass(num_envs, seed=, device=, episode_length=, drift=)``."""
    return PointMass(num_envs, episode_length=episode_length, seed=seed, device=device, drift=drift)
