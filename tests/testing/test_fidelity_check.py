"""check_refit_fidelity passes the built-in decoders and fails a decoder that cannot take over."""

import pytest
import torch
from torch import nn

import gorl.decoders as D
from gorl.testing import check_refit_fidelity


@pytest.mark.parametrize(
    ("name", "options"),
    [("flow", {}), ("diffusion", {"prediction": "sample"}), ("diffusion", {"prediction": "velocity"})],
)
def test_the_built_in_decoders_take_over_a_known_policy(name, options):
    fid = check_refit_fidelity(lambda **kw: D.make(name, hidden=[64, 64], **options, **kw))
    assert fid.det_error <= 0.2


def test_an_epsilon_diffusion_decoder_misses_the_spread_in_the_same_budget():
    # DDIM from x_T = z recovers x0 from a predicted epsilon by dividing by sqrt(alpha_bar_T) ~ 0: the
    # first steps' errors widen the decoded spread (docs/gorl.md); the check sees it
    with pytest.raises(AssertionError, match="spread ratio"):
        check_refit_fidelity(lambda **kw: D.make("diffusion", hidden=[64, 64], **kw))


class MeanOnly(nn.Module):
    """Fits the mean and ignores z: every action at a state is the same, the spread is lost."""

    trainable, couples = True, False

    def __init__(self, *, obs_dim, action_dim):
        super().__init__()
        self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, action_dim
        self.net = nn.Linear(obs_dim, action_dim)

    def decode(self, obs, z):
        return self.net(obs) + 0 * z

    def loss(self, obs, action, generator=None, noise=None):
        return (self.net(obs) - action).pow(2).mean()

    def reset_parameters(self):
        self.net.reset_parameters()


def test_a_decoder_that_drops_the_spread_fails_naming_it():
    torch.manual_seed(0)
    with pytest.raises(AssertionError, match="spread ratio"):
        check_refit_fidelity(MeanOnly)
