"""benchmarks/latent_temperature.py: its act functions against the policy's own paths."""

import torch

import gorl.decoders
import gorl.encoders
from gorl.composite import CompositePolicy
from gorl.squash import squash


def test_the_variants_act_as_documented(load_script):
    script = load_script("latent_temperature")
    torch.manual_seed(0)
    encoder = gorl.encoders.make("gaussian", obs_dim=3, latent_dim=2)
    with torch.no_grad():
        for (
            p
        ) in encoder.parameters():  # away from the prior, so that the mean action is not the latent mean's
            p.normal_(0.0, 0.7)
    policy = CompositePolicy(encoder, gorl.decoders.make("identity", obs_dim=3, action_dim=2), -1.0, 1.0)
    obs = torch.randn(5, 3)
    with torch.no_grad():
        acts = script.actors(policy, [0.0, 1.0], samples=20_000, seed=0)
        assert set(acts) == {"t=0", "t=1", "mean"}
        assert torch.equal(acts["t=0"](obs), policy.act(obs, deterministic=True)["action"])  # the latent mean
        loc, scale = encoder.loc_scale(obs)
        first, second = acts["t=1"](obs), acts["t=1"](obs)
        assert not torch.equal(first, second) and (first.abs() <= 1).all()  # sampled, squashed
        eps = torch.randn((20_000, *loc.shape), generator=torch.Generator().manual_seed(1))
        expected = squash(loc + scale * eps, policy.action_low, policy.action_high).mean(0)
        assert torch.allclose(acts["mean"](obs), expected, atol=0.02)  # the policy's mean action
        assert not torch.allclose(acts["mean"](obs), acts["t=0"](obs), atol=0.02)  # not the latent mean's
