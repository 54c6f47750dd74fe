"""dm_control's walker-walk as a batched torch task port.

Formulas follow ``dm_control/suite/walker.py`` (dm_control 1.0.50):

- observation: ``orientations`` = the ``xx`` and ``xz`` entries of every non-world body's ``xmat``
  (7 bodies x 2 = 14, body-major), ``height`` = torso ``z`` (1), ``velocity`` = ``qvel`` (9).
- reward: ``standing = tolerance(torso_z, (1.2, inf), margin=0.6)`` (gaussian, 0.1 at the margin),
  ``upright = (1 + torso_zz) / 2``, ``stand = (3 standing + upright) / 4``,
  ``move = tolerance(vx, (1, inf), margin=0.5, value_at_margin=0.5, sigmoid="linear")`` with ``vx``
  the x component of ``torso_subtreelinvel``; reward ``= stand (5 move + 1) / 6``.
- initial state: ``randomize_limited_and_rotational_joints`` (limited hinges uniform in range, the
  unlimited ``rooty`` hinge uniform in ``[-pi, pi]``, the root slides kept), zero velocity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Generator, Tensor

from gorl.envs.tasks.base import JointSampler, SimState, TaskState, object_index, sensor_index
from gorl.envs.tasks.rewards import tolerance

STAND_HEIGHT = 1.2
WALK_SPEED = 1.0


class WalkerWalk:
    """walker-walk: stand tall and upright while moving forward at 1 m/s or more."""

    domain: ClassVar[str] = "walker"
    task: ClassVar[str] = "walk"

    def __init__(self, mj_model: Any, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self._torso = object_index(mj_model, "body", "torso")
        self._speed = sensor_index(mj_model, "torso_subtreelinvel")
        self._sampler = JointSampler.from_model(mj_model, device)
        self._nv = mj_model.nv
        nbody = mj_model.nbody
        self.obs_spec = (("orientations", 2 * (nbody - 1)), ("height", 1), ("velocity", mj_model.nv))
        self.obs_dim = sum(size for _, size in self.obs_spec)
        self.action_dim = mj_model.nu
        self.settle_steps = 0

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 24)``: orientations (14), torso height (1), qvel (9)."""
        # Entries 0 (xx) and 2 (xz) by a strided slice: a list index would copy it to the device.
        orientations = sim.xmat[:, 1:, 0:3:2].reshape(sim.xmat.shape[0], -1)
        height = sim.xpos[:, self._torso, 2:3]
        return torch.cat([orientations, height, sim.qvel], dim=-1).to(torch.float32)

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N,)``: stand reward times the walking bonus; see the module docstring."""
        standing = tolerance(
            sim.xpos[:, self._torso, 2], bounds=(STAND_HEIGHT, float("inf")), margin=STAND_HEIGHT / 2
        )
        upright = (1.0 + sim.xmat[:, self._torso, 8]) / 2.0
        stand = (3.0 * standing + upright) / 4.0
        move = tolerance(
            sim.sensordata[:, self._speed],
            bounds=(WALK_SPEED, float("inf")),
            margin=WALK_SPEED / 2,
            sigmoid_kind="linear",
            value_at_margin=0.5,
        )
        return stand * (5.0 * move + 1.0) / 6.0

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Randomised hinges (see the module docstring), zero velocity, no task state."""
        qpos = self._sampler(qpos0, generator)
        return qpos, torch.zeros(qpos.shape[0], self._nv, device=qpos.device), {}

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Walker keeps no per-episode task state."""
        return {}
