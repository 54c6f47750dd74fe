"""The prior encoder: N(0, I) for every state, no parameters, and the LatentPolicy contract."""

import torch

import gorl.encoders as encoders
from gorl.testing import check_latent_policy


def test_the_prior_passes_the_latent_policy_check():
    check_latent_policy(
        lambda **kw: encoders.make("prior", **kw), obs_dim=4, latent_dim=3, batch_shape=(2, 5)
    )


def test_the_prior_is_the_standard_normal_everywhere():
    enc = encoders.make("prior", obs_dim=4, latent_dim=3)
    obs = torch.randn(7, 4) * 100
    loc, scale = enc.loc_scale(obs)
    assert torch.equal(loc, torch.zeros(7, 3)) and torch.equal(scale, torch.ones(7, 3))
    assert list(enc.parameters()) == [] and enc.mode(obs).shape == (7, 3)
