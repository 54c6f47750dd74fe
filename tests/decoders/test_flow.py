"""The flow-matching decoder and its math: Euler integration, shapes, errors (its path: test_paths.py)."""

import pydantic
import pytest
import torch

import gorl.decoders as D
from gorl.decoders.flow import FlowConfig, FlowDecoder
from gorl.decoders.functional import euler_integrate, sinusoidal_embedding


def test_euler_with_a_linear_field_gives_the_known_endpoint():
    # dx/dt = x integrated backwards with 10 steps: x <- x (1 - 0.1), so x_0 = 0.9^10 z = 0.3486784401 z
    z = torch.tensor([[2.0, -1.0]], dtype=torch.float64)
    x0 = euler_integrate(lambda x, t: x, z, 10)
    torch.testing.assert_close(x0, z * 0.3486784401, rtol=0, atol=1e-10)


def test_euler_visits_times_from_one_down():
    seen = []
    euler_integrate(lambda x, t: seen.append(t[0].item()) or torch.zeros_like(x), torch.zeros(1, 1), 4)
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25])
    with pytest.raises(ValueError, match="steps"):
        euler_integrate(lambda x, t: x, torch.zeros(1, 1), 0)


def test_sinusoidal_embedding_shape_and_values():
    emb = sinusoidal_embedding(torch.tensor([0.0, 0.5]), 8)
    assert emb.shape == (2, 8)
    # at t = 0 every sin is 0 and every cos is 1
    assert torch.equal(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    # the slowest frequency is 1: sin(0.5) = 0.4794
    assert emb[1, 0].item() == pytest.approx(0.479425538)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_embedding(torch.zeros(1), 3)


def _constant_velocity(decoder: FlowDecoder, c: torch.Tensor) -> None:
    last = decoder.net.body[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(c)


def test_decode_integrates_from_z_at_t1_to_t0():
    # v = c everywhere: 10 Euler steps of dt = 0.1 move x by -c in total, so decode(z) = z - c
    dec = FlowDecoder(obs_dim=3, action_dim=2)
    c = torch.tensor([0.5, -2.0])
    _constant_velocity(dec, c)
    z = torch.randn(7, 2)
    torch.testing.assert_close(dec.decode(torch.randn(7, 3), z), z - c)


def test_loss_is_the_cfm_regression_onto_eps_minus_a():
    torch.manual_seed(0)
    dec = FlowDecoder(obs_dim=3, action_dim=2, pairs_per_sample=3)
    obs, act = torch.randn(4, 3), torch.randn(4, 2)
    loss = dec.loss(obs, act, generator=torch.Generator().manual_seed(5))
    # replay the same draws: eps (12, 2) then t (12,), the pairs stacked as 3 copies of the batch
    g = torch.Generator().manual_seed(5)
    a, o = act.repeat(3, 1), obs.repeat(3, 1)
    eps = torch.randn(12, 2, generator=g)
    t = torch.rand(12, generator=g)
    x_t = t[:, None] * eps + (1 - t[:, None]) * a
    want = ((dec.velocity(x_t, t, o) - (eps - a)) ** 2).mean()
    torch.testing.assert_close(loss, want)
    assert torch.equal(loss, dec.loss(obs, act, generator=torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_any_batch_shape_and_dtype(dtype):
    torch.manual_seed(1)
    dec = D.make("flow", obs_dim=4, action_dim=3).to(dtype)
    obs, z = torch.randn(2, 5, 4, dtype=dtype), torch.randn(2, 5, 3, dtype=dtype)
    out = dec.decode(obs, z)
    assert out.shape == (2, 5, 3) and out.dtype == dtype
    flat = dec.decode(obs.reshape(10, 4), z.reshape(10, 3)).reshape(2, 5, 3)
    torch.testing.assert_close(out, flat)
    torch.testing.assert_close(dec.decode(obs[1, 2], z[1, 2]), out[1, 2])
    assert dec.loss(obs, torch.randn(2, 5, 3, dtype=dtype)).dtype == dtype


def test_empty_batch_gives_a_zero_loss_not_nan():
    dec = D.make("flow", obs_dim=2, action_dim=1)
    assert dec.loss(torch.zeros(0, 2), torch.zeros(0, 1)).item() == 0.0
    assert dec.decode(torch.zeros(0, 2), torch.zeros(0, 1)).shape == (0, 1)


def test_reset_parameters_reinitialises():
    torch.manual_seed(2)
    dec = FlowDecoder(obs_dim=2, action_dim=2)
    before = [p.clone() for p in dec.parameters()]
    dec.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, dec.parameters(), strict=True))


def test_shape_errors_name_the_tensor():
    dec = FlowDecoder(obs_dim=3, action_dim=2)
    with pytest.raises(ValueError, match=r"z has shape \(4, 3\).*latent_dim=2"):
        dec.decode(torch.zeros(4, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"obs has shape \(4, 5\).*obs_dim=3"):
        dec.decode(torch.zeros(4, 5), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="batch shape"):
        dec.decode(torch.zeros(4, 3), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"action has shape \(4, 1\).*action_dim=2"):
        dec.loss(torch.zeros(4, 3), torch.zeros(4, 1))


def test_config_errors():
    with pytest.raises(ValueError, match="latent_dim == action_dim"):
        D.make("flow", obs_dim=3, action_dim=2, latent_dim=3)
    with pytest.raises(ValueError, match="obs_dim must be a positive int"):
        FlowDecoder(obs_dim=0, action_dim=2)
    with pytest.raises(pydantic.ValidationError, match="steps"):
        FlowConfig(steps=0)
    with pytest.raises(pydantic.ValidationError, match="even"):
        FlowConfig(time_embed_dim=7)
    with pytest.raises(pydantic.ValidationError, match="hidden"):
        FlowConfig(hidden=[64, 0])
    with pytest.raises(pydantic.ValidationError, match="nfe"):
        D.make("flow", obs_dim=3, action_dim=2, nfe=4)
