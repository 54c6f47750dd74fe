"""Non-finite guards: a NaN or Inf stops training with a report that names where it appeared."""

from __future__ import annotations

import torch
from torch import Tensor


class NonFiniteError(RuntimeError):
    """A NaN or Inf in training; ``where`` names the tensor (observation, loss, gradient, ...)."""

    def __init__(self, where: str, detail: str = "") -> None:
        self.where = where
        super().__init__(f"non-finite values in {where}" + (f": {detail}" if detail else ""))


def check_finite(x: Tensor, where: str) -> None:
    """Raises ``NonFiniteError(where)`` if ``x`` holds a NaN or an Inf (one host sync)."""
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = (~finite).nonzero()
        raise NonFiniteError(
            where, f"{int(bad.shape[0])} of {x.numel()} entries, first at index {bad[0].tolist()}"
        )
