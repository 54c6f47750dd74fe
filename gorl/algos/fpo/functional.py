"""FPO's math: per-draw conditional flow-matching losses and the ratio built from them.

Conventions are gorl's flow decoder's (``gorl.paths``): ``x_t = t * eps + (1 - t) * a``
(t = 0 is the action, t = 1 the noise), velocity target ``eps - a``, sampling from t = 1 to t = 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gorl.paths import ot_path

Velocity = Callable[[Tensor, Tensor, Tensor], Tensor]  # (x (N, D), t (N,), obs (N, obs_dim)) -> (N, D)


def cfm_losses(
    velocity: Velocity, obs: Tensor, action: Tensor, eps: Tensor, t: Tensor, supervise: str = "eps"
) -> Tensor:
    """The conditional flow-matching loss of every stored draw, ``(B, N)``.

    Args:
        velocity: the flow's velocity field.
        obs: ``(B, obs_dim)`` observations as the policy saw them.
        action: ``(B, D)`` the actions (the flow's output, before the squash).
        eps: ``(B, N, D)`` noise draws.
        t: ``(B, N)`` times in [0, 1].
        supervise: ``"velocity"``: ``mean_d (v - (eps - a))^2``; ``"eps"`` (FPO's default,
            "u_but_supervise_as_eps"): the velocity turned into a noise prediction,
            ``eps_hat = x_t + (1 - t) v``, and ``mean_d (eps_hat - eps)^2``, which equals
            ``(1 - t)^2`` times the velocity loss (it weighs draws near the action more).

    Returns:
        ``(B, N)``: the loss of each draw, averaged over the D action dims.
    """
    b, n, d = eps.shape
    x_t, target = ot_path(action.unsqueeze(1).expand(b, n, d), eps, t)
    v = velocity(x_t.reshape(b * n, d), t.reshape(b * n), obs.repeat_interleave(n, dim=0)).reshape(b, n, d)
    if supervise == "velocity":
        err = v - target
    elif supervise == "eps":
        err = x_t + (1.0 - t).unsqueeze(-1) * v - eps
    else:
        raise ValueError(f"unknown supervise {supervise!r}; use 'eps' or 'velocity'")
    return err.pow(2).mean(-1)


def fpo_log_ratio(loss_old: Tensor, loss_new: Tensor, mode: str = "mean", clip: float = 3.0) -> Tensor:
    """FPO's log ratio from the draws' losses under the behaviour and the current parameters.

    ``mode="mean"`` (FPO's default): one ratio per transition, ``log rho = mean_i L_old,i - mean_i
    L_new,i``, ``(B, N) -> (B, 1)``. ``mode="per_sample"`` (what the GoRL paper's FPO runs used): one per
    draw, ``log rho_i = clip(L_old,i - L_new,i, -clip, clip)``, ``(B, N) -> (B, N)``.
    """
    if mode == "mean":
        return (loss_old.mean(-1) - loss_new.mean(-1)).unsqueeze(-1)
    if mode == "per_sample":
        return (loss_old - loss_new).clamp(-clip, clip)
    raise ValueError(f"unknown FPO ratio mode {mode!r}; use 'mean' or 'per_sample'")


def draw_times(shape: tuple[int, ...], steps: int, mode: str, like: Tensor) -> Tensor:
    """Times for the draws: ``"chain"``: uniform over the sampler's Euler times ``1 - k / steps``, k = 0
    .. steps - 1 (FPO's); ``"uniform"``: U(0, 1). Shape ``shape``, ``like``'s dtype and device."""
    if mode == "chain":
        k = torch.randint(0, steps, shape, device=like.device)
        return 1.0 - k.to(like.dtype) / steps
    if mode == "uniform":
        return torch.rand(shape, dtype=like.dtype, device=like.device)
    raise ValueError(f"unknown time draw mode {mode!r}; use 'chain' or 'uniform'")
