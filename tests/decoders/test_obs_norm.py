"""``obs_norm="fit"``: the flow and diffusion nets read observations standardised like their fit's states."""

import functools

import pytest
import torch

from gorl.decoders.diffusion import DiffusionDecoder
from gorl.decoders.flow import MIN_OBS_STD, FlowDecoder
from gorl.interfaces.decoder import ObservationStandardizing
from gorl.testing import check_decoder
from gorl.twotimescale.fit import FitConfig, fit_decoder

DECODERS = [FlowDecoder, DiffusionDecoder]


def _raw_obs(n: int, seed: int = 0) -> torch.Tensor:
    """Observations on very different scales, one coordinate constant (as a raw dm_control state can be)."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(n, 4, generator=g) * torch.tensor([0.1, 1.0, 30.0, 0.0]) + torch.tensor([2, -1, 5, 7.0])
    return obs


@pytest.mark.parametrize("cls", DECODERS)
def test_fit_sets_the_moments_of_its_training_states(cls):
    torch.manual_seed(0)
    dec = cls(obs_dim=4, action_dim=2, obs_norm="fit")
    assert isinstance(dec, ObservationStandardizing)
    obs = _raw_obs(500)
    act = torch.tanh(obs[:, :2])
    cfg = FitConfig(steps=3, batch_size=64, val_fraction=0.0, progress=False)
    fit_decoder(dec, obs, act, cfg)
    torch.testing.assert_close(dec.net.obs_mean, obs.mean(0))
    want_std = obs.std(0, correction=0).clamp_min(MIN_OBS_STD)
    torch.testing.assert_close(dec.net.obs_std, want_std)
    assert dec.net.obs_std[3] == MIN_OBS_STD  # the constant coordinate is divided by the floor, not by 0


@pytest.mark.parametrize("cls", DECODERS)
def test_the_net_reads_standardised_observations(cls):
    torch.manual_seed(0)
    dec = cls(obs_dim=4, action_dim=2, obs_norm="fit")
    plain = cls(obs_dim=4, action_dim=2)
    plain.net.body.load_state_dict(dec.net.body.state_dict())
    obs = _raw_obs(64, seed=1)
    dec.standardize_to(_raw_obs(300, seed=2))
    z = torch.randn(64, 2)
    standardised = (obs - dec.net.obs_mean) / dec.net.obs_std
    torch.testing.assert_close(dec.decode(obs, z), plain.decode(standardised, z))
    assert not torch.allclose(dec.decode(obs, z), plain.decode(obs, z))


@pytest.mark.parametrize("cls", DECODERS)
def test_moments_travel_in_the_state_dict_and_reset_with_the_weights(cls):
    dec = cls(obs_dim=4, action_dim=2, obs_norm="fit")
    dec.standardize_to(_raw_obs(300))
    copy = cls(obs_dim=4, action_dim=2, obs_norm="fit")
    copy.load_state_dict(dec.state_dict())
    obs, z = _raw_obs(8, seed=3), torch.randn(8, 2)
    torch.testing.assert_close(copy.decode(obs, z), dec.decode(obs, z))
    dec.reset_parameters()
    assert torch.equal(dec.net.obs_mean, torch.zeros(4)) and torch.equal(dec.net.obs_std, torch.ones(4))


@pytest.mark.parametrize("cls", DECODERS)
def test_without_the_option_nothing_changes(cls):
    # no buffers, so state_dicts written before the option existed still load; standardize_to is a no-op
    dec = cls(obs_dim=4, action_dim=2)
    assert not any("obs_" in k for k in dec.state_dict())
    before = {k: v.clone() for k, v in dec.state_dict().items()}
    dec.standardize_to(_raw_obs(50))
    assert all(torch.equal(before[k], v) for k, v in dec.state_dict().items())


def test_a_raw_state_scale_is_fitted_better_with_the_option():
    # one input coordinate ranges over +-60 while the action depends on a coordinate of scale 0.1: on
    # raw inputs the small net barely sees the signal in a short fit; standardised it does
    obs = _raw_obs(4096)
    act = torch.tanh(3 * (obs[:, :1] - 2.0) / 0.1 * 0.3).repeat(1, 2)
    held = _raw_obs(512, seed=9)
    held_act = torch.tanh(3 * (held[:, :1] - 2.0) / 0.1 * 0.3).repeat(1, 2)
    errors = {}
    for norm in ("none", "fit"):
        torch.manual_seed(0)
        dec = FlowDecoder(obs_dim=4, action_dim=2, obs_norm=norm)
        fit_decoder(dec, obs, act, FitConfig(steps=300, batch_size=256, lr=1e-3, progress=False))
        with torch.no_grad():
            errors[norm] = float((dec.decode(held, torch.zeros(512, 2)) - held_act).abs().mean())
    assert errors["fit"] < 0.5 * errors["none"], errors


@pytest.mark.parametrize("cls", DECODERS)
def test_conformance_with_the_option(cls):
    check_decoder(functools.partial(cls, obs_norm="fit"), obs_dim=5, action_dim=3, batch_shape=(2, 3))
