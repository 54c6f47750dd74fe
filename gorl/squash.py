"""The squash from the decoder's unsquashed space into the action bounds, and its inverse.

``squash(u) = low + (tanh(u) + 1) / 2 * (high - low)``, elementwise; for DM Control's ``[-1, 1]`` it is
``tanh(u)``. ``unsquash`` inverts it for training targets, clipping the result to ``[-clip, clip]`` (the
official code trains its decoder on pre-tanh actions clipped to +-3, anchors.md section 1), so that
actions on the bound map to a finite target.
"""

from __future__ import annotations

import torch
from torch import Tensor


def squash(raw: Tensor, low: Tensor, high: Tensor) -> Tensor:
    """Maps ``raw (*B, A)`` in R^A into ``[low, high]`` (``low``, ``high`` broadcast to ``(A,)``)."""
    return low + (torch.tanh(raw) + 1.0) * 0.5 * (high - low)


def unsquash(action: Tensor, low: Tensor, high: Tensor, clip: float = 3.0) -> Tensor:
    """Inverse of ``squash``, clipped to ``[-clip, clip]``; ``action (*B, A)`` -> ``(*B, A)``."""
    unit = (action - low) / (high - low) * 2.0 - 1.0
    bound = float(torch.tanh(torch.tensor(clip, dtype=torch.float64)))
    return torch.atanh(unit.clamp(-bound, bound)).clamp(-clip, clip)
