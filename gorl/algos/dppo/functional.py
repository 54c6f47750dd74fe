"""DPPO's math: the flow's Euler chain run as a Markov chain of Gaussian steps, and their log-densities.

Step k (k = 0 .. K - 1, ``t_k = 1 - k / K``, ``dt = 1 / K``) of the denoising MDP::

    x_{k+1} ~ N(mu_k, sigma^2 I),   mu_k = x_k - dt * v(x_k, t_k, s)

from ``x_0 = z`` (the noise) to ``x_K`` (the action before the squash). With sigma = 0 it is the flow's
deterministic Euler sampler (``gorl.decoders.functional.euler_integrate``), step for step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gorl.algos.fpo.functional import Velocity
from gorl.interfaces.latent_policy import gaussian_log_prob


def denoising_chain(velocity: Velocity, obs: Tensor, z: Tensor, steps: int, sigma: float) -> Tensor:
    """Samples the chain: ``obs (B, obs_dim)``, ``z (B, D)`` -> states ``(B, K + 1, D)``, ``x_0 = z``.

    ``sigma = 0`` adds no noise (the deterministic chain, used in evaluation).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    dt, x, states = 1.0 / steps, z, [z]
    for k in range(steps):
        t = torch.full(x.shape[:-1], 1.0 - k * dt, dtype=x.dtype, device=x.device)
        x = x - dt * velocity(x, t, obs)
        if sigma > 0:
            x = x + sigma * torch.randn_like(x)
        states.append(x)
    return torch.stack(states, dim=1)


def step_log_probs(velocity: Velocity, obs: Tensor, chain: Tensor, sigma: float) -> Tensor:
    """Exact log-density of every step, ``log N(x_{k+1}; mu_k, sigma^2 I)`` summed over the D dims.

    ``obs (B, obs_dim)``, ``chain (B, K + 1, D)`` -> ``(B, K)``; the K velocity evaluations of all B
    chains run as one batched call.
    """
    b, k1, d = chain.shape
    k = k1 - 1
    dt = 1.0 / k
    times = 1.0 - torch.arange(k, dtype=chain.dtype, device=chain.device) * dt
    x = chain[:, :-1].reshape(b * k, d)
    mu = x - dt * velocity(x, times.repeat(b), obs.repeat_interleave(k, dim=0))
    scale = torch.full_like(mu, sigma)
    return gaussian_log_prob(chain[:, 1:].reshape(b * k, d), mu, scale).reshape(b, k)
