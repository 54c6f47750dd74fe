"""dm_control's ``rewards.tolerance`` as a batched torch function.

``tolerance(x, bounds=(lo, hi), margin, sigmoid, value_at_margin)`` is 1 inside ``[lo, hi]`` and
decays outside with distance ``d`` (in units of ``margin``) through a sigmoid ``s`` with ``s(0) = 1`` and
``s(1) = value_at_margin``. With ``margin = 0`` it is the indicator of the bounds.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_SIGMOIDS = (
    "gaussian",
    "hyperbolic",
    "long_tail",
    "reciprocal",
    "cosine",
    "linear",
    "quadratic",
    "tanh_squared",
)


def sigmoid(d: Tensor, value_at_1: float, kind: str) -> Tensor:
    """A decreasing function of ``d >= 0`` with value 1 at 0 and ``value_at_1`` at 1."""
    if kind in ("cosine", "linear", "quadratic"):
        if not 0.0 <= value_at_1 < 1.0:
            raise ValueError(f"value_at_1 must be in [0, 1) for {kind!r}, got {value_at_1}")
    elif not 0.0 < value_at_1 < 1.0:
        raise ValueError(f"value_at_1 must be in (0, 1) for {kind!r}, got {value_at_1}")
    if kind == "gaussian":
        s = math.sqrt(-2.0 * math.log(value_at_1))
        return torch.exp(-0.5 * (d * s) ** 2)
    if kind == "hyperbolic":
        s = math.acosh(1.0 / value_at_1)
        return 1.0 / torch.cosh(d * s)
    if kind == "long_tail":
        s = math.sqrt(1.0 / value_at_1 - 1.0)
        return 1.0 / ((d * s) ** 2 + 1.0)
    if kind == "reciprocal":
        s = 1.0 / value_at_1 - 1.0
        return 1.0 / (d.abs() * s + 1.0)
    if kind == "cosine":
        sx = d * (math.acos(2.0 * value_at_1 - 1.0) / math.pi)
        return torch.where(sx.abs() < 1.0, (1.0 + torch.cos(math.pi * sx)) / 2.0, torch.zeros_like(sx))
    if kind == "linear":
        sx = d * (1.0 - value_at_1)
        return torch.where(sx.abs() < 1.0, 1.0 - sx, torch.zeros_like(sx))
    if kind == "quadratic":
        sx = d * math.sqrt(1.0 - value_at_1)
        return torch.where(sx.abs() < 1.0, 1.0 - sx**2, torch.zeros_like(sx))
    if kind == "tanh_squared":
        s = math.atanh(math.sqrt(1.0 - value_at_1))
        return 1.0 - torch.tanh(d * s) ** 2
    raise ValueError(f"unknown sigmoid {kind!r}; known: {', '.join(_SIGMOIDS)}")


def tolerance(
    x: Tensor,
    bounds: tuple[float, float] = (0.0, 0.0),
    margin: float = 0.0,
    sigmoid_kind: str = "gaussian",
    value_at_margin: float = 0.1,
) -> Tensor:
    """Elementwise tolerance reward of ``x`` (any shape); see the module docstring."""
    lower, upper = bounds
    if lower > upper:
        raise ValueError(f"lower bound {lower} exceeds upper bound {upper}")
    if margin < 0:
        raise ValueError(f"margin must be non-negative, got {margin}")
    in_bounds = (x >= lower) & (x <= upper)
    if margin == 0:
        return in_bounds.to(x.dtype)
    d = torch.where(x < lower, lower - x, x - upper) / margin
    return torch.where(in_bounds, torch.ones_like(x), sigmoid(d, value_at_margin, sigmoid_kind))
