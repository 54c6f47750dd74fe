"""Evaluation: full episodes of a policy, deterministic (the encoder's mean latent) or stochastic."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD
from gorl.interfaces.policy import ActingPolicy


@torch.no_grad()
def run_episodes(
    act: Callable[[Tensor], Tensor],
    env: BatchedEnv,
    normalize: Callable[[Tensor], Tensor],
    episode_length: int,
) -> Tensor:
    """The undiscounted return ``(num_envs,)`` of one episode per env, acting with ``act`` (normalised
    obs ``(N, obs_dim)`` -> env action ``(N, action_dim)``).

    The env is reset first and stepped ``episode_length`` times (its own time limit should be that long);
    rewards after an env's first episode ends are not counted.
    """
    td = env.reset()
    device = td[OBSERVATION].device
    total = torch.zeros(env.num_envs, dtype=torch.float64, device=device)
    finished = torch.zeros(env.num_envs, dtype=torch.bool, device=device)
    for _ in range(episode_length):
        td[ACTION] = act(normalize(td[OBSERVATION]))
        stepped, td = env.step_and_maybe_reset(td)
        total += torch.where(finished, 0.0, stepped[NEXT][REWARD].reshape(-1).to(torch.float64))
        finished |= stepped[NEXT][DONE].reshape(-1)
    return total


def evaluate(
    policy: ActingPolicy,
    env: BatchedEnv,
    normalize: Callable[[Tensor], Tensor],
    episode_length: int,
    *,
    deterministic: bool = True,
) -> Tensor:
    """Returns ``(num_envs,)`` of ``policy`` over one episode per env: with the mean latent
    (``deterministic``, the default) or sampled latents."""
    return run_episodes(
        lambda obs: policy.act(obs, deterministic=deterministic)["action"], env, normalize, episode_length
    )


def random_return(env: BatchedEnv, episode_length: int, seed: int = 0) -> Tensor:
    """The return ``(num_envs,)`` of uniformly random actions in the env's bounds: the floor to beat."""
    g = torch.Generator().manual_seed(seed)
    low, high = env.action_low.cpu(), env.action_high.cpu()

    def act(obs: Tensor) -> Tensor:
        u = torch.rand(env.num_envs, env.action_dim, generator=g)
        return (low + u * (high - low)).to(obs.device)

    return run_episodes(act, env, lambda obs: obs, episode_length)


class FreshEpisodes:
    """Episodes that compare policies at one refit: the same start states for every policy under one
    ``key`` (a stage), new ones when the key changes; ``make_env(key)`` builds their batched env.

    Holds one env at a time; ``close`` releases it.
    """

    def __init__(self, make_env: Callable[[int], BatchedEnv], episode_length: int) -> None:
        self.make_env, self.episode_length = make_env, episode_length
        self._current: tuple[int, BatchedEnv, dict] | None = None  # (key, env, its start state)

    def returns(
        self, key: int, policy: ActingPolicy, normalize: Callable[[Tensor], Tensor], deterministic: bool
    ) -> Tensor:
        """Returns ``(num_envs,)`` of ``policy`` from key ``key``'s start states."""
        if self._current is None or self._current[0] != key:
            self.close()
            env = self.make_env(key)
            self._current = (key, env, env.env_state())
        _, env, start = self._current
        env.load_env_state(start)
        return evaluate(policy, env, normalize, self.episode_length, deterministic=deterministic)

    def close(self) -> None:
        if self._current is not None:
            self._current[1].close()
            self._current = None
