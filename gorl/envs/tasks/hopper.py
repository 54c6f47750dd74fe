"""dm_control's hopper-stand as a batched torch task port.

Formulas follow ``dm_control/suite/hopper.py`` (dm_control 1.0.50):

- observation: ``position`` = ``qpos[1:]`` (6), ``velocity`` = ``qvel`` (7), ``touch`` =
  ``log1p`` of the ``touch_toe`` and ``touch_heel`` sensors (2).
- reward: ``standing = tolerance(h, (0.6, 2))`` (indicator, no margin) with ``h`` the torso's centre
  of mass height minus the foot's (``xipos``), ``small_control = (mean_i tolerance(ctrl_i, margin=1,
  value_at_margin=0, sigmoid="quadratic") + 4) / 5``; reward ``= standing * small_control``.
- initial state: ``randomize_limited_and_rotational_joints`` (limited hinges uniform in range, the
  unlimited ``rooty`` hinge uniform in ``[-pi, pi]``, the root slides kept), zero velocity.

Touch sensors are acceleration-stage: after a dm_control step they hold the value from the last
substep's forward pass (``mj_step1`` does not recompute them); the simulator must keep that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Generator, Tensor

from gorl.envs.tasks.base import JointSampler, SimState, TaskState, object_index, sensor_index
from gorl.envs.tasks.rewards import tolerance

STAND_HEIGHT = 0.6
MAX_HEIGHT = 2.0


class HopperStand:
    """hopper-stand: keep the torso 0.6 to 2 m above the foot with small controls."""

    domain: ClassVar[str] = "hopper"
    task: ClassVar[str] = "stand"

    def __init__(self, mj_model: Any, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self._torso = object_index(mj_model, "body", "torso")
        self._foot = object_index(mj_model, "body", "foot")
        self._touch = torch.tensor(
            [sensor_index(mj_model, "touch_toe"), sensor_index(mj_model, "touch_heel")], device=self.device
        )
        self._sampler = JointSampler.from_model(mj_model, device)
        self._nv = mj_model.nv
        self.obs_spec = (("position", mj_model.nq - 1), ("velocity", mj_model.nv), ("touch", 2))
        self.obs_dim = sum(size for _, size in self.obs_spec)
        self.action_dim = mj_model.nu
        self.settle_steps = 0

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 15)``: ``qpos[1:]`` (6), ``qvel`` (7), ``log1p(touch)`` (2)."""
        touch = torch.log1p(sim.sensordata[:, self._touch])
        return torch.cat([sim.qpos[:, 1:], sim.qvel, touch], dim=-1).to(torch.float32)

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N,)``: standing indicator times the small-control bonus in ``[0.8, 1]``."""
        height = sim.xipos[:, self._torso, 2] - sim.xipos[:, self._foot, 2]
        standing = tolerance(height, bounds=(STAND_HEIGHT, MAX_HEIGHT))
        small = tolerance(sim.ctrl, margin=1.0, sigmoid_kind="quadratic", value_at_margin=0.0).mean(dim=-1)
        return standing * (small + 4.0) / 5.0

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Randomised hinges (see the module docstring), zero velocity, no task state."""
        qpos = self._sampler(qpos0, generator)
        return qpos, torch.zeros(qpos.shape[0], self._nv, device=qpos.device), {}

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Hopper keeps no per-episode task state."""
        return {}
