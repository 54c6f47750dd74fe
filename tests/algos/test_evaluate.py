"""Evaluation helpers: the fresh episodes a refit compares its policies on."""

import torch

import gorl.decoders
import gorl.encoders
from gorl.algos.evaluate import FreshEpisodes
from gorl.composite import CompositePolicy
from gorl.envs import make_env


def _policy(env, seed):
    torch.manual_seed(seed)
    encoder = gorl.encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    decoder = gorl.decoders.make("identity", obs_dim=env.obs_dim, action_dim=env.action_dim)
    return CompositePolicy(encoder, decoder, env.action_low, env.action_high)


def test_fresh_episodes_repeat_their_start_states_under_one_key_and_change_with_the_key():
    built = []

    def make(key):
        env = make_env("cheetah-run", 2, seed=100 + key, episode_length=20)
        built.append((key, env))
        return env

    fresh = FreshEpisodes(make, episode_length=20)
    probe = make_env("cheetah-run", 2, seed=0, episode_length=20)
    a, b = _policy(probe, 0), _policy(probe, 1)
    norm = lambda obs: obs  # noqa: E731
    first = fresh.returns(1, a, norm, deterministic=True)
    fresh.returns(1, b, norm, deterministic=True)  # another policy in between
    again = fresh.returns(1, a, norm, deterministic=True)
    assert torch.equal(first, again) and len(built) == 1  # same start states, same env
    other = fresh.returns(2, a, norm, deterministic=True)
    assert len(built) == 2 and not torch.equal(first, other)  # a new key: other start states
    fresh.close()
    fresh.close()  # closing twice is harmless
    assert fresh._current is None
    probe.close()
