"""dm_control's cheetah-run as a batched torch task port.

Formulas follow ``dm_control/suite/cheetah.py`` (dm_control 1.0.50):

- observation: ``position`` = ``qpos[1:]`` (8, horizontal position dropped), ``velocity`` = ``qvel`` (9).
- reward: ``tolerance(speed, bounds=(10, inf), margin=10, value_at_margin=0, sigmoid="linear")``,
  i.e. ``clip(speed / 10, 0, 1)``, with ``speed`` the x component of the ``torso_subtreelinvel`` sensor.
- initial state: limited joints uniform in their range (every cheetah joint but the root is limited),
  then 200 physics steps with zero control to let it settle (``settle_steps``), then time 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Generator, Tensor

from gorl.envs.tasks.base import JointSampler, SimState, TaskState, sensor_index
from gorl.envs.tasks.rewards import tolerance

RUN_SPEED = 10.0
SETTLE_STEPS = 200


class CheetahRun:
    """cheetah-run: run forward as fast as possible (reward saturates at 10 m/s)."""

    domain: ClassVar[str] = "cheetah"
    task: ClassVar[str] = "run"

    def __init__(self, mj_model: Any, device: torch.device | str = "cpu") -> None:
        if mj_model.nq != mj_model.njnt:
            raise ValueError(
                f"cheetah expects one qpos per joint, got nq={mj_model.nq}, njnt={mj_model.njnt}"
            )
        self.device = torch.device(device)
        self._speed = sensor_index(mj_model, "torso_subtreelinvel")
        # dm_control randomises the limited joints only (the root slides and hinge keep qpos0).
        self._sampler = JointSampler.from_model(mj_model, device, limited_only=True)
        self._nv = mj_model.nv
        self.obs_spec = (("position", mj_model.nq - 1), ("velocity", mj_model.nv))
        self.obs_dim = sum(size for _, size in self.obs_spec)
        self.action_dim = mj_model.nu
        self.settle_steps = SETTLE_STEPS

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 17)``: ``qpos[1:]`` then ``qvel``."""
        return torch.cat([sim.qpos[:, 1:], sim.qvel], dim=-1).to(torch.float32)

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N,)``: linear ramp of the torso subtree's forward speed, 1 from 10 m/s."""
        speed = sim.sensordata[:, self._speed]
        return tolerance(
            speed,
            bounds=(RUN_SPEED, float("inf")),
            margin=RUN_SPEED,
            sigmoid_kind="linear",
            value_at_margin=0.0,
        )

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Limited joints uniform in range, zero velocity; the simulator then settles 200 steps."""
        qpos = self._sampler(qpos0, generator)
        return qpos, torch.zeros(qpos.shape[0], self._nv, device=qpos.device), {}

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Cheetah keeps no per-episode task state."""
        return {}
