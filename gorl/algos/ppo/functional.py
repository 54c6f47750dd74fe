"""PPO's math as pure functions on plain tensors (no modules, no TensorDicts).

Shapes: ``S`` segments of ``L`` steps for the advantage recurrence; ``M`` transitions for the losses.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gae(
    reward: Tensor,
    value: Tensor,
    next_value: Tensor,
    done: Tensor,
    terminated: Tensor,
    gamma: float,
    lmbda: float,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation over segments; returns ``(advantage, value_target)``.

    All inputs are ``(S, L)``; ``next_value[:, t]`` is V of the true next observation of step t (before
    any reset), so a time-limit end bootstraps from it while a termination does not::

        delta_t = r_t + gamma * (1 - terminated_t) * V(s'_t) - V(s_t)
        A_t     = delta_t + gamma * lmbda * (1 - done_t) * A_{t+1},    A_L = 0 (segment end)

    ``value_target = A + value``.
    """
    not_term = (~terminated).to(value.dtype)
    carry = (~done).to(value.dtype) * (gamma * lmbda)
    delta = reward + gamma * not_term * next_value - value
    adv = torch.empty_like(value)
    last = torch.zeros_like(value[:, 0])
    for t in range(value.shape[1] - 1, -1, -1):
        last = delta[:, t] + carry[:, t] * last
        adv[:, t] = last
    return adv, adv + value


def surrogate(log_ratio: Tensor, advantage: Tensor, clip: float, trust_region: str = "clip") -> Tensor:
    """The policy loss over ``K`` ratios per transition: ``log_ratio (M,)`` or ``(M, K)``, ``advantage
    (M,)`` (broadcast over K) -> scalar, the mean over all ``M * K`` terms.

    ``trust_region="clip"`` (PPO): ``-mean(min(rho A, clip(rho, 1 - clip, 1 + clip) A))``.
    ``"asymmetric"`` (FPO++): the clipped term where ``A >= 0``; where ``A < 0`` the quadratic penalty
    ``rho A - |A| / (2 clip) * (rho - 1)^2`` instead, which keeps pushing rho down without a flat region.
    """
    ratio = log_ratio.exp()
    adv = advantage if log_ratio.dim() == advantage.dim() else advantage.unsqueeze(-1)
    clipped = torch.min(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv)
    if trust_region == "clip":
        return -clipped.mean()
    if trust_region == "asymmetric":
        quadratic = ratio * adv - adv.abs() / (2.0 * clip) * (ratio - 1.0).pow(2)
        return -torch.where(adv >= 0, clipped, quadratic).mean()
    raise ValueError(f"unknown trust_region {trust_region!r}; use 'clip' or 'asymmetric'")


def normalize_advantage(advantage: Tensor, eps: float = 1e-8) -> Tensor:
    """``(A - mean(A)) / (std(A) + eps)`` over the minibatch ``(M,)``."""
    return (advantage - advantage.mean()) / (advantage.std() + eps)


def masked_value_loss(value: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
    """``mean(mask * (target - value)^2)`` over ``(M,)``; ``mask=None`` weighs every step 1."""
    err = (target - value).pow(2)
    return err.mean() if mask is None else (err * mask).mean()
