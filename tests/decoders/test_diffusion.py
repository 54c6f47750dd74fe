"""The diffusion decoder and its math: cosine schedule, DDIM with an oracle, shapes, errors."""

import itertools
import math

import pydantic
import pytest
import torch

import gorl.decoders as D
from gorl.decoders.diffusion import DiffusionConfig, DiffusionDecoder
from gorl.decoders.functional import (
    cosine_alpha_bars,
    ddim_step,
    ddim_step_from_x0,
    ddim_timesteps,
    q_sample,
    velocity_target,
    x0_from_velocity,
)


def test_cosine_schedule_properties():
    ab = cosine_alpha_bars(100)
    assert ab.shape == (101,) and ab.dtype == torch.float64
    assert ab[0].item() == 1.0
    assert bool((ab[1:] < ab[:-1]).all())  # strictly decreasing
    assert ab[1].item() > 0.999 and ab[-1].item() < 1e-3  # from ~1 (clean) to ~0 (noise)
    # before the beta cap bites, alpha_bar_t = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi / 2):
    # t = T/2, s = 0.008: cos^2(0.503968 * pi/2) / cos^2(0.007937 * pi/2) = 0.493767 / 0.999845 = 0.493844
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert ab[50].item() == pytest.approx(f(0.5) / f(0.0), rel=1e-9)
    assert ab[50].item() == pytest.approx(0.493844, abs=1e-6)
    betas = 1 - ab[1:] / ab[:-1]
    assert betas.max().item() == pytest.approx(0.999)  # the last beta is capped (f(T) = 0)


def test_q_sample_hand_numbers():
    # alpha_bar = 0.64: x_t = 0.8 a + 0.6 eps = 0.8 * 2 + 0.6 * (-1) = 1.0
    x = q_sample(torch.tensor([[2.0]]), torch.tensor([[-1.0]]), torch.tensor([0.64]))
    assert x.item() == pytest.approx(1.0)


