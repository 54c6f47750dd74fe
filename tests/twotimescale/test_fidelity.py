"""Fidelity measures: hand-computed energy distances, and each measure sees the difference it names."""

import pytest
import torch

import gorl.decoders as D
import gorl.encoders as E
from gorl.composite import CompositePolicy
from gorl.twotimescale import action_fidelity, energy_distance


def test_energy_distance_by_hand():
    # x = {0, 2}, y = {1} in 1-d: E|x-y| = 1, E|x-x'| = (0 + 2 + 2 + 0) / 4 = 1, E|y-y'| = 0 -> 2 - 1 - 0 = 1
    x = torch.tensor([[[0.0], [2.0]]])
    y = torch.tensor([[[1.0]]])
    assert energy_distance(x, y).tolist() == pytest.approx([1.0])
    assert energy_distance(x, x).tolist() == [0.0]


class Shifted(torch.nn.Module):
    """a = scale * z + shift (tests the measures against known answers)."""

    trainable, couples = False, True

    def __init__(self, shift=0.0, scale=1.0):
        super().__init__()
        self.obs_dim, self.action_dim, self.latent_dim = 3, 2, 2
        self.shift, self.scale = shift, scale

    def decode(self, obs, z):
        return self.scale * z + self.shift

    def loss(self, obs, action, generator=None, noise=None):
        return action.sum() * 0

    def reset_parameters(self):
        pass


def _policy(decoder):
    enc = E.make("gaussian", obs_dim=3, latent_dim=2)  # the prior: N(0, I) at every state
    return CompositePolicy(enc, decoder, -10.0, 10.0)


def test_the_same_policy_scores_perfectly_and_a_shift_and_a_scale_show_where_they_should():
    torch.manual_seed(0)
    obs = torch.randn(16, 3)
    same = action_fidelity(_policy(Shifted()), _policy(Shifted()), obs, samples=512)
    assert same.mean_error < 0.1 and same.spread_ratio == pytest.approx(1.0, abs=0.05)
    assert same.det_error == 0.0 and same.energy_distance < 0.02
    # a perfect refit scores its sampling floor, 2 / sqrt(pi * 512) = 0.050, not 0
    assert same.mean_error_floor == pytest.approx(0.0499, abs=1e-4)
    assert same.mean_error == pytest.approx(same.mean_error_floor, rel=0.3)
    assert 0 < same.mean_error_se < same.mean_error / 2
    shifted = action_fidelity(_policy(Shifted()), _policy(Shifted(shift=0.5)), obs, samples=512)
    assert shifted.det_error == pytest.approx(0.5, rel=0.1)  # 0.5 action units = 0.5 of the spread 1
    assert shifted.mean_error == pytest.approx(0.5, abs=0.1)
    assert shifted.spread_ratio == pytest.approx(1.0, abs=0.05) and shifted.energy_distance > 0.1
    wide = action_fidelity(_policy(Shifted()), _policy(Shifted(scale=2.0)), obs, samples=512)
    assert wide.spread_ratio == pytest.approx(2.0, rel=0.05) and wide.det_error == 0.0


class Saturated(Shifted):
    """Shifted, but deterministic (clipped to 0.3) at the states whose first coordinate is positive."""

    def decode(self, obs, z):
        a = super().decode(obs, z)
        return torch.where(obs[..., :1] > 0, torch.full_like(a, 0.3), a)


def test_a_state_where_the_data_policy_is_deterministic_does_not_dominate_the_average():
    # without a floor on the data policy's spread, one saturated state divides by ~0
    torch.manual_seed(0)
    obs = torch.randn(16, 3)
    obs[1:, 0] = -obs[1:, 0].abs()  # only state 0 saturates
    obs[0, 0] = 1.0
    f = action_fidelity(_policy(Saturated()), _policy(Shifted(shift=0.01)), obs, samples=512)
    # 15 states agree to 0.01 of the spread; the saturated one counts at most 1 / 0.1 = 10 units of error
    assert f.mean_error < 1.0 and f.spread_ratio < 1.0 + 10 / 16 + 0.1


def test_a_coupled_flow_refit_reproduces_an_affine_policy():
    # the data policy: a = 0.5 + 0.3 * z with z ~ N(mu(s), 1) from a state-dependent encoder
    from gorl.twotimescale import FitConfig, draw_pairs, fit_decoder

    torch.manual_seed(0)
    enc = E.make("gaussian", obs_dim=3, latent_dim=2, init_head_gain=1.0)
    data = CompositePolicy(enc, Shifted(shift=0.5, scale=0.3), -10.0, 10.0)
    obs = torch.randn(2048, 3)
    pairs = draw_pairs(data, obs, 2, coupled=True, raw_action_clip=3.0, generator=torch.Generator())
    flow = D.make("flow", obs_dim=3, action_dim=2, hidden=[64, 64])
    fit_decoder(
        flow,
        pairs.obs,
        pairs.action,
        FitConfig(steps=600, lr=3e-3, batch_size=512, progress=False),
        noise=pairs.noise,
    )
    refit = _policy(flow)
    fid = action_fidelity(data, refit, torch.randn(32, 3), samples=256)
    assert fid.det_error < 0.2 and fid.mean_error < 0.2 and 0.85 < fid.spread_ratio < 1.15
