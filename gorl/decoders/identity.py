"""The identity decoder: a = z (the stage-0 decoder).

Chosen over an identity-initialised network: with no parameters, the stage-0 policy is exactly a
tanh-Gaussian policy (the official stage 0 is a flow net with a zeroed output, i.e. the same map), there
is nothing to fit or to drift, and ``decode`` is an exact pass-through that the conformance suite checks
bit for bit. It needs ``latent_dim == action_dim``.
"""

from __future__ import annotations

import torch
from torch import Generator, Tensor, nn

from gorl.config import Config
from gorl.decoders import register


class IdentityConfig(Config):
    """The identity decoder takes no options."""


@register("identity")
class IdentityDecoder(nn.Module):
    """``decode(obs, z) = z``; no parameters, ``trainable = False``."""

    trainable = False
    couples = True  # nothing to fit: any pairing is reproduced exactly

    def __init__(self, *, obs_dim: int, action_dim: int, latent_dim: int | None = None, **options: object):
        super().__init__()
        self.config = IdentityConfig(**options)
        latent_dim = action_dim if latent_dim is None else latent_dim
        if latent_dim != action_dim:
            raise ValueError(
                f"the identity decoder needs latent_dim == action_dim, got latent_dim={latent_dim}, "
                f"action_dim={action_dim}"
            )
        self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, latent_dim

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        """Returns ``z`` unchanged: ``(*B, latent_dim)``."""
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"z has last dim {z.shape[-1]}, expected latent_dim={self.latent_dim}")
        if obs.shape[-1] != self.obs_dim or obs.shape[:-1] != z.shape[:-1]:
            raise ValueError(
                f"obs has shape {tuple(obs.shape)}, expected (*{tuple(z.shape[:-1])}, obs_dim={self.obs_dim})"
            )
        return z

    def loss(
        self, obs: Tensor, action: Tensor, generator: Generator | None = None, noise: Tensor | None = None
    ) -> Tensor:
        """Zero: there is nothing to fit."""
        return torch.zeros((), dtype=action.dtype, device=action.device)

    def reset_parameters(self) -> None:
        """Nothing to reset."""
