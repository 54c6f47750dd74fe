from importlib import metadata

import pytest
import torch
from torch import nn

import gorl.decoders as D
import gorl.encoders as E
from gorl.registry import Registry, RegistryError


def test_unknown_decoder_lists_the_known_ones():
    with pytest.raises(
        RegistryError, match=r"unknown decoder 'identty'.*Known: .*identity.*Did you mean 'identity'"
    ):
        D.make("identty", obs_dim=3, action_dim=2)


def test_unknown_encoder_lists_the_known_ones():
    with pytest.raises(RegistryError, match="Known: gaussian"):
        E.make("beta", obs_dim=3, latent_dim=2)


def test_duplicate_name_raises():
    with pytest.raises(RegistryError, match="already registered"):

        @D.register("identity")
        class Other(nn.Module):
            pass


def test_register_make_and_remove_a_user_decoder():
    @D.register("test-affine")
    class Affine(nn.Module):
        trainable = True
        couples = False

        def __init__(self, *, obs_dim, action_dim, latent_dim):
            super().__init__()
            self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, latent_dim
            self.scale = nn.Parameter(torch.ones(action_dim))

        def decode(self, obs, z):
            return z * self.scale

        def loss(self, obs, action, generator=None):
            return (self.scale - 1).pow(2).sum()

        def reset_parameters(self):
            nn.init.ones_(self.scale)

    try:
        assert "test-affine" in D.names()
        dec = D.make("test-affine", obs_dim=4, action_dim=2)
        assert dec.latent_dim == 2 and isinstance(dec, Affine)
    finally:
        D.REGISTRY.remove("test-affine")
    assert "test-affine" not in D.names()


def test_make_rejects_an_object_that_is_not_a_decoder():
    D.REGISTRY.add("test-broken", lambda **kw: object())
    try:
        with pytest.raises(TypeError, match="lacks part of the GenerativeDecoder interface"):
            D.make("test-broken", obs_dim=3, action_dim=2)
    finally:
        D.REGISTRY.remove("test-broken")


def test_entry_point_plugins_are_discovered(monkeypatch):
    reg: Registry[object] = Registry("widget", "gorl.test_widgets")
    sentinel = object()

    class FakeEP:
        name = "plugged"

        def load(self):
            return sentinel

    def fake_entry_points(group):
        return [FakeEP()] if group == "gorl.test_widgets" else []

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    assert reg.names() == ["plugged"]
    assert reg.get("plugged") is sentinel


def test_bad_names_are_rejected():
    reg: Registry[int] = Registry("thing", "gorl.test_things")
    with pytest.raises(RegistryError, match="non-empty string"):
        reg.add("", 1)
