"""The prior as a latent policy: pi(z | s) = N(0, I) for every s, with no parameters.

The encoder of the action-space baselines (FPO, DPPO): their policy is the flow network alone, driven
by N(0, I) noise, so the composite ``prior + flow`` is exactly that policy, and evaluation (the mean
latent) runs the flow's chain from z = 0. ``reset_to_prior`` and ``prior_penalty`` are trivially
satisfied (the penalty is the constant of the official form at the prior, ``mean(0^2) + mean(1^2) = 1``,
with no gradient to give).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Distribution
from torchrl.modules import IndependentNormal, ProbabilisticActor

from gorl.encoders import register
from gorl.encoders.gaussian import latent_actor


class _StandardNormal(nn.Module):
    """obs ``(*B, obs_dim)`` -> ``(zeros, ones)``, each ``(*B, latent_dim)``."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        loc = obs.new_zeros(*obs.shape[:-1], self.latent_dim)
        return loc, torch.ones_like(loc)


@register("prior")
class PriorEncoder(nn.Module):
    """N(0, I) for every observation; see the module docstring.

    Args:
        obs_dim: observation size (checked by the composite against the decoder's).
        latent_dim: size of z.
    """

    def __init__(self, *, obs_dim: int, latent_dim: int) -> None:
        super().__init__()
        if obs_dim <= 0 or latent_dim <= 0:
            raise ValueError(f"obs_dim and latent_dim must be positive, got {obs_dim}, {latent_dim}")
        self.obs_dim, self.latent_dim = obs_dim, latent_dim
        self.loc_scale = _StandardNormal(latent_dim)
        self._actor = latent_actor(self.loc_scale)

    @property
    def actor(self) -> ProbabilisticActor:
        """The TorchRL actor: OBSERVATION -> LOC, SCALE, LATENT, LATENT_LOG_PROB."""
        return self._actor

    def distribution(self, obs: Tensor) -> Distribution:
        """N(0, I) with batch shape ``obs.shape[:-1]`` and event shape ``(latent_dim,)``."""
        return IndependentNormal(*self.loc_scale(obs))

    def mode(self, obs: Tensor) -> Tensor:
        """Zeros ``(*B, latent_dim)``."""
        return self.loc_scale(obs)[0]

    def reset_to_prior(self, *, keep_features: bool = False) -> None:
        """Nothing to reset."""

    def prior_penalty(self, obs: Tensor) -> Tensor:
        """The official penalty's value at the prior, 1 (a constant: there is nothing to pull back)."""
        return obs.new_ones(())
