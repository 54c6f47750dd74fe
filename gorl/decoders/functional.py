"""Pure math of the generative decoders: schedules, samplers and the time embedding (the flow's
probability path, which FPO shares, is ``gorl.paths``).

Conventions (the official GoRL code's): time runs from data (t = 0) to noise (t = 1 for flow, t = T for
diffusion); sampling starts at the noise end from the latent ``z`` and integrates back to t = 0.
Every function is tensor-in/tensor-out and keeps the dtype and device of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def sinusoidal_embedding(t: Tensor, dim: int, max_freq: float = 100.0) -> Tensor:
    """A fixed multi-frequency embedding of a scalar time in [0, 1].

    Frequencies are geometric from 1 to ``max_freq`` (radians per unit time), so the slowest feature is
    a smooth function of t over the whole interval and the fastest resolves steps of about 1 / max_freq.

    Args:
        t: ``(*B,)`` times, usually in [0, 1].
        dim: embedding width, even and >= 2.
        max_freq: the highest angular frequency.

    Returns:
        ``(*B, dim)``: ``[sin(f_0 t), ..., sin(f_{h-1} t), cos(f_0 t), ..., cos(f_{h-1} t)]``, h = dim / 2.
    """
    if dim < 2 or dim % 2:
        raise ValueError(f"the time embedding width must be even and >= 2, got {dim}")
    half = dim // 2
    freqs = torch.exp(torch.linspace(0.0, math.log(max_freq), half, dtype=t.dtype, device=t.device))
    angles = t.unsqueeze(-1) * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


# -- flow matching ------------------------------------------------------------------------------------


def euler_integrate(velocity: Callable[[Tensor, Tensor], Tensor], x1: Tensor, steps: int) -> Tensor:
    """Integrates ``dx/dt = velocity(x, t)`` from t = 1 back to t = 0 with ``steps`` Euler steps.

    Step k (k = 0..steps-1) is at ``t_k = 1 - k / steps``: ``x <- x - (1 / steps) * velocity(x, t_k)``.

    Args:
        velocity: maps ``(x (N, D), t (N,))`` to ``(N, D)``.
        x1: ``(N, D)`` start points at t = 1 (the latent).
        steps: number of Euler steps, >= 1.

    Returns:
        ``(N, D)``: the points at t = 0.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    dt = 1.0 / steps
    x = x1
    for k in range(steps):
        t = torch.full(x.shape[:-1], 1.0 - k * dt, dtype=x.dtype, device=x.device)
        x = x - dt * velocity(x, t)
    return x


# -- diffusion ----------------------------------------------------------------------------------------


def cosine_alpha_bars(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """Nichol & Dhariwal's cosine schedule: cumulative signal fractions ``alpha_bar_0..alpha_bar_T``.

    ``f(t) = cos^2(((t / T + s) / (1 + s)) * pi / 2)``; ``beta_t = min(1 - f(t) / f(t - 1), max_beta)``;
    ``alpha_bar_t = prod_{i <= t} (1 - beta_i)``, with ``alpha_bar_0 = 1`` (clean data).

    Args:
        timesteps: T, the number of noising steps, >= 1.
        s: the small offset that keeps beta_1 from vanishing.
        max_beta: the cap on each beta (Nichol & Dhariwal use 0.999).

    Returns:
        ``(T + 1,)`` float64, strictly decreasing from 1 towards 0.
    """
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    steps = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos((steps / timesteps + s) / (1.0 + s) * math.pi / 2.0) ** 2
    betas = (1.0 - f[1:] / f[:-1]).clamp(max=max_beta)
    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1.0 - betas, dim=0)])


def q_sample(action: Tensor, eps: Tensor, alpha_bar: Tensor) -> Tensor:
    """The forward (noising) marginal ``x_t = sqrt(alpha_bar_t) * action + sqrt(1 - alpha_bar_t) * eps``.

    Args:
        action: ``(*B, D)`` clean points x_0.
        eps: ``(*B, D)`` noise, N(0, I).
        alpha_bar: ``(*B,)`` the schedule at each point's timestep.

    Returns:
        ``(*B, D)``.
    """
    ab = alpha_bar.unsqueeze(-1)
    return ab.sqrt() * action + (1.0 - ab).sqrt() * eps


def velocity_target(action: Tensor, eps: Tensor, alpha_bar: Tensor) -> Tensor:
    """The velocity ``v = sqrt(alpha_bar_t) * eps - sqrt(1 - alpha_bar_t) * action`` (Salimans & Ho's
    v-prediction target): the noise at low noise, minus the clean point at high noise.

    Args:
        action: ``(*B, D)`` clean points x_0.
        eps: ``(*B, D)`` the noise paired with them.
        alpha_bar: ``(*B,)`` the schedule at each point's timestep.

    Returns:
        ``(*B, D)``.
    """
    ab = alpha_bar.unsqueeze(-1)
    return ab.sqrt() * eps - (1.0 - ab).sqrt() * action


