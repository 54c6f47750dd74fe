"""FPO: CFM losses and ratios by hand, the ratio at the behaviour parameters, the gradient against a
finite difference, and a killed run resuming to the same numbers."""

import math

import pytest
import torch

import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos.fpo import FPOConfig, FPOTerm
from gorl.algos.fpo.functional import cfm_losses, draw_times, fpo_log_ratio
from gorl.algos.ppo.functional import surrogate
from gorl.composite import CompositePolicy
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig


def linear_velocity(w):
    return lambda x, t, obs: w * x


def test_cfm_losses_by_hand():
    # a = 0.5, eps = 1, t = 0.5: x_t = 0.5 * 1 + 0.5 * 0.5 = 0.75, target eps - a = 0.5, v = 2 * 0.75 = 1.5
    # velocity loss (1.5 - 0.5)^2 = 1; eps loss: eps_hat = x_t + (1 - t) v = 0.75 + 0.75 = 1.5,
    # (1.5 - 1)^2 = 0.25 = (1 - t)^2 * 1
    obs, a = torch.zeros(1, 3), torch.tensor([[0.5]])
    eps, t = torch.tensor([[[1.0]]]), torch.tensor([[0.5]])
    v = linear_velocity(2.0)
    assert cfm_losses(v, obs, a, eps, t, "velocity").item() == pytest.approx(1.0)
    assert cfm_losses(v, obs, a, eps, t, "eps").item() == pytest.approx(0.25)
    # two dims averaged: dim 2 has a = 0, eps = 0 -> x_t = 0, v = 0, target 0: loss (1 + 0) / 2
    a2, eps2 = torch.tensor([[0.5, 0.0]]), torch.tensor([[[1.0, 0.0]]])
    assert cfm_losses(v, obs, a2, eps2, t, "velocity").item() == pytest.approx(0.5)


def test_fpo_log_ratio_by_hand():
    old, new = torch.tensor([[1.0, 3.0]]), torch.tensor([[0.5, 5.0]])
    # mean: mean(old) - mean(new) = 2 - 2.75 = -0.75
    assert fpo_log_ratio(old, new, "mean").tolist() == [[-0.75]]
    # per sample: [0.5, -2] clipped to +-1
    assert fpo_log_ratio(old, new, "per_sample", clip=1.0).tolist() == [[0.5, -1.0]]
    with pytest.raises(ValueError, match="ratio mode"):
        fpo_log_ratio(old, new, "median")


def test_chain_times_are_the_samplers_euler_times():
    torch.manual_seed(0)
    t = draw_times((4000,), 10, "chain", torch.zeros(1))
    assert set(torch.round(t * 10).int().tolist()) == set(range(1, 11))  # 1.0, 0.9, ..., 0.1


def _setup(dtype=torch.float32, **cfg):
    torch.manual_seed(0)
    enc = encoders.make("prior", obs_dim=5, latent_dim=2)
    dec = decoders.make("flow", obs_dim=5, action_dim=2, hidden=[16, 16])
    policy = CompositePolicy(enc, dec).to(dtype)
    term = FPOTerm(FPOConfig(**cfg))
    term.bind(policy)
    obs = torch.randn(32, 5, dtype=dtype)
    with torch.no_grad():
        act = policy.act(obs)
        data = term.prepare(policy, obs, act)
    return policy, term, obs, data


@pytest.mark.parametrize("ratio", ["mean", "per_sample"])
def test_the_ratio_is_one_at_the_behaviour_parameters(ratio):
    policy, term, obs, data = _setup(ratio=ratio)
    assert data["eps"].shape == (32, 8, 2) and data["loss_old"].shape == (32, 8)
    idx = torch.arange(5, 17)  # a minibatch of the data
    out = term.objective(policy, obs[idx], {k: v[idx] for k, v in data.items()}, penalty=False)
    # same draws, same parameters: log rho = 0 up to float32 rounding of the batched matmuls
    assert out["log_ratio"].abs().max().item() < 1e-6
    assert out["log_ratio"].shape == ((12, 1) if ratio == "mean" else (12, 8))


