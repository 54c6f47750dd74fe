"""The squash from the decoder's unsquashed space into the action bounds, and its inverse.

``squash(u) = low + (tanh(u) + 1) / 2 * (high - low)``, elementwise; for DM Control's ``[-1, 1]`` it is
``tanh(u)``. ``unsquash`` inverts it, clipping the result to ``[-clip, clip]`` so that actions on the
bound map to finite values. The trainer never calls it: its decoder targets are the raw (pre-squash)
actions the rollout recorded, clipped to ``+-raw_action_clip`` (3 by default; the official code,
``bennidict23/GoRL`` ``configs/methods/gorl_fm.toml``, clips its pre-tanh targets to 3 too). ``unsquash``
is for actions that exist only in env space, e.g. logged or demonstrated actions a user wants to fit a
decoder on (``gorl.twotimescale.fit_decoder``).
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