def x0_from_velocity(x_t: Tensor, v_hat: Tensor, alpha_bar_t: Tensor) -> Tensor:
    """The clean point a predicted velocity implies: ``x0 = sqrt(ab_t) * x_t - sqrt(1 - ab_t) * v_hat``
    (exact for ``v_hat = velocity_target``, since ``x_t = q_sample``). An error in ``v_hat`` moves x0 by at
    most as much at every t, and near t = 0 x0 follows ``x_t`` itself.

    Args:
        x_t: ``(*B, D)`` noised points.
        v_hat: ``(*B, D)`` predicted velocities.
        alpha_bar_t: scalar tensor, the schedule at t.

    Returns:
        ``(*B, D)``.
    """
    return alpha_bar_t.sqrt() * x_t - (1.0 - alpha_bar_t).sqrt() * v_hat


def ddim_timesteps(train_timesteps: int, steps: int) -> list[int]:
    """The ``steps + 1`` evenly spaced integer timesteps of a DDIM chain, from T down to 0.

    Returns:
        ``[T, ..., 0]``, strictly decreasing (needs ``1 <= steps <= T``).
    """
    if not 1 <= steps <= train_timesteps:
        raise ValueError(f"DDIM steps must be in [1, train_timesteps={train_timesteps}], got {steps}")
    return [round(train_timesteps * (steps - k) / steps) for k in range(steps + 1)]


def ddim_step(
    x_t: Tensor, eps_hat: Tensor, alpha_bar_t: Tensor, alpha_bar_prev: Tensor, clip_x0: float | None = None
) -> Tensor:
    """One deterministic DDIM update (eta = 0) from timestep t to an earlier timestep.

    ``x0 = (x_t - sqrt(1 - ab_t) * eps_hat) / sqrt(ab_t)``, optionally clamped to ``[-clip_x0, clip_x0]``
    (then ``eps_hat`` is recomputed from the clamped x0 so that the pair stays consistent with x_t);
    ``x_prev = sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps_hat``.

    Args:
        x_t: ``(*B, D)`` current points.
        eps_hat: ``(*B, D)`` predicted noise.
        alpha_bar_t: scalar tensor, the schedule at t (in (0, 1]).
        alpha_bar_prev: scalar tensor, the schedule at the target timestep (1 at t = 0).
        clip_x0: bound on the predicted clean point, or None.

    Returns:
        ``(*B, D)``: the points at the target timestep.
    """
    sqrt_ab, sqrt_1mab = alpha_bar_t.sqrt(), (1.0 - alpha_bar_t).sqrt()
    x0 = (x_t - sqrt_1mab * eps_hat) / sqrt_ab
    if clip_x0 is not None:
        x0 = x0.clamp(-clip_x0, clip_x0)
        eps_hat = torch.where(sqrt_1mab > 0, (x_t - sqrt_ab * x0) / sqrt_1mab, eps_hat)
    return alpha_bar_prev.sqrt() * x0 + (1.0 - alpha_bar_prev).sqrt() * eps_hat


# -- noise draws --------------------------------------------------------------------------------------


def draw_normal(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """N(0, 1) noise of ``shape`` in ``like``'s dtype and device, from ``generator`` when given.

    A generator lives on one device: the draw happens there and is moved to ``like``'s device.
    """
    if generator is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    out = torch.randn(shape, generator=generator, dtype=like.dtype, device=generator.device)
    return out.to(like.device)


def draw_uniform(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """U[0, 1) draws of ``shape`` in ``like``'s dtype and device, from ``generator`` when given."""
    if generator is None:
        return torch.rand(shape, dtype=like.dtype, device=like.device)
    out = torch.rand(shape, generator=generator, dtype=like.dtype, device=generator.device)
    return out.to(like.device)


def draw_int(
    low: int, high: int, shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Integers uniform in ``[low, high)`` on ``like``'s device, from ``generator`` when given."""
    if generator is None:
        return torch.randint(low, high, shape, device=like.device)
    return torch.randint(low, high, shape, generator=generator, device=generator.device).to(like.device)


def ddim_step_from_x0(
    x_t: Tensor, x0_hat: Tensor, alpha_bar_t: Tensor, alpha_bar_prev: Tensor, clip_x0: float | None = None
) -> Tensor:
    """One deterministic DDIM update (eta = 0) from a predicted clean point (sample parameterisation).

    ``x0 = clamp(x0_hat)``, ``eps = (x_t - sqrt(ab_t) * x0) / sqrt(1 - ab_t)``,
    ``x_prev = sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps``. Well conditioned at high noise (ab_t near
    0), where recovering x0 from a predicted eps divides by ``sqrt(ab_t)``.

    Args:
        x_t: ``(*B, D)`` current points.
        x0_hat: ``(*B, D)`` predicted clean points.
        alpha_bar_t: scalar tensor, the schedule at t (in (0, 1)).
        alpha_bar_prev: scalar tensor, the schedule at the target timestep (1 at t = 0).
        clip_x0: bound on the predicted clean point, or None.

    Returns:
        ``(*B, D)``: the points at the target timestep.
    """
    x0 = x0_hat if clip_x0 is None else x0_hat.clamp(-clip_x0, clip_x0)
    eps = (x_t - alpha_bar_t.sqrt() * x0) / (1.0 - alpha_bar_t).sqrt()
    return alpha_bar_prev.sqrt() * x0 + (1.0 - alpha_bar_prev).sqrt() * eps