def test_a_stage_override_of_the_ratio_reaches_the_term():
    # FPOConfig marks ratio and log_ratio_clip changeable per stage: the engine accepts them (it checks
    # FPOConfig.MUTABLE, not PPOConfig's) and the term computes with the stage's config, not its first one
    import gorl.algos as algos
    from gorl.envs import make_env

    spec = algos.spec("fpo")
    config = spec.resolve(
        "cpu",
        {"num_envs": 2, "rollout_length": 8, "unroll_length": 4, "num_minibatches": 2, "critic_hidden": [8]},
    )
    env = make_env("cheetah-run", 2, seed=0, episode_length=20)
    torch.manual_seed(0)
    enc = encoders.make("prior", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    dec = decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim, hidden=[16, 16])
    policy = CompositePolicy(enc, dec, env.action_low, env.action_high)
    learner = algos.make("fpo", env, policy, config)
    learner.bind(policy, {"ratio": "per_sample", "log_ratio_clip": 0.5}, 1000)
    assert (learner.term.config.ratio, learner.term.config.log_ratio_clip) == ("per_sample", 0.5)
    obs = torch.randn(4, env.obs_dim)
    with torch.no_grad():
        data = learner.term.prepare(policy, obs, policy.act(obs))
        data["loss_old"] += torch.linspace(-2.0, 2.0, 8)  # old losses far from the new ones: clipped at 0.5
        out = learner.term.objective(policy, obs, data, penalty=False)
    assert out["log_ratio"].shape == (4, 8)  # one ratio per draw: per_sample
    assert out["log_ratio"].abs().max().item() == pytest.approx(0.5)
    learner.bind(policy, {}, 1000)  # the next stage without overrides: back to the config's mean ratio
    with torch.no_grad():
        assert learner.term.objective(policy, obs, data, penalty=False)["log_ratio"].shape == (4, 1)


def test_gradient_matches_a_finite_difference():
    policy, term, obs, data = _setup(torch.float64)
    adv = torch.randn(32, dtype=torch.float64)
    with torch.no_grad():  # move off the behaviour parameters so that the ratio is not 1
        for p in policy.decoder.parameters():
            p.add_(0.01 * torch.randn_like(p))

    def loss():
        out = term.objective(policy, obs, data, penalty=False)
        return surrogate(out["log_ratio"], adv, clip=0.9)  # wide clip: the smooth branch

    weight = next(policy.decoder.parameters())
    (grad,) = torch.autograd.grad(loss(), [weight])
    h = 1e-6
    for i in [(0, 0), (3, 4), (7, 1)]:
        with torch.no_grad():
            weight[i] += h
            up = loss().item()
            weight[i] -= 2 * h
            down = loss().item()
            weight[i] += h
        assert grad[i].item() == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


def test_fpo_needs_a_flow_decoder():
    enc = encoders.make("prior", obs_dim=5, latent_dim=2)
    policy = CompositePolicy(enc, decoders.make("diffusion", obs_dim=5, action_dim=2))
    with pytest.raises(ValueError, match="flow"):
        FPOTerm(FPOConfig()).bind(policy)


def test_config_rejects_an_entropy_bonus():
    with pytest.raises(ValueError, match="entropy_coef"):
        FPOConfig(entropy_coef=0.01)


TINY = tiny_run("fpo", total_steps=320, eval_every=160, schedule={"decoder_options": {"hidden": [16, 16]}})


@pytest.mark.parametrize("method", ["fpo", "dppo"])
def test_a_killed_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, resume_check, numbers, method):
    cfg = TrainConfig(**{**TINY, "method": method})
    ref = Trainer(cfg, tmp_path / "ref").run()
    assert math.isfinite(ref["final_return"])
    run = numbers(tmp_path / "ref")
    assert [r["kind"] for r in run].count("iteration") == 4 and "grad_norm_decoder" in run[0]
    resumed = resume_check(cfg, tmp_path / "b", monkeypatch, kill_at="iteration", nth=3)
    assert resumed["final_return"] == ref["final_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")


@pytest.mark.parametrize("method", ["fpo", "dppo"])
def test_decoder_options_reach_the_flow_policy(tmp_path, method):
    trainer = Trainer(TrainConfig(**{**TINY, "method": method}), tmp_path)
    assert trainer.policy.decoder.config.hidden == [16, 16]
    assert type(trainer.policy.encoder).__name__ == "PriorEncoder"
    with pytest.raises(ValueError, match="decoder_options"):
        Trainer(
            TrainConfig(**{**TINY, "method": method, "schedule": {"decoder_options": {"hiden": [8]}}}),
            tmp_path,
        )
