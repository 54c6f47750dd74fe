"""Running mean and variance of observations (Welford/Chan batch merge), as a module with buffers.

``normalize(x) = (x - mean) / sqrt(var + eps)``; statistics are float64 so that millions of updates do
not drift, and are part of ``state_dict`` (checkpoints resume them exactly).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def merge_moments(count: Tensor, mean: Tensor, m2: Tensor, batch: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Chan et al.'s parallel update of (count, mean, M2) with ``batch (M, D)``; returns the new triple.

    ``var = M2 / count``. Shapes: count ``()``, mean and m2 ``(D,)``.
    """
    b = batch.to(mean.dtype)
    n_b = torch.tensor(float(b.shape[0]), dtype=mean.dtype, device=mean.device)
    mean_b = b.mean(0)
    m2_b = ((b - mean_b) ** 2).sum(0)
    total = count + n_b
    delta = mean_b - mean
    new_mean = mean + delta * (n_b / total)
    new_m2 = m2 + m2_b + delta**2 * (count * n_b / total)
    return total, new_mean, new_m2


class RunningNorm(nn.Module):
    """Observation normaliser over the last dim ``dim``; ``update`` takes ``(*B, dim)``."""

    count: Tensor
    mean: Tensor
    m2: Tensor

    def __init__(self, dim: int, eps: float = 1e-6, clip: float | None = None) -> None:
        super().__init__()
        self.eps, self.clip = eps, clip
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(dim, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Adds the rows of ``x (*B, dim)`` to the statistics."""
        flat = x.reshape(-1, x.shape[-1])
        if flat.shape[0] == 0:
            return
        count, mean, m2 = merge_moments(self.count, self.mean, self.m2, flat)
        self.count.copy_(count)
        self.mean.copy_(mean)
        self.m2.copy_(m2)

    @property
    def var(self) -> Tensor:
        """Population variance ``(dim,)`` (1 before any update)."""
        return torch.where(self.count > 0, self.m2 / self.count.clamp_min(1.0), torch.ones_like(self.m2))

    def forward(self, x: Tensor) -> Tensor:
        """Normalises ``x (*B, dim)``; returns ``x``'s dtype."""
        out = (x - self.mean.to(x.dtype)) / torch.sqrt(self.var + self.eps).to(x.dtype)
        return out if self.clip is None else out.clamp(-self.clip, self.clip)
