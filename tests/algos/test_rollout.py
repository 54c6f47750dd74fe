"""Rollout's training returns: every reported episode is one episode, whole, also when a collection that
counts nothing (a refit's decoder data) cuts through it."""

from __future__ import annotations

import pytest
import torch

import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos.rollout import Rollout
from gorl.composite import CompositePolicy
from gorl.envs import make_env


def _episodes(reward: torch.Tensor, done: torch.Tensor, counted: torch.Tensor) -> list[tuple[float, bool]]:
    """By hand, from ``(N, T)`` rewards and ends: ``(return, cut)`` of each episode that ends at a counted
    step; ``cut``: some of its steps were not counted. Every env starts an episode at step 0."""
    out = []
    for n in range(reward.shape[0]):
        total, cut = 0.0, False
        for t in range(reward.shape[1]):
            total, cut = total + float(reward[n, t]), cut or not bool(counted[t])
            if done[n, t]:
                if counted[t]:
                    out.append((total, cut))
                total, cut = 0.0, False
    return out


def test_a_collection_that_counts_nothing_leaves_every_reported_episode_whole():
    torch.manual_seed(0)
    env = make_env("torchrl:toy", 4, seed=0, episode_length=8)
    encoder = encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim, hidden=[16])
    decoder = decoders.make("identity", obs_dim=env.obs_dim, action_dim=env.action_dim)
    policy = CompositePolicy(encoder, decoder, env.action_low, env.action_high)
    rollout = Rollout(env, torch.device("cpu"), normalize_observations=False)
    # 5 counted steps, 19 not counted (every env's first episodes end in there), 11 counted
    parts = [(5, True), (19, False), (11, True)]
    data = [rollout.collect(policy, steps, where="test", count=count) for steps, count in parts]
    reward = torch.cat([d["reward"] for d in data], dim=1)
    done = torch.cat([d["done"] for d in data], dim=1)
    counted = torch.cat([torch.full((steps,), count) for steps, count in parts])
    episodes = _episodes(reward, done, counted)
    assert any(cut for _, cut in episodes), "no reported episode straddles the uncounted collection"
    expected = sum(r for r, _ in episodes) / len(episodes)
    assert rollout.pop_train_return() == pytest.approx(expected, rel=1e-12)
    assert rollout.pop_train_return() is None  # nothing finished since
    assert rollout.env_steps == 4 * (5 + 11)
