"""DPPO: per-step log-densities by hand, the deterministic chain is the flow's sampler, the ratio at
the behaviour parameters, and the actor's outputs."""

import math

import pytest
import torch

import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos.dppo import DenoisingActor, DPPOConfig, DPPOTerm
from gorl.algos.dppo.functional import denoising_chain, step_log_probs
from gorl.composite import CompositePolicy


def test_step_log_probs_by_hand_in_one_dimension():
    # v(x, t) = x * t, K = 2 steps (dt = 0.5), sigma = 0.5, chain x0 = 1, x1 = 0.4, x2 = 0.3
    # step 0 (t = 1):   mu0 = 1 - 0.5 * (1 * 1) = 0.5;     log N(0.4; 0.5, 0.5^2)
    #                   = -0.5 * (0.1 / 0.5)^2 - log 0.5 - log(2 pi) / 2 = -0.02 + 0.693147 - 0.918939
    # step 1 (t = 0.5): mu1 = 0.4 - 0.5 * (0.4 * 0.5) = 0.3; log N(0.3; 0.3, 0.5^2) = 0.693147 - 0.918939
    chain = torch.tensor([[[1.0], [0.4], [0.3]]], dtype=torch.float64)
    obs = torch.zeros(1, 2, dtype=torch.float64)
    lp = step_log_probs(lambda x, t, o: x * t.unsqueeze(-1), obs, chain, sigma=0.5)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    expected = [-0.02 - math.log(0.5) - half_log_2pi, -math.log(0.5) - half_log_2pi]
    assert lp.shape == (1, 2)
    assert lp[0].tolist() == pytest.approx(expected, abs=1e-12)
    # in D dims the step's log-density is the sum over dims: two identical dims double it
    lp2 = step_log_probs(lambda x, t, o: x * t.unsqueeze(-1), obs, chain.expand(1, 3, 2), sigma=0.5)
    assert lp2[0].tolist() == pytest.approx([2 * e for e in expected], abs=1e-12)


def _policy():
    torch.manual_seed(0)
    enc = encoders.make("prior", obs_dim=5, latent_dim=3)
    dec = decoders.make("flow", obs_dim=5, action_dim=3, hidden=[16, 16], steps=4)
    return CompositePolicy(enc, dec)


def test_the_noiseless_chain_is_the_flow_sampler():
    policy = _policy()
    obs, z = torch.randn(7, 5), torch.randn(7, 3)
    with torch.no_grad():
        chain = denoising_chain(policy.decoder.velocity, obs, z, steps=4, sigma=0.0)
        assert chain.shape == (7, 5, 3) and torch.equal(chain[:, 0], z)
        assert torch.equal(chain[:, -1], policy.decoder.decode(obs, z))


def test_the_chain_noise_has_the_configured_scale():
    policy = _policy()
    obs, z = torch.randn(20000, 5), torch.zeros(20000, 3)
    with torch.no_grad():
        noisy = denoising_chain(policy.decoder.velocity, obs, z, steps=1, sigma=0.05)
        clean = denoising_chain(policy.decoder.velocity, obs, z, steps=1, sigma=0.0)
    assert (noisy - clean)[:, 1].std().item() == pytest.approx(0.05, rel=0.02)


def test_actor_outputs_and_deterministic_evaluation():
    policy = _policy()
    actor = DenoisingActor(policy, sigma=0.05)
    obs = torch.randn(6, 5)
    with torch.no_grad():
        out = actor.act(obs)
        assert out["chain"].shape == (6, 5, 3) and torch.equal(out["chain"][:, -1], out["raw_action"])
        assert torch.allclose(out["action"], torch.tanh(out["raw_action"]), atol=1e-6)  # bounds [-1, 1]
        det = actor.act(obs, deterministic=True)
        # deterministic: z = 0 (the prior's mean) and no step noise, which is what evaluation runs
        assert torch.equal(det["action"], policy.act(obs, deterministic=True)["action"])


def test_per_step_ratio_is_one_at_the_behaviour_parameters():
    policy = _policy()
    term = DPPOTerm(DPPOConfig())
    term.bind(policy)
    obs = torch.randn(40, 5)
    with torch.no_grad():
        data = term.prepare(policy, obs, term.actor(policy).act(obs))
    idx = torch.arange(3, 19)
    out = term.objective(policy, obs[idx], {k: v[idx] for k, v in data.items()}, penalty=False)
    assert out["log_ratio"].shape == (16, 4)
    assert out["log_ratio"].abs().max().item() < 1e-5  # log-densities ~ +20 at sigma 0.05: float32 rounding
    assert out["log_ratio"].requires_grad


def test_dppo_trains_the_flow_and_freezes_nothing_else():
    policy = _policy()
    params = DPPOTerm(DPPOConfig()).bind(policy)
    assert len(params) == len(list(policy.decoder.parameters())) and all(p.requires_grad for p in params)
    assert list(policy.encoder.parameters()) == []
