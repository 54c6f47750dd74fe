"""Bootstrapping stops at a terminal step and goes on through a truncated one: in GAE (by hand), in
SAC's TD(0) target (by hand, through the estimator ``SACOptimizer`` builds), and end to end in the PPO
engine that ``ppo``, ``fpo`` and ``dppo`` share, on a batched toy env whose episodes do both."""

from __future__ import annotations

import pytest
import torch

import gorl.algos as algos
import gorl.algos.ppo.functional as F
import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos.rollout import Rollout
from gorl.composite import CompositePolicy
from gorl.envs import make_env

# PointMass with a drift: x runs off the track (terminated) or reaches the 8-step limit (truncated).
TOY = {"options": {"kwargs": {"drift": 0.04}}, "episode_length": 8}


def test_gae_stops_at_termination_and_bootstraps_through_truncation():
    # One segment of 3 steps, gamma = lambda = 0.5, V(s_t) = 0, V(s'_t) = 2, r_t = 1.
    # Step 1 terminates, step 2 is truncated (done, not terminated).
    reward = torch.tensor([[1.0, 1.0, 1.0]])
    value = torch.zeros(1, 3)
    next_value = torch.full((1, 3), 2.0)
    done = torch.tensor([[False, True, True]])
    terminated = torch.tensor([[False, True, False]])
    adv, target = F.gae(reward, value, next_value, done, terminated, 0.5, 0.5)
    # delta = r + gamma (1 - terminated) V(s') - V(s): [1 + 1, 1 + 0, 1 + 1] = [2, 1, 2]
    # A_2 = 2 (segment end); A_1 = 1 + 0.25 * (1 - done_1) * A_2 = 1; A_0 = 2 + 0.25 * A_1 = 2.25
    torch.testing.assert_close(adv, torch.tensor([[2.25, 1.0, 2.0]]))
    torch.testing.assert_close(target, adv)
    # the same step 1 truncated instead: it bootstraps, delta_1 = 2, A_1 = 2, A_0 = 2 + 0.25 * 2
    adv_t, _ = F.gae(reward, value, next_value, done, torch.zeros_like(terminated), 0.5, 0.5)
    torch.testing.assert_close(adv_t, torch.tensor([[2.5, 2.0, 2.0]]))


def _learner(name: str, overrides: dict) -> tuple:
    torch.manual_seed(0)
    spec = algos.spec(name)
    config = spec.resolve(None, overrides)
    env = make_env("torchrl:toy", config.num_envs, seed=0, **TOY)
    if spec.trains == "encoder":
        encoder = encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim, hidden=[16])
    else:
        encoder = encoders.make("prior", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    decoder = decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim, hidden=[16])
    policy = CompositePolicy(encoder, decoder, env.action_low, env.action_high)
    learner = algos.make(name, env, policy, config)
    learner.bind(policy, {}, 10_000)
    return env, policy, learner


def test_the_toy_rollout_keeps_final_observations_and_both_flags():
    env, policy, _ = _learner("ppo", {"num_envs": 8, "rollout_length": 20, "unroll_length": 10})
    raw = Rollout(env, torch.device("cpu"), normalize_observations=False).collect(policy, 20, where="test")
    term, done = raw["terminated"], raw["done"]
    trunc = done & ~term
    assert term.any() and trunc.any(), "the toy env should both terminate and truncate here"
    # a terminal step's next observation is the one off the track, not the reset one (|x| <= 0.5)
    assert (raw["next_obs"][term][:, 0].abs() > 1.0).all()
    assert (raw["next_obs"][trunc][:, 0].abs() <= 1.0).all()
    # the next step starts from a reset observation
    n, t = torch.nonzero(done[:, :-1], as_tuple=True)
    assert (raw["obs"][n, t + 1][:, 0].abs() <= 0.5).all()


@pytest.mark.parametrize("name", ["ppo", "fpo", "dppo"])
def test_the_ppo_engine_feeds_gae_the_true_flags_and_final_values(name, monkeypatch):
    size = {
        "num_envs": 8,
        "rollout_length": 20,
        "unroll_length": 10,
        "num_minibatches": 2,
        "update_epochs": 1,
    }
    _, _, learner = _learner(name, size)
    seen: dict = {}
    collect = learner.rollout.collect

    def spy_collect(*a, **k):
        seen["raw"] = collect(*a, **k)
        # normalised as the engine normalises them: with the statistics from before this rollout
        seen["next_obs"] = learner.normalize(seen["raw"]["next_obs"])
        return seen["raw"]

    gae = F.gae

    def spy_gae(reward, value, next_value, done, terminated, gamma, lmbda):
        seen["gae"] = (done.clone(), terminated.clone(), next_value.clone())
        # V of the true next observations (the final one at an episode's end), as the critic sees them now
        obs = seen["next_obs"].reshape(-1, seen["next_obs"].shape[-1])
        seen["expected"] = learner.critic(obs).reshape(next_value.shape)
        return gae(reward, value, next_value, done, terminated, gamma, lmbda)

    monkeypatch.setattr(learner.rollout, "collect", spy_collect)
    monkeypatch.setattr(F, "gae", spy_gae)
    learner.iterate()
    raw = seen["raw"]
    done, terminated, next_value = seen["gae"]
    assert raw["terminated"].any() and (raw["done"] & ~raw["terminated"]).any()
    torch.testing.assert_close(done, raw["done"].reshape(done.shape))
    torch.testing.assert_close(terminated, raw["terminated"].reshape(terminated.shape))
    torch.testing.assert_close(next_value, seen["expected"])


def test_sac_target_stops_at_termination_and_bootstraps_through_truncation():
    from gorl.algos.sac.losses import Batch, Draw, td0_target

    gamma = 0.9
    # three transitions, r = 1, min Q_targ(s', x') = 2, score 0: running, terminated, truncated (a
    # truncation is not a termination: its flag is 0 and it bootstraps from the true last observation)
    batch = Batch(
        obs=torch.zeros(3, 2),
        x=torch.zeros(3, 1),
        reward=torch.ones(3),
        next_obs=torch.zeros(3, 2),
        terminated=torch.tensor([0.0, 1.0, 0.0]),
    )

    def draw(obs):
        zeros = torch.zeros(obs.shape[0], 1)
        return Draw(x=zeros, score=torch.zeros(obs.shape[0]), loc=zeros, scale=torch.ones_like(zeros))

    def q_target(obs, x):
        return torch.stack([torch.full((obs.shape[0],), 2.0), torch.full((obs.shape[0],), 3.0)])

    y = td0_target(batch, draw, q_target, torch.tensor(0.5), gamma)
    # y = r + gamma * (1 - terminated) * min(2, 3): 1 + 2 * 0.9 = 2.8, 1, 2.8
    torch.testing.assert_close(y, torch.tensor([2.8, 1.0, 2.8]))


def test_sac_stores_termination_not_the_end_of_an_episode():
    _, _, learner = _learner("sac", {"num_envs": 2, "batch_size": 8, "warmup_steps": 0})
    for _ in range(3):
        learner.iterate()
    n = len(learner.buffer)  # every stored transition, in storage order
    done = learner.buffer.data["done"][:n].reshape(-1).bool()
    terminated = learner.buffer.data["terminated"][:n].reshape(-1).bool()
    assert terminated.any() and (done & ~terminated).any()  # the toy env both terminates and truncates
    assert not (terminated & ~done).any()
