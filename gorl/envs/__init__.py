"""Batched environments behind one contract (``gorl.interfaces.env``), as plug-in backends.

``make_env("cheetah-run", 16)`` builds 16 dm_control envs; ``make_env("gym:Hopper-v5", 8)`` 8 Gymnasium
hoppers; ``make_env("torchrl:toy", 4)`` or ``make_env(my_factory, 4)`` a TorchRL env of your own.
``check(task, backend, options)`` validates without building; ``names()`` lists the backends,
``task_names(backend)`` their tasks; ``register(name)`` adds a backend (or the entry-point group
``gorl.envs``), ``register_factory(name)`` a TorchRL env factory. ``PAPER_TASKS`` are the GoRL paper's
six tasks. docs/envs.md describes every backend.

The names load lazily: a dm_control worker process imports ``gorl.envs.workers`` without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

PAPER_TASKS: tuple[str, ...] = (
    "cheetah-run",
    "finger-spin",
    "finger-turn_hard",
    "fish-swim",
    "hopper-stand",
    "walker-walk",
)

_LAZY = {
    "BACKENDS": "gorl.envs.registry",
    "DEFAULT_BACKEND": "gorl.envs.registry",
    "EnvSpec": "gorl.envs.registry",
    "check": "gorl.envs.registry",
    "get": "gorl.envs.registry",
    "make_env": "gorl.envs.registry",
    "names": "gorl.envs.registry",
    "parse_task": "gorl.envs.registry",
    "register": "gorl.envs.registry",
    "task_names": "gorl.envs.registry",
    "EnvMemoryError": "gorl.envs.memory",
    "register_factory": "gorl.envs.torchrl_env",
}

if TYPE_CHECKING:
    from gorl.envs.memory import EnvMemoryError
    from gorl.envs.registry import (
        BACKENDS,
        DEFAULT_BACKEND,
        EnvSpec,
        check,
        get,
        make_env,
        names,
        parse_task,
        register,
        task_names,
    )
    from gorl.envs.torchrl_env import register_factory


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gorl.envs' has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "PAPER_TASKS",
    "EnvMemoryError",
    "EnvSpec",
    "check",
    "get",
    "make_env",
    "names",
    "parse_task",
    "register",
    "register_factory",
    "task_names",
]
