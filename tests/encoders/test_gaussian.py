import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tensordict import TensorDict

import gorl.encoders as E
from gorl.encoders.gaussian import GaussianEncoder, prior_penalty, scale_from_raw
from gorl.testing import check_latent_policy


@settings(max_examples=15, deadline=None)
@given(
    obs_dim=st.integers(1, 10),
    latent_dim=st.integers(1, 6),
    batch_shape=st.lists(st.integers(1, 4), max_size=3).map(tuple),
    seed=st.integers(0, 2**16),
)
def test_gaussian_encoder_conforms(obs_dim, latent_dim, batch_shape, seed):
    check_latent_policy(
        E.REGISTRY.get("gaussian"), obs_dim=obs_dim, latent_dim=latent_dim, batch_shape=batch_shape, seed=seed
    )


def test_default_network_is_4x32_silu():
    enc = GaussianEncoder(obs_dim=17, latent_dim=6)
    linears = [m for m in enc.loc_scale.net if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [32, 32, 32, 32, 12]
    assert all(isinstance(m, torch.nn.SiLU) for m in enc.loc_scale.net[1::2])


def test_scale_is_softplus_plus_1e3_clipped():
    raw = torch.tensor([-100.0, 0.0, 100.0])
    # softplus(-100) ~ 0 -> 1e-3; softplus(0) = ln 2 -> 0.6941; softplus(100) = 100 -> clipped to 10
    torch.testing.assert_close(scale_from_raw(raw), torch.tensor([1e-3, math.log(2) + 1e-3, 10.0]))


def test_prior_penalty_values_by_hand():
    loc = torch.tensor([[1.0, -1.0]])
    scale = torch.tensor([[2.0, 1.0]])
    # official: mean(loc^2) + mean(scale^2) = 1 + (4 + 1) / 2 = 3.5
    assert prior_penalty(loc, scale, "official").item() == pytest.approx(3.5)
    # paper: mean(loc^2) + mean(log(scale)^2) = 1 + (ln2^2 + 0) / 2
    assert prior_penalty(loc, scale, "paper").item() == pytest.approx(1 + math.log(2) ** 2 / 2)
    # kl per dim: 0.5 (s^2 + m^2 - 1) - ln s -> dim0: 0.5*4 - ln2, dim1: 0.5*1 - 0; mean over dims
    assert prior_penalty(loc, scale, "kl").item() == pytest.approx((2 - math.log(2) + 0.5) / 2)
    assert prior_penalty(torch.zeros(3, 2), torch.ones(3, 2), "kl").item() == pytest.approx(0.0)


def test_actor_samples_and_log_probs_latent():
    enc = E.make("gaussian", obs_dim=5, latent_dim=3)
    td = enc.actor(TensorDict({"observation": torch.randn(8, 5)}, [8]))
    assert 0.5 < td["latent"].std().item() < 1.5  # a sample from N(0, I), not the mean
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(td["latent"]).sum(-1)  # prior at init
    torch.testing.assert_close(td["latent_log_prob"], expected)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"hidden": []}, "hidden"),
        ({"hidden": [32, 0]}, "hidden"),
        ({"penalty": "l3"}, "penalty"),
        ({"widht": 3}, "widht"),
    ],
)
def test_bad_config_names_the_field(options, field):
    with pytest.raises(ValidationError, match=field):
        GaussianEncoder(obs_dim=3, latent_dim=2, **options)


def test_bad_dims_raise():
    with pytest.raises(ValueError, match="positive"):
        GaussianEncoder(obs_dim=0, latent_dim=2)


def _orthonormal(w: torch.Tensor, gain: float = 1.0) -> bool:
    """Rows or columns (whichever are fewer) of ``w / gain`` orthonormal."""
    w = w / gain
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return torch.allclose(small, torch.eye(small.shape[0]), atol=1e-5)


def test_orthogonal_init_keeps_the_prior_exact():
    torch.manual_seed(0)
    enc = GaussianEncoder(obs_dim=17, latent_dim=6, hidden=[64, 64], activation="tanh", init="orthogonal")
    linears = [m for m in enc.loc_scale.net if isinstance(m, torch.nn.Linear)]
    assert all(_orthonormal(lin.weight) and not lin.bias.any() for lin in linears[:-1])
    default = GaussianEncoder(obs_dim=17, latent_dim=6, hidden=[64, 64], activation="tanh")
    assert not _orthonormal(default.loc_scale.net[0].weight)  # the check can fail
    dist = enc.distribution(torch.randn(32, 17) * 3)
    assert torch.equal(dist.mean, torch.zeros(32, 6))
    assert torch.allclose(dist.stddev, torch.ones(32, 6), atol=1e-6)
    before = enc.loc_scale.net[0].weight.detach().clone()
    enc.reset_to_prior()  # again orthogonal, with fresh draws
    assert _orthonormal(enc.loc_scale.net[0].weight)
    assert not torch.equal(enc.loc_scale.net[0].weight, before)


def test_orthogonal_init_passes_the_latent_policy_check():
    check_latent_policy(
        lambda **kw: GaussianEncoder(**kw, init="orthogonal"),
        obs_dim=5,
        latent_dim=3,
        batch_shape=(4,),
        seed=1,
    )


def test_init_head_gain_starts_off_the_prior_and_reset_returns_to_it():
    torch.manual_seed(0)
    enc = GaussianEncoder(obs_dim=17, latent_dim=6, init="orthogonal", init_head_gain=1.0)
    head = enc.loc_scale.net[-1]
    assert _orthonormal(head.weight[:6])
    assert not head.weight[6:].any()  # the scale rows stay at the prior
    obs = torch.randn(32, 17) * 3
    dist = enc.distribution(obs)
    assert dist.mean.abs().min() > 0 and dist.mean.std(0).min() > 0  # state-dependent means
    assert torch.allclose(dist.stddev, torch.ones(32, 6), atol=1e-6)
    enc.reset_to_prior()
    assert torch.equal(enc.distribution(obs).mean, torch.zeros(32, 6))
