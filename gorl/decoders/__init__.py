"""Generative decoders g_phi(a | s, z) and their registry.

``make("flow", obs_dim=17, action_dim=6)`` builds a registered decoder; ``register("mine")`` adds your
own (a class or factory called as ``factory(obs_dim=, action_dim=, latent_dim=, **options)``);
``names()`` lists them. Plug-in packages register through the entry-point group ``gorl.decoders``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from gorl.interfaces.decoder import GenerativeDecoder
from gorl.registry import Registry

REGISTRY: Registry[Callable[..., GenerativeDecoder]] = Registry("decoder", "gorl.decoders")


def register(name: str) -> Callable[[Any], Any]:
    """Decorator: registers a decoder class or factory under ``name``."""
    return REGISTRY.register(name)


def names() -> list[str]:
    """The registered decoder names."""
    return REGISTRY.names()


def make(
    name: str, *, obs_dim: int, action_dim: int, latent_dim: int | None = None, **options: Any
) -> GenerativeDecoder:
    """Builds decoder ``name``; ``latent_dim`` defaults to ``action_dim``; ``options`` go to its config."""
    factory = REGISTRY.get(name)
    decoder = factory(
        obs_dim=obs_dim,
        action_dim=action_dim,
        latent_dim=action_dim if latent_dim is None else latent_dim,
        **options,
    )
    if not isinstance(decoder, GenerativeDecoder):
        raise TypeError(
            f"decoder {name!r} built a {type(decoder).__name__}, which lacks part of the "
            "GenerativeDecoder interface (obs_dim, latent_dim, action_dim, trainable, decode, loss, "
            "reset_parameters)"
        )
    return decoder


# Built-in decoders register themselves on import.
from gorl.decoders import identity as _identity  # noqa: E402,F401

for _name in ("flow", "diffusion"):  # the other built-ins, imported when present
    try:
        import_module(f"gorl.decoders.{_name}")
    except ModuleNotFoundError as _e:  # pragma: no cover
        if _e.name != f"gorl.decoders.{_name}":
            raise

__all__ = ["REGISTRY", "GenerativeDecoder", "make", "names", "register"]
