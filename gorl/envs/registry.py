"""The env backend registry: task names, dry-run checks and ``make_env``.

A task is named ``"<backend>:<task>"`` (``"gym:Hopper-v5"``, ``"torchrl:mypkg.envs:make"``) or, on the
default backend ``dmc``, just ``"<task>"`` (``"cheetah-run"``); ``TrainConfig.backend`` may name the
backend instead of the prefix. ``check`` validates a task, backend and options without building
anything (``resolve`` calls it); ``make_env`` checks, estimates the envs' memory, then builds them.
Plug-in backends register with ``register(name)`` or through the entry-point group ``gorl.envs``
(the object an ``EnvBackend``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from gorl.envs.memory import check_memory
from gorl.envs.quiet import quiet_env_warnings
from gorl.interfaces.env import BatchedEnv, EnvBackend
from gorl.registry import Registry

DEFAULT_BACKEND = "dmc"
BACKENDS: Registry[EnvBackend] = Registry("env backend", "gorl.envs")


@dataclass(frozen=True)
class Backend:
    """An ``EnvBackend`` made of functions (how the built-in backends are declared).

    Attributes:
        name: the registry name, also the task prefix.
        summary: one line for ``gorl list``.
        exact_resume: whether ``env_state`` continues episodes bit for bit.
        options: the pydantic model of the backend's options.
        check: ``check(task)`` raises ValueError for an unknown task; builds nothing.
        names: ``names()`` lists the known tasks (None: open-ended).
        per_env: ``per_env(task)`` host bytes of one env (an estimate).
        make: ``make(task, num_envs, seed=, device=, episode_length=, options=)`` builds the env.
    """

    name: str
    summary: str
    exact_resume: bool
    options: type[BaseModel]
    check: Callable[[str], None]
    names: Callable[[], list[str] | None]
    per_env: Callable[[str], int]
    make: Callable[..., BatchedEnv]

    def check_task(self, task: str) -> None:
        self.check(task)

    def task_names(self) -> list[str] | None:
        return self.names()

    def bytes_per_env(self, task: str) -> int:
        return self.per_env(task)

    def build(
        self, task: str, num_envs: int, *, seed: int, device: Any, episode_length: int | None, options: Any
    ) -> BatchedEnv:
        return self.make(
            task, num_envs, seed=seed, device=device, episode_length=episode_length, options=options
        )


def register(name: str) -> Callable[[EnvBackend], EnvBackend]:
    """Decorator (or call ``register(name)(backend)``): adds an ``EnvBackend`` under ``name``."""

    def add(backend: EnvBackend) -> EnvBackend:
        if not isinstance(backend, EnvBackend):
            raise TypeError(f"env backend {name!r}: {backend!r} lacks part of the EnvBackend interface")
        BACKENDS.add(name, backend)
        return backend

    return add


def names() -> list[str]:
    """The registered backend names."""
    return BACKENDS.names()


def get(name: str) -> EnvBackend:
    """The backend ``name``; an unknown name raises ``RegistryError`` listing the known ones."""
    return BACKENDS.get(name)


def parse_task(task: str, backend: str | None = None) -> tuple[str, str]:
    """``(backend, task)`` from a task name and an optional backend.

    ``"gym:Hopper-v5"`` -> ``("gym", "Hopper-v5")``; ``"cheetah-run"`` -> ``("dmc", "cheetah-run")``;
    ``("cheetah-run", "warp")`` -> ``("warp", "cheetah-run")``. Only a registered backend name counts as
    a prefix. A prefix and a different ``backend`` raise ValueError.
    """
    if not isinstance(task, str) or not task:
        raise ValueError(f"a task name is a non-empty string, got {task!r}")
    prefix, sep, rest = task.partition(":")
    if sep and prefix in BACKENDS:
        if backend is not None and backend != prefix:
            raise ValueError(f"task {task!r} names backend {prefix!r} but backend is {backend!r}")
        return prefix, rest
    if sep and backend is None:
        raise ValueError(
            f"task {task!r}: {prefix!r} is no env backend. Backends: {', '.join(names())} "
            f"(a task is 'backend:task', or a dm_control 'domain-task')"
        )
    return backend or DEFAULT_BACKEND, task


@dataclass(frozen=True)
class EnvSpec:
    """A task checked against its backend, with the backend's options validated."""

    backend: str
    task: str
    options: BaseModel


def check(task: str, backend: str | None = None, options: dict[str, Any] | None = None) -> EnvSpec:
    """Validates a task, its backend and the backend's options; builds nothing (a dry run).

    Raises:
        RegistryError: unknown backend (the known ones listed).
        ValueError: unknown task (naming it and the known ones), or bad options (``ValidationError``
            names the field).
    """
    name, bare = parse_task(task, backend)
    entry = get(name)
    entry.check_task(bare)
    try:
        model = entry.options.model_validate(options or {})
    except ValidationError as e:
        raise ValueError(f"env_options for backend {name!r} ({entry.options.__name__}): {e}") from e
    return EnvSpec(name, bare, model)


def task_names(backend: str = DEFAULT_BACKEND) -> list[str] | None:
    """The known tasks of ``backend`` (dm_control's 51 suite tasks for ``dmc``; None: open-ended)."""
    return get(backend).task_names()


def make_env(
    task: str | Callable[..., Any],
    num_envs: int,
    *,
    backend: str | None = None,
    seed: int = 0,
    device: Any = "cpu",
    episode_length: int | None = None,
    options: dict[str, Any] | None = None,
    check_memory_first: bool = True,
    **kw: Any,
) -> BatchedEnv:
    """A batched env of ``num_envs`` copies of ``task``.

    Args:
        task: ``"[backend:]task"`` (``"cheetah-run"``, ``"gym:Hopper-v5"``), or a callable
            ``factory(num_envs, seed=, device=)`` returning a batched TorchRL ``EnvBase`` (the
            ``torchrl`` backend).
        num_envs: N, the batch size.
        backend: a registered backend; None: the task's prefix, else ``dmc``.
        seed: seeds every copy deterministically.
        device: where the returned tensors live.
        episode_length: steps per episode; None: the task's own limit.
        options: the backend's options (its ``options`` model: ``workers`` for dmc, ...).
        check_memory_first: refuse (``EnvMemoryError``) envs that would not fit in ``MemAvailable``.
        **kw: more options, merged into ``options``.
    """
    if callable(task):
        from gorl.envs.torchrl_env import from_factory

        factory_kw = {**get("torchrl").options.model_validate(options or {}).model_dump()["kwargs"], **kw}
        return from_factory(
            task, num_envs, seed=seed, device=device, episode_length=episode_length, **factory_kw
        )
    spec = check(task, backend, {**(options or {}), **kw})
    entry = get(spec.backend)
    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
    if check_memory_first:
        check_memory(spec.backend, spec.task, num_envs, entry.bytes_per_env(spec.task))
    with quiet_env_warnings():
        return entry.build(
            spec.task, num_envs, seed=seed, device=device, episode_length=episode_length, options=spec.options
        )


import gorl.envs.backends  # noqa: E402,F401  (the built-in backends register themselves)
