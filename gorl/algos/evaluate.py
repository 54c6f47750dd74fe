"""Deterministic evaluation: full episodes with the encoder's mean latent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor
from torchrl.envs.utils import ExplorationType, set_exploration_type

from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD


@torch.no_grad()
def evaluate(policy: Any, env: Any, normalize: Callable[[Tensor], Tensor], episode_length: int) -> Tensor:
    """Returns the undiscounted return ``(num_envs,)`` of one episode per env, with the mean latent.

    The env is reset first and stepped ``episode_length`` times (its own time limit should be that long).
    """
    td = env.reset()
    device = td[OBSERVATION].device
    total = torch.zeros(env.num_envs, dtype=torch.float64, device=device)
    finished = torch.zeros(env.num_envs, dtype=torch.bool, device=device)
    with set_exploration_type(ExplorationType.DETERMINISTIC):
        for _ in range(episode_length):
            x = policy(TensorDict({OBSERVATION: normalize(td[OBSERVATION])}, batch_size=[env.num_envs]))
            td[ACTION] = x[ACTION]
            stepped, td = env.step_and_maybe_reset(td)
            total += torch.where(finished, 0.0, stepped[NEXT][REWARD].reshape(-1).to(torch.float64))
            finished |= stepped[NEXT][DONE].reshape(-1)
    return total


@torch.no_grad()
def random_return(env: Any, episode_length: int, seed: int = 0) -> Tensor:
    """The return ``(num_envs,)`` of uniformly random actions in the env's bounds: the floor to beat."""
    g = torch.Generator().manual_seed(seed)
    low, high = env.action_low.cpu(), env.action_high.cpu()

    def policy(td: TensorDict) -> TensorDict:
        u = torch.rand(env.num_envs, env.action_dim, generator=g)
        td[ACTION] = (low + u * (high - low)).to(td[OBSERVATION].device)
        return td

    return evaluate(policy, env, lambda obs: obs, episode_length)
