"""Latent optimisers by name: each declares its config model, its presets and how it is built.

``register("mine", config=MyConfig, presets={"cpu": {...}})`` on a class (or factory) called as
``cls(env, policy, config)`` adds an optimiser; ``make(name, env, policy, config)`` builds one and
checks it against the ``LatentOptimizer`` protocol; ``config(name, preset, overrides)`` validates a
config before anything is built. Plug-in packages register through the entry-point group
``gorl.optimizers``. A config model must have a ``num_envs`` field (the training env is built from it)
and a ``MUTABLE`` class attribute, a ``frozenset`` of its field names: the fields a stage override may
change (``frozenset()`` when none may). ``validate``, where given, checks rules across fields and parts of
a resolved run (``gorl.train_config.RunPlan``), e.g. an optimiser setting that needs a particular decoder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gorl.config import Config, with_overrides
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.optimizer import LatentOptimizer
from gorl.interfaces.policy import ActingPolicy
from gorl.registry import Registry


@dataclass(frozen=True)
class OptimizerSpec:
    """What the registry knows of one optimiser."""

    build: Callable[..., Any]
    config: type[Config]
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    trains: Literal["encoder", "decoder"] = "encoder"  # the part of the composite whose weights change
    # cross-field rules on a resolved run: (RunPlan) -> None, raising ValueError naming the fields
    validate: Callable[[Any], None] | None = None

    def resolve(self, preset: str | None, overrides: Mapping[str, Any] | None = None) -> Any:
        """The validated config: the model's defaults < ``preset`` < ``overrides``."""
        if preset is not None and preset not in self.presets:
            raise ValueError(f"unknown preset {preset!r}; known: {', '.join(self.presets) or 'none'}")
        base = dict(self.presets[preset]) if preset is not None else {}
        return self.config.model_validate({**base, **(overrides or {})})

    def check_overrides(self, base: Any, overrides: Mapping[str, Any], where: str) -> None:
        """Raises unless ``overrides`` name only mutable fields and give ``base`` a valid config."""
        try:
            with_overrides(base, overrides, mutable_fields(self.config))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from e


REGISTRY: Registry[OptimizerSpec] = Registry("optimizer", "gorl.optimizers")


def mutable_fields(config: type[Config]) -> frozenset[str]:
    """``config.MUTABLE``: the fields a stage override may change. Raises ``TypeError`` if the model does
    not declare it as a frozenset of its own field names."""
    mutable = getattr(config, "MUTABLE", None)
    if not isinstance(mutable, frozenset):
        raise TypeError(
            f"{config.__name__} needs a MUTABLE class attribute: a frozenset of the fields a stage override "
            f"may change (frozenset() for none), e.g. MUTABLE: ClassVar[frozenset[str]] = "
            f"frozenset({{'lr'}}); got {mutable!r}"
        )
    unknown = sorted(mutable - set(config.model_fields))
    if unknown:
        raise TypeError(f"{config.__name__}.MUTABLE names {', '.join(unknown)}, which are not its fields")
    return mutable


def register(
    name: str,
    *,
    config: type[Config],
    presets: Mapping[str, Mapping[str, Any]] | None = None,
    trains: Literal["encoder", "decoder"] = "encoder",
    validate: Callable[[Any], None] | None = None,
) -> Callable[[Any], Any]:
    """Decorator: registers an optimiser class or factory ``(env, policy, config)`` under ``name``.

    ``trains``: ``"encoder"`` for a latent optimiser (the decoder frozen, GoRL's encoder phase);
    ``"decoder"`` for an action-space optimiser that trains the decoder itself (FPO, DPPO).
    ``validate(plan)``: called by ``gorl.train_config.resolve`` with the resolved ``RunPlan``, before
    anything is built; raises ``ValueError`` naming the fields of a combination the optimiser refuses.
    """

    def add(build: Any) -> Any:
        if "num_envs" not in config.model_fields:
            raise TypeError(f"optimizer {name!r}: its config {config.__name__} needs a num_envs field")
        try:
            mutable_fields(config)
        except TypeError as e:
            raise TypeError(f"optimizer {name!r}: {e}") from e
        REGISTRY.add(name, OptimizerSpec(build, config, dict(presets or {}), trains, validate))
        return build

    return add


def spec(name: str) -> OptimizerSpec:
    """The registry entry of ``name`` (an unknown name lists the known ones)."""
    return REGISTRY.get(name)


def names() -> list[str]:
    """Registered optimiser names."""
    return REGISTRY.names()


def make(name: str, env: BatchedEnv, policy: ActingPolicy, config: Any) -> LatentOptimizer:
    """Builds optimiser ``name`` on ``env`` for ``policy`` with a config from ``spec(name).resolve``."""
    entry = spec(name)
    if not isinstance(config, entry.config):
        raise TypeError(f"optimizer {name!r} takes a {entry.config.__name__}, got {type(config).__name__}")
    learner = entry.build(env, policy, config)
    if not isinstance(learner, LatentOptimizer):
        raise TypeError(
            f"optimizer {name!r} built a {type(learner).__name__}, which lacks part of the LatentOptimizer "
            "interface (env_steps, config, bind, normalize, iterate, decoder_data, state_dict, "
            "load_state_dict)"
        )
    return learner