def test_ddim_timesteps():
    assert ddim_timesteps(100, 10) == [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
    assert ddim_timesteps(10, 3) == [10, 7, 3, 0]  # round(20/3) = 7, round(10/3) = 3
    with pytest.raises(ValueError, match="DDIM steps"):
        ddim_timesteps(5, 6)


def test_ddim_with_an_oracle_epsilon_recovers_x0_exactly():
    # start from x_T built from known (x0, eps); feeding the true eps at every step keeps x_t on the
    # forward marginal q(x_t | x0) and lands on x0 at t = 0
    g = torch.Generator().manual_seed(0)
    x0, eps = (
        torch.randn(6, 3, generator=g, dtype=torch.float64),
        torch.randn(6, 3, generator=g, dtype=torch.float64),
    )
    ab = cosine_alpha_bars(50)
    chain = ddim_timesteps(50, 7)
    x = q_sample(x0, eps, ab[chain[0]].expand(6))
    for t, tp in itertools.pairwise(chain):
        x = ddim_step(x, eps, ab[t], ab[tp])
        torch.testing.assert_close(x, q_sample(x0, eps, ab[tp].expand(6)), rtol=0, atol=1e-9)
    torch.testing.assert_close(x, x0, rtol=0, atol=1e-9)


def test_velocity_hand_numbers_and_exact_x0():
    # alpha_bar = 0.64, a = 2, eps = -1: v = 0.8 * (-1) - 0.6 * 2 = -2; x_t = 1 (above);
    # x0 = 0.8 * 1 - 0.6 * (-2) = 2 = a
    a, eps, ab = torch.tensor([[2.0]]), torch.tensor([[-1.0]]), torch.tensor([0.64])
    v = velocity_target(a, eps, ab)
    assert v.item() == pytest.approx(-2.0)
    assert x0_from_velocity(q_sample(a, eps, ab), v, ab[0]).item() == pytest.approx(2.0)


def test_ddim_with_an_oracle_velocity_recovers_x0_exactly():
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(5, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(5, 2, generator=g, dtype=torch.float64)
    ab = cosine_alpha_bars(40)
    chain = ddim_timesteps(40, 6)
    x = q_sample(x0, eps, ab[chain[0]].expand(5))
    for t, tp in itertools.pairwise(chain):
        v = velocity_target(x0, eps, ab[t].expand(5))
        x = ddim_step_from_x0(x, x0_from_velocity(x, v, ab[t]), ab[t], ab[tp])
        torch.testing.assert_close(x, q_sample(x0, eps, ab[tp].expand(5)), rtol=0, atol=1e-9)
    torch.testing.assert_close(x, x0, rtol=0, atol=1e-9)


def test_ddim_clips_the_predicted_x0():
    # ab_t = 0.25, eps_hat = 0, x_t = 4: x0 = 4 / 0.5 = 8, clipped to 3; a step to t = 0 returns x0
    out = ddim_step(
        torch.tensor([[4.0]]), torch.zeros(1, 1), torch.tensor(0.25), torch.tensor(1.0), clip_x0=3.0
    )
    assert out.item() == pytest.approx(3.0)
    out = ddim_step(torch.tensor([[4.0]]), torch.zeros(1, 1), torch.tensor(0.25), torch.tensor(1.0))
    assert out.item() == pytest.approx(8.0)


def test_decode_is_the_ddim_chain_from_z():
    torch.manual_seed(0)
    dec = DiffusionDecoder(obs_dim=3, action_dim=2, train_timesteps=20, steps=4, clip_x0=None)
    obs, z = torch.randn(5, 3), torch.randn(5, 2)
    ab = cosine_alpha_bars(20).float()
    x = z
    for t, tp in zip([20, 15, 10, 5], [15, 10, 5, 0], strict=True):
        eps = dec.net(x, torch.full((5,), t / 20), obs)
        x0 = (x - (1 - ab[t]).sqrt() * eps) / ab[t].sqrt()
        x = ab[tp].sqrt() * x0 + (1 - ab[tp]).sqrt() * eps
    torch.testing.assert_close(dec.decode(obs, z), x)


def test_loss_is_the_epsilon_regression():
    torch.manual_seed(0)
    dec = DiffusionDecoder(obs_dim=3, action_dim=2, pairs_per_sample=2, train_timesteps=30)
    obs, act = torch.randn(4, 3), torch.randn(4, 2)
    loss = dec.loss(obs, act, generator=torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(9)  # replay: t (8,) in 1..30, then eps (8, 2)
    a, o = act.repeat(2, 1), obs.repeat(2, 1)
    t = torch.randint(1, 31, (8,), generator=g)
    eps = torch.randn(8, 2, generator=g)
    ab = cosine_alpha_bars(30).float()[t][:, None]
    x_t = ab.sqrt() * a + (1 - ab).sqrt() * eps
    want = ((dec.net(x_t, t / 30, o) - eps) ** 2).mean()
    torch.testing.assert_close(loss, want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_any_batch_shape_and_dtype(dtype):
    torch.manual_seed(1)
    dec = D.make("diffusion", obs_dim=4, action_dim=3).to(dtype)
    obs, z = torch.randn(2, 5, 4, dtype=dtype), torch.randn(2, 5, 3, dtype=dtype)
    out = dec.decode(obs, z)
    assert out.shape == (2, 5, 3) and out.dtype == dtype
    assert out.abs().max().item() <= 3.0 + 1e-6  # the last step returns the clipped x0
    torch.testing.assert_close(dec.decode(obs.reshape(10, 4), z.reshape(10, 3)).reshape(2, 5, 3), out)
    torch.testing.assert_close(dec.decode(obs[0, 0], z[0, 0]), out[0, 0])
    assert dec.loss(obs, torch.randn(2, 5, 3, dtype=dtype)).dtype == dtype


def test_state_dict_holds_only_the_net():
    dec = DiffusionDecoder(obs_dim=2, action_dim=2)
    assert all(k.startswith("net.") for k in dec.state_dict())
    twin = DiffusionDecoder(obs_dim=2, action_dim=2)
    twin.load_state_dict(dec.state_dict())
    obs, z = torch.randn(3, 2), torch.randn(3, 2)
    assert torch.equal(twin.decode(obs, z), dec.decode(obs, z))


def test_reset_parameters_reinitialises():
    torch.manual_seed(2)
    dec = DiffusionDecoder(obs_dim=2, action_dim=2)
    before = [p.clone() for p in dec.parameters()]
    dec.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, dec.parameters(), strict=True))


def test_errors():
    dec = DiffusionDecoder(obs_dim=3, action_dim=2)
    with pytest.raises(ValueError, match=r"z has shape \(4, 1\).*latent_dim=2"):
        dec.decode(torch.zeros(4, 3), torch.zeros(4, 1))
    with pytest.raises(ValueError, match=r"obs has shape \(4, 2\).*obs_dim=3"):
        dec.loss(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"action has shape"):
        dec.loss(torch.zeros(4, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match="latent_dim == action_dim"):
        D.make("diffusion", obs_dim=3, action_dim=2, latent_dim=1)
    with pytest.raises(pydantic.ValidationError, match="exceeds train_timesteps"):
        DiffusionConfig(steps=20, train_timesteps=10)
    with pytest.raises(pydantic.ValidationError, match="clip_x0"):
        DiffusionConfig(clip_x0=0.0)
