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


class Renormalize(nn.Module):
    """Observations normalised by a live ``RunningNorm`` -> the same observations normalised by the
    moments ``(mean, var)`` it had earlier (a decoder's refit): ``x * s_live / s_then + (m_live - m_then)
    / s_then`` with ``s = sqrt(var + eps)``, then the live norm's clip.

    The live norm is read at every call (it keeps updating) and is not a submodule: ``state_dict`` holds
    the earlier moments only. Where the live norm clips, a clipped coordinate stays at the clip's image.

    Args:
        live: the normaliser the observations arrive through.
        mean, var: the earlier moments ``(dim,)`` (float64; ``live``'s own when None).
    """

    mean: Tensor
    var: Tensor
    live: RunningNorm

    def __init__(self, live: RunningNorm, mean: Tensor | None = None, var: Tensor | None = None) -> None:
        super().__init__()
        dim = live.mean.shape[0]
        mean = live.mean if mean is None else mean
        var = live.var if var is None else var
        if mean.shape != (dim,) or var.shape != (dim,):
            raise ValueError(
                f"Renormalize needs moments of shape ({dim},) like its live norm, got mean "
                f"{tuple(mean.shape)} and var {tuple(var.shape)}"
            )
        self.register_buffer("mean", mean.detach().to(live.mean.device, torch.float64).clone())
        self.register_buffer("var", var.detach().to(live.mean.device, torch.float64).clone())
        self.eps, self.clip = live.eps, live.clip
        object.__setattr__(self, "live", live)  # read, never owned: not in state_dict or .to()

    def forward(self, x: Tensor) -> Tensor:
        """Re-normalises ``x (*B, dim)``; returns ``x``'s dtype."""
        live = self.live
        s_then = torch.sqrt(self.var + self.eps)
        scale = torch.sqrt(live.var + self.eps) / s_then
        shift = (live.mean - self.mean) / s_then
        out = x * scale.to(x.dtype) + shift.to(x.dtype)
        return out if self.clip is None else out.clamp(-self.clip, self.clip)


def moment_drift(mean0: Tensor, var0: Tensor, mean1: Tensor, var1: Tensor, eps: float) -> dict[str, float]:
    """``obs_drift_mean`` (max over dims of |mean1 - mean0| / sqrt(var0 + eps)), ``obs_drift_std_min`` and
    ``obs_drift_std_max`` (min and max of sqrt(var1 + eps) / sqrt(var0 + eps)); moments ``(dim,)``."""
    s0 = torch.sqrt(var0.double() + eps)
    ratio = torch.sqrt(var1.double().to(s0.device) + eps) / s0
    shift = (mean1.double().to(s0.device) - mean0.double()).abs() / s0
    return {
        "obs_drift_mean": float(shift.max()),
        "obs_drift_std_min": float(ratio.min()),
        "obs_drift_std_max": float(ratio.max()),
    }
