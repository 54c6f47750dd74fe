"""Latent policies pi_theta(z | s) and their registry (entry-point group ``gorl.encoders``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gorl.interfaces.latent_policy import LatentPolicy
from gorl.registry import Registry

REGISTRY: Registry[Callable[..., LatentPolicy]] = Registry("encoder", "gorl.encoders")


def register(name: str) -> Callable[[Any], Any]:
    """Decorator: registers an encoder class or factory under ``name``."""
    return REGISTRY.register(name)


def names() -> list[str]:
    """The registered encoder names."""
    return REGISTRY.names()


def make(name: str, *, obs_dim: int, latent_dim: int, **options: Any) -> LatentPolicy:
    """Builds encoder ``name`` for ``obs_dim`` observations and ``latent_dim`` latents."""
    encoder = REGISTRY.get(name)(obs_dim=obs_dim, latent_dim=latent_dim, **options)
    if not isinstance(encoder, LatentPolicy):
        raise TypeError(
            f"encoder {name!r} built a {type(encoder).__name__}, which lacks part of LatentPolicy"
        )
    return encoder


from gorl.encoders import gaussian as _gaussian  # noqa: E402,F401
from gorl.encoders import prior as _prior  # noqa: E402,F401

__all__ = ["REGISTRY", "LatentPolicy", "make", "names", "register"]
