"""The conformance suite catches broken decoders and encoders (each check can fail)."""

import pytest
import torch
from torch import nn

from gorl.decoders.identity import IdentityDecoder
from gorl.encoders.gaussian import GaussianEncoder
from gorl.testing import check_decoder, check_latent_policy


class _Base(nn.Module):
    trainable = True
    couples = False

    def __init__(self, *, obs_dim, action_dim, latent_dim):
        super().__init__()
        self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, latent_dim
        self.lin = nn.Linear(obs_dim + latent_dim, action_dim)

    def _check(self, obs, z):
        if obs.shape[-1] != self.obs_dim or z.shape[-1] != self.latent_dim:
            raise ValueError("bad dims")

    def decode(self, obs, z):
        self._check(obs, z)
        return self.lin(torch.cat([obs, z], -1))

    def loss(self, obs, action, generator=None):
        z = torch.randn((*action.shape[:-1], self.latent_dim), generator=generator, dtype=action.dtype)
        return (self.decode(obs, z) - action).pow(2).mean()

    def reset_parameters(self):
        self.lin.reset_parameters()


class Noisy(_Base):
    def decode(self, obs, z):
        return super().decode(obs, z) + torch.randn(self.action_dim, dtype=z.dtype)


class WrongShape(_Base):
    def decode(self, obs, z):
        return super().decode(obs, z)[..., :1].expand(*z.shape[:-1], self.action_dim + 1)


class DeadLoss(_Base):
    def loss(self, obs, action, generator=None):
        return action.pow(2).mean()


class BatchCoupled(_Base):
    def decode(self, obs, z):
        out = super().decode(obs, z)
        return out - out.reshape(-1, self.action_dim).mean(0)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (Noisy, "not deterministic"),
        (WrongShape, "shape"),
        (DeadLoss, "no gradient path"),
        (BatchCoupled, "batch"),
    ],
)
def test_broken_decoders_fail(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_decoder(cls, obs_dim=3, action_dim=2, batch_shape=(2, 3))


def test_good_reference_decoder_passes():
    check_decoder(_Base, obs_dim=3, action_dim=2, batch_shape=(2, 3))


def test_gradient_into_the_encoder_is_caught(monkeypatch):
    # a composite whose decode used z without detaching would leak gradients: simulate that by patching
    import gorl.composite as comp

    def leaky(self, obs, z):
        raw = self.decoder.decode(obs, z)
        return raw, torch.tanh(raw)

    monkeypatch.setattr(comp._DecodeSquash, "forward", leaky)
    with pytest.raises(AssertionError, match="gradient path into the encoder"):
        check_decoder(IdentityDecoder, obs_dim=3, action_dim=2)


def test_encoder_not_at_prior_after_reset_fails():
    class NoReset(GaussianEncoder):
        def reset_to_prior(self, *, keep_features=False):
            pass

    with pytest.raises(AssertionError, match="reset_to_prior"):
        check_latent_policy(NoReset, obs_dim=3, latent_dim=2)


def test_anchoring_that_drops_the_gradient_or_the_gain_fails():
    class Detached(
        GaussianEncoder
    ):  # anchors by zeroing the head: the prior, but hidden layers get no gradient
        def anchor_to_prior(self, gain=1.0):
            self.reset_to_prior(keep_features=True)

    with pytest.raises(AssertionError, match="no gradient"):
        check_latent_policy(Detached, obs_dim=3, latent_dim=2)

    class NoGain(GaussianEncoder):
        def anchor_to_prior(self, gain=1.0):
            super().anchor_to_prior(1.0)

    with pytest.raises(AssertionError, match="twice as far"):
        check_latent_policy(NoGain, obs_dim=3, latent_dim=2)


def test_an_actor_that_returns_the_mean_fails():
    from tensordict.nn import InteractionType

    class MeanOnly(GaussianEncoder):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.actor.module[-1].default_interaction_type = InteractionType.DETERMINISTIC

    with pytest.raises(AssertionError, match="must sample"):
        check_latent_policy(MeanOnly, obs_dim=3, latent_dim=2)
