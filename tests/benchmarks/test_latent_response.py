"""benchmarks/latent_response.py: the latent's gain through a decoder, on maps whose gain is known."""

import pytest
import torch
from torch import nn

import gorl.decoders as D


class _Map(nn.Module):
    """g(s, z) = f(z) for a given f: obs_dim 3, latent and action dim 2."""

    obs_dim, latent_dim, action_dim = 3, 2, 2

    def __init__(self, f):
        super().__init__()
        self.f = f

    def decode(self, obs, z):
        return self.f(z)


def test_the_gain_of_known_maps(load_script):
    lr = load_script("latent_response").latent_response
    obs = torch.randn(4, 3)
    # the identity (an ideal coupled refit of N(0, I)) and a diagonal linear map: one spread per unit
    for dec in (D.make("identity", obs_dim=3, action_dim=2), _Map(lambda z: z * torch.tensor([2.0, 0.5]))):
        r = lr(dec, obs, draws=4096)
        assert r["gain_median"] == pytest.approx(1.0, abs=0.05) and r["gain_p10"] == pytest.approx(
            1.0, abs=0.05
        )
        assert r["gain_at_1.5"] == pytest.approx(1.0, abs=1e-4) and r["cross"] == pytest.approx(0.0, abs=1e-5)
        assert r["linear_r2"] == pytest.approx(1.0, abs=1e-5)
    # a map that saturates: tanh(z) responds less far from 0 than at 0, and is not linear
    sat = lr(_Map(torch.tanh), obs, draws=4096)
    assert sat["gain_at_1.5"] < 0.6 and sat["linear_r2"] < 0.95
    # N(0, I) again, but action 0 takes only half its spread from its own latent: gain 0.5 there
    half = lr(_Map(lambda z: torch.stack([0.5 * z[:, 0] + 0.866 * z[:, 1], z[:, 1]], -1)), obs, draws=4096)
    assert half["gain_p10"] == pytest.approx(0.5, abs=0.05)
