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
    total = torch.zeros(env.num_envs, dtype=torch.float64)
    finished = torch.zeros(env.num_envs, dtype=torch.bool)
    with set_exploration_type(ExplorationType.DETERMINISTIC):
        for _ in range(episode_length):
            x = policy(TensorDict({OBSERVATION: normalize(td[OBSERVATION])}, batch_size=[env.num_envs]))
            td[ACTION] = x[ACTION]
            stepped, td = env.step_and_maybe_reset(td)
            total += torch.where(finished, 0.0, stepped[NEXT][REWARD].reshape(-1).to(torch.float64))
            finished |= stepped[NEXT][DONE].reshape(-1)
    return total
