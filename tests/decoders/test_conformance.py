"""Every registered decoder passes the library's conformance suite, driven by Hypothesis."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gorl.decoders as D
from gorl.testing import check_decoder

batch_shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@pytest.mark.parametrize("name", D.names())
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    obs_dim=st.integers(1, 9),
    action_dim=st.integers(1, 6),
    batch_shape=batch_shapes,
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_registered_decoder_conforms(name, obs_dim, action_dim, batch_shape, seed, dtype):
    check_decoder(
        D.REGISTRY.get(name),
        obs_dim=obs_dim,
        action_dim=action_dim,
        batch_shape=batch_shape,
        seed=seed,
        dtype=dtype,
    )


@settings(max_examples=20, deadline=None)
@given(
    obs_dim=st.integers(1, 9),
    action_dim=st.integers(1, 6),
    batch_shape=batch_shapes,
    seed=st.integers(0, 2**16),
)
def test_identity_is_an_exact_pass_through(obs_dim, action_dim, batch_shape, seed):
    dec = D.make("identity", obs_dim=obs_dim, action_dim=action_dim)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(*batch_shape, action_dim, generator=g)
    out = dec.decode(torch.randn(*batch_shape, obs_dim, generator=g), z)
    assert torch.equal(out, z)
    assert dec.trainable is False
    assert list(dec.parameters()) == []


def test_identity_rejects_a_latent_of_another_size():
    with pytest.raises(ValueError, match="latent_dim == action_dim"):
        D.make("identity", obs_dim=3, action_dim=2, latent_dim=4)
