"""The built-in env backends: ``dmc``, ``warp``, ``gym`` and ``torchrl``, each with its options model.

Every backend imports its simulator only when it builds (or checks) something, so ``gorl list`` and
``resolve`` stay cheap. Per-env memory figures are measured (docs/envs.md has the command).
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from pydantic import Field

from gorl.config import Config
from gorl.envs.registry import Backend, register

MIB = 1 << 20
# Measured here: RSS growth per env over 32 envs after a reset (docs/envs.md). dm_control: 12.4-12.5 MiB
# (cheetah-run, walker-walk, humanoid-run; an 11.8 MB skybox texture per model); Gymnasium MuJoCo:
# 1.05-1.17 MiB (Hopper-v5, Ant-v5, Humanoid-v5). Rounded up.
DMC_BYTES_PER_ENV = 13 * MIB
GYM_BYTES_PER_ENV = 3 * MIB // 2


class DmcOptions(Config):
    """Options of the ``dmc`` backend (``DMControlBatchEnv``)."""

    workers: int = Field(
        0, ge=0, le=256, description="k >= 2 splits the envs over k processes; 0 or 1 steps all here"
    )


class WarpOptions(Config):
    """Options of the ``warp`` backend (``WarpBatchEnv``)."""

    graph: bool = Field(True, description="capture the simulator work in a graph and replay it")
    nconmax: int | None = Field(None, ge=1, description="contacts per world; None: MuJoCo Warp's default")
    njmax: int | None = Field(None, ge=1, description="constraints per world; None: MuJoCo Warp's default")


class GymOptions(Config):
    """Options of the ``gym`` backend (``GymBatchEnv``)."""

    make_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments of gymnasium.make (e.g. ctrl_cost_weight)"
    )


class TorchRLOptions(Config):
    """Options of the ``torchrl`` backend (a factory's env)."""

    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the factory")


# -- dmc ------------------------------------------------------------------------------------------
def _dmc_names() -> list[str]:
    from gorl.envs.workers import suite_tasks

    return suite_tasks()


def _dmc_check(task: str) -> None:
    from gorl.envs.workers import split_name

    split_name(task)


def _dmc_make(task: str, num_envs: int, *, seed: int, device: Any, episode_length: Any, options: Any) -> Any:
    from gorl.envs.dmc import DMControlBatchEnv

    return DMControlBatchEnv(
        task, num_envs, seed=seed, device=device, workers=options.workers, episode_length=episode_length
    )


# -- warp -----------------------------------------------------------------------------------------
def _warp_names() -> list[str]:
    from gorl.envs.tasks import port_names

    return port_names()


def _warp_check(task: str) -> None:
    known = _warp_names()
    if task not in known:
        raise ValueError(f"unknown warp task {task!r}; the warp backend has ports of: {', '.join(known)}")


def _warp_make(task: str, num_envs: int, *, seed: int, device: Any, episode_length: Any, options: Any) -> Any:
    try:
        cls = importlib.import_module("gorl.envs.warp").WarpBatchEnv
    except (ImportError, AttributeError) as e:
        raise ImportError(
            f"backend='warp' needs MuJoCo Warp: install gorl[gpu] (pip install 'gorl[gpu]'); {e}"
        ) from e
    kw = {} if episode_length is None else {"episode_length": episode_length}
    return cls(task, num_envs, seed=seed, device=device, **options.model_dump(), **kw)


# -- gym ------------------------------------------------------------------------------------------
def _gym() -> Any:
    try:
        return importlib.import_module("gymnasium")
    except ImportError as e:
        raise ValueError("the gym backend needs Gymnasium: pip install 'gorl[gym]'") from e


def _gym_names() -> list[str]:
    return sorted(_gym().registry)


def _gym_check(task: str) -> None:
    gym = _gym()
    if task not in gym.registry:
        close = difflib.get_close_matches(task, list(gym.registry), n=3)
        hint = f" Did you mean {', '.join(f'gym:{c}' for c in close)}?" if close else ""
        mujoco = sorted(k for k, s in gym.registry.items() if "mujoco" in str(s.entry_point))
        raise ValueError(
            f"unknown Gymnasium id {task!r}.{hint} Gymnasium's MuJoCo tasks: {', '.join(mujoco)} "
            f"({len(gym.registry)} ids in all: gymnasium.pprint_registry())"
        )


def _gym_make(task: str, num_envs: int, *, seed: int, device: Any, episode_length: Any, options: Any) -> Any:
    from gorl.envs.gym import GymBatchEnv

    return GymBatchEnv(
        task,
        num_envs,
        seed=seed,
        device=device,
        episode_length=episode_length,
        make_kwargs=options.make_kwargs,
    )


# -- torchrl --------------------------------------------------------------------------------------
def _torchrl_check(task: str) -> None:
    from gorl.envs.torchrl_env import get_factory

    get_factory(task)


def _torchrl_names() -> list[str]:
    from gorl.envs.torchrl_env import FACTORIES

    return FACTORIES.names()


def _torchrl_make(
    task: str, num_envs: int, *, seed: int, device: Any, episode_length: Any, options: Any
) -> Any:
    from gorl.envs.torchrl_env import from_factory, get_factory

    factory = get_factory(task)
    return from_factory(
        factory, num_envs, seed=seed, device=device, episode_length=episode_length, **options.kwargs
    )


register("dmc")(
    Backend(
        name="dmc",
        summary="dm_control suite tasks on the CPU, exact resume (cheetah-run, dmc:walker-walk, ...)",
        exact_resume=True,
        options=DmcOptions,
        check=_dmc_check,
        names=_dmc_names,
        per_env=lambda task: DMC_BYTES_PER_ENV,
        make=_dmc_make,
    )
)
register("warp")(
    Backend(
        name="warp",
        summary="MuJoCo Warp ports of the paper's six tasks, GPU, exact resume (needs gorl[gpu])",
        exact_resume=True,
        options=WarpOptions,
        check=_warp_check,
        names=_warp_names,
        per_env=lambda task: 0,  # device memory, not host memory
        make=_warp_make,
    )
)
register("gym")(
    Backend(
        name="gym",
        summary="any Gymnasium id with a Box action space, restart resume (gym:Hopper-v5; gorl[gym])",
        exact_resume=False,
        options=GymOptions,
        check=_gym_check,
        names=_gym_names,
        per_env=lambda task: GYM_BYTES_PER_ENV,
        make=_gym_make,
    )
)
register("torchrl")(
    Backend(
        name="torchrl",
        summary="a batched TorchRL EnvBase from a factory, restart resume (torchrl:toy, torchrl:pkg.mod:fn)",
        exact_resume=False,
        options=TorchRLOptions,
        check=_torchrl_check,
        names=_torchrl_names,
        per_env=lambda task: 0,  # unknown: the factory's env may live anywhere
        make=_torchrl_make,
    )
)
