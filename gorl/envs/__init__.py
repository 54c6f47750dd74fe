"""Batched environments (``dmc`` on the CPU, ``warp`` on a GPU) sharing ``gorl.interfaces.env``.

``make_env(task, num_envs, backend=...)`` builds one; ``task_names()`` lists every dm_control suite
task the ``dmc`` backend accepts; ``PAPER_TASKS`` are the six tasks of the GoRL paper.
"""

from __future__ import annotations

import importlib
from typing import Any

PAPER_TASKS: tuple[str, ...] = (
    "cheetah-run",
    "finger-spin",
    "finger-turn_hard",
    "fish-swim",
    "hopper-stand",
    "walker-walk",
)

BACKENDS = ("dmc", "warp")


def task_names() -> list[str]:
    """Every dm_control suite task as ``"domain-task"``, in the suite's order."""
    from dm_control import suite

    return [f"{d}-{t}" for d, t in suite.ALL_TASKS]


def make_env(
    task: str, num_envs: int, *, backend: str = "dmc", seed: int = 0, device: Any = "cpu", **kw: Any
) -> Any:
    """A batched env of ``num_envs`` copies of ``task``.

    Args:
        task: ``"domain-task"``, e.g. ``"cheetah-run"``.
        num_envs: N, the batch size.
        backend: ``"dmc"`` (``DMControlBatchEnv``, real dm_control on the CPU) or ``"warp"``
            (``gorl.envs.warp.WarpBatchEnv``, MuJoCo Warp; needs ``pip install gorl[gpu]``).
        seed: seeds every copy deterministically.
        device: where the returned tensors live.
        **kw: passed to the backend's constructor (``workers``, ``episode_length`` for ``dmc``).

    Raises:
        ValueError: unknown backend or task.
        ImportError: ``backend="warp"`` without MuJoCo Warp installed.
    """
    if backend == "dmc":
        from gorl.envs.dmc import DMControlBatchEnv

        return DMControlBatchEnv(task, num_envs, seed=seed, device=device, **kw)
    if backend == "warp":
        try:
            module = importlib.import_module("gorl.envs.warp")
            cls = module.WarpBatchEnv
        except (ImportError, AttributeError) as e:
            raise ImportError(
                f"backend='warp' needs MuJoCo Warp: install gorl[gpu] (pip install 'gorl[gpu]'); {e}"
            ) from e
        return cls(task, num_envs, seed=seed, device=device, **kw)
    raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "PAPER_TASKS", "make_env", "task_names"]
