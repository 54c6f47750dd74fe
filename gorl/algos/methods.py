"""Methods by name: ``ppo``, ``gorl-fm``, ``gorl-diff``, and ``gorl-<decoder>`` for any registered decoder.

A method is a set of defaults for the run: which PPO preset the encoder uses and how the schedule
runs (decoder, stages, per-stage overrides, encoder resets). Users register more with
``gorl.algos.methods.register(name)`` on a function returning a ``MethodSpec``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gorl.decoders as decoders
from gorl.registry import Registry, RegistryError


@dataclass(frozen=True)
class MethodSpec:
    """Defaults a method puts on a run (the user's config overrides them)."""

    ppo_preset: str
    schedule: dict[str, Any] = field(default_factory=dict)


REGISTRY: Registry[Callable[[], MethodSpec]] = Registry("method", "gorl.methods")


def register(name: str) -> Callable[[Any], Any]:
    """Decorator: registers a function returning a ``MethodSpec`` under ``name``."""
    return REGISTRY.register(name)


@register("ppo")
def _ppo() -> MethodSpec:
    """Gaussian (tanh-normal) PPO: identity decoder, one stage, Playground settings."""
    return MethodSpec("playground", {"decoder": None, "stage_fractions": [1.0], "stage_overrides": [{}]})


def _gorl(decoder: str, **schedule: Any) -> MethodSpec:
    return MethodSpec("paper", {"decoder": decoder, **schedule})


@register("gorl-fm")
def _gorl_fm() -> MethodSpec:
    """GoRL(PPO + flow matching): clip 0.15 then 0.3, penalty 5e-4 then 1e-3, fresh encoder each stage."""
    return _gorl("flow")


@register("gorl-diff")
def _gorl_diff() -> MethodSpec:
    """GoRL(PPO + diffusion): clip 0.15 throughout, penalty 5e-4 then 1e-3, encoder kept (official code)."""
    return _gorl(
        "diffusion",
        reset_encoder=[False],
        stage_overrides=[
            {"clip_epsilon": 0.15, "penalty_coef": 5e-4},
            {"clip_epsilon": 0.15, "penalty_coef": 1e-3},
        ],
    )


def get(name: str) -> MethodSpec:
    """The spec of method ``name``; ``gorl-<decoder>`` works for any registered decoder."""
    if name in REGISTRY:
        return REGISTRY.get(name)()
    if name.startswith("gorl-") and name[5:] in decoders.names():
        return _gorl(name[5:])
    known = REGISTRY.names() + [f"gorl-{d}" for d in decoders.names() if d != "identity"]
    raise RegistryError(f"unknown method {name!r}. Known: {', '.join(sorted(set(known)))}")


def names() -> list[str]:
    """Every method name that ``get`` accepts."""
    return sorted(set(REGISTRY.names()) | {f"gorl-{d}" for d in decoders.names() if d != "identity"})
