"""Task ports by name (``"cheetah-run"``, ...): dm_control's task logic as batched torch functions.

``get_port(name)`` returns the port class, ``make_port(name, mj_model, device)`` an instance,
``port_names()`` lists them, ``load_model(name)`` the task's ``mujoco.MjModel`` built from dm_control's
own MJCF and assets, and
``CONTROL_TIMESTEP[name]`` the seconds per control step (dm_control 1.0.50; the physics substeps are
``control_timestep / mj_model.opt.timestep``). Ports are imported only when first asked for, and
third-party ports join through the ``gorl.tasks`` entry-point group (the object a port class).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import torch

from gorl.envs.tasks.base import SimState, TaskPort, TaskState
from gorl.registry import Registry


@dataclass(frozen=True)
class _Lazy:
    """A port class named by module and attribute, imported on first use."""

    module: str
    attr: str

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.attr)


TASKS: Registry[Any] = Registry("task", "gorl.tasks")

_BUILTIN = {
    "cheetah-run": ("gorl.envs.tasks.cheetah", "CheetahRun"),
    "walker-walk": ("gorl.envs.tasks.walker", "WalkerWalk"),
    "hopper-stand": ("gorl.envs.tasks.hopper", "HopperStand"),
    "finger-spin": ("gorl.envs.tasks.finger", "FingerSpin"),
    "finger-turn_hard": ("gorl.envs.tasks.finger", "FingerTurnHard"),
    "fish-swim": ("gorl.envs.tasks.fish", "FishSwim"),
}
for _name, (_module, _attr) in _BUILTIN.items():
    TASKS.add(_name, _Lazy(_module, _attr))

# Seconds per control step in dm_control 1.0.50 (``_CONTROL_TIMESTEP`` in ``dm_control/suite/<domain>.py``;
# cheetah sets none and steps at its model's timestep, 0.01); episodes last 1000 of them.
CONTROL_TIMESTEP = {
    "cheetah-run": 0.01,
    "walker-walk": 0.025,
    "hopper-stand": 0.02,
    "finger-spin": 0.02,
    "finger-turn_hard": 0.02,
    "fish-swim": 0.04,
}
EPISODE_LENGTH = 1000


def port_names() -> list[str]:
    """Every task with a torch port (what the ``warp`` backend runs), sorted."""
    return TASKS.names()


def get_port(name: str) -> type:
    """The port class registered as ``name``; an unknown name raises listing the known ones."""
    entry = TASKS.get(name)
    return entry.load() if isinstance(entry, _Lazy) else entry


def load_model(name: str) -> Any:
    """The task's ``mujoco.MjModel``, compiled from dm_control's MJCF (never a copied file)."""
    import mujoco

    TASKS.get(name)  # a clear error for unknown names
    domain = name.partition("-")[0]  # a registered port's name is dm_control's "domain-task"
    module = importlib.import_module(f"dm_control.suite.{domain}")
    xml, assets = module.get_model_and_assets()
    return mujoco.MjModel.from_xml_string(xml, assets)


def make_port(name: str, mj_model: Any, device: torch.device | str = "cpu") -> TaskPort:
    """Builds the port for ``name``; it may edit ``mj_model`` (finger-spin's damping), so build it
    before a simulator copies the model."""
    port = get_port(name)(mj_model, device)
    if not isinstance(port, TaskPort):
        raise TypeError(f"the port for {name!r} ({type(port).__name__}) does not satisfy TaskPort")
    return port


def control_substeps(name: str, mj_model: Any) -> int:
    """Physics steps per control step: ``CONTROL_TIMESTEP[name] / mj_model.opt.timestep``."""
    TASKS.get(name)
    if name not in CONTROL_TIMESTEP:
        raise KeyError(f"no control timestep known for {name!r}; known: {sorted(CONTROL_TIMESTEP)}")
    ratio = CONTROL_TIMESTEP[name] / float(mj_model.opt.timestep)
    steps = round(ratio)
    if abs(ratio - steps) > 1e-6 * max(1.0, ratio):
        raise ValueError(f"{name}: control dt is not a multiple of the physics dt ({ratio})")
    return steps


__all__ = [
    "CONTROL_TIMESTEP",
    "EPISODE_LENGTH",
    "TASKS",
    "SimState",
    "TaskPort",
    "TaskState",
    "control_substeps",
    "get_port",
    "load_model",
    "make_port",
    "port_names",
]
