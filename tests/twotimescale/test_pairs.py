"""Refit pairs: shapes, the coupling eps = (z - mu) / sigma, and the clip."""

import torch

import gorl.decoders as D
import gorl.encoders as E
from gorl.composite import CompositePolicy
from gorl.twotimescale import draw_pairs


def test_coupled_pairs_carry_the_noise_that_made_each_action():
    torch.manual_seed(0)
    enc = E.make("gaussian", obs_dim=4, latent_dim=3, init_head_gain=1.0)
    policy = CompositePolicy(enc, D.make("identity", obs_dim=4, action_dim=3), -1.0, 1.0)
    obs = torch.randn(5, 4)
    pairs = draw_pairs(policy, obs, 4, coupled=True, raw_action_clip=100.0, generator=torch.Generator())
    assert pairs.obs.shape == (20, 4) and pairs.action.shape == (20, 3) and pairs.noise.shape == (20, 3)
    assert torch.equal(pairs.obs[:4], obs[:1].expand(4, 4))  # state-major: 4 actions per state
    loc, scale = enc.loc_scale(pairs.obs)
    # identity decoder: a = z = mu + sigma * eps exactly
    torch.testing.assert_close(pairs.action, (loc + scale * pairs.noise).detach())
    independent = draw_pairs(policy, obs, 1, coupled=False, raw_action_clip=0.1, generator=torch.Generator())
    assert independent.noise is None and independent.action.abs().max() <= 0.1
