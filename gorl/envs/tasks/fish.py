"""dm_control's fish-swim as a batched torch task port.

Formulas follow ``dm_control/suite/fish.py`` (dm_control 1.0.50):

- observation: ``joint_angles`` (the seven tail and fin joints), ``upright`` (the torso's ``zz``
  rotation entry), ``target`` (mouth-to-target vector in the mouth geom's frame), ``velocity``
  (all of ``qvel``: 6 root + 7 joints);
- reward: ``(7 * in_target + is_upright) / 8`` with
  ``in_target = tolerance(|target|, bounds=(0, r), margin=2 r)`` (gaussian, 0.1 at the margin),
  ``r`` the mouth radius plus the target radius, and ``is_upright = (upright + 1) / 2``;
- initial state: root orientation ``randn(4)`` normalised (uniform on the unit 3-sphere), each
  joint uniform in ``[-0.2, 0.2]``, target uniform in ``[-0.4, 0.4]^2 x [0.1, 0.3]``; the root
  position stays at ``qpos0`` and the velocity at zero.

The target is a geom of the world body, which dm_control moves by writing ``model.geom_pos``. It has
the default contype/conaffinity (1, 1), but fish.xml disables constraints (``<flag
constraint="disable"/>``), so MuJoCo makes no contact with it, and fluid forces act on bodies with
mass only, not on the world; the target is therefore visual only. The port keeps its world position
in ``task_state["target"]`` and computes the mouth-to-target vector from it, where dm_control reads
``geom_xpos["target"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import mujoco
import numpy as np
import torch
from torch import Generator, Tensor

from gorl.envs.tasks.base import SimState, TaskState, object_index
from gorl.envs.tasks.rewards import tolerance

JOINTS = (
    "tail1",
    "tail_twist",
    "tail2",
    "finright_roll",
    "finright_pitch",
    "finleft_roll",
    "finleft_pitch",
)
_JOINT_RANGE = 0.2
_TARGET_LOW = (-0.4, -0.4, 0.1)
_TARGET_HIGH = (0.4, 0.4, 0.3)


def vector_in_frame(vec: Tensor, xmat: Tensor) -> Tensor:
    """Expresses world vectors in a body frame: ``vec @ R``, i.e. ``R^T vec``.

    Args:
        vec: ``(N, 3)`` world vectors.
        xmat: ``(N, 9)`` row-major rotation matrices of the frames (MuJoCo's ``xmat``).

    Returns:
        ``(N, 3)`` coordinates in the frames.
    """
    return (vec[:, :, None] * xmat.reshape(-1, 3, 3)).sum(dim=1)


class FishSwim:
    """fish-swim: swim the mouth to a target while staying upright.

    ``task_state``: ``target (N, 3)``, the target geom's world position.
    """

    domain: ClassVar[str] = "fish"
    task: ClassVar[str] = "swim"

    def __init__(self, mj_model: mujoco.MjModel, device: torch.device | str = "cpu") -> None:
        m, self._device = mj_model, torch.device(device)

        joints = [object_index(m, "joint", n) for n in JOINTS]
        self._joint_qpos = torch.tensor([m.jnt_qposadr[j] for j in joints], device=device)
        root = object_index(m, "joint", "root")
        if m.jnt_type[root] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError("fish root joint must be free")
        self._root_quat = int(m.jnt_qposadr[root]) + 3
        self._torso = object_index(m, "body", "torso")
        self._mouth = object_index(m, "geom", "mouth")
        self._target = object_index(m, "geom", "target")
        if m.geom_bodyid[self._target] != 0:
            raise ValueError("the fish target geom must belong to the world body")
        self._radii = float(m.geom_size[self._mouth, 0] + m.geom_size[self._target, 0])
        self._target_low = torch.tensor(_TARGET_LOW, dtype=torch.float32, device=device)
        self._target_high = torch.tensor(_TARGET_HIGH, dtype=torch.float32, device=device)
        self._nv = m.nv
        self.obs_spec = (("joint_angles", len(JOINTS)), ("upright", 1), ("target", 3), ("velocity", m.nv))
        self.obs_dim = sum(size for _, size in self.obs_spec)
        self.action_dim = m.nu
        self.settle_steps = 0

    def _upright(self, sim: SimState) -> Tensor:
        """``(N,)``: the torso's ``zz`` rotation entry (1 when upright)."""
        return sim.xmat[:, self._torso, 8]

    def _mouth_to_target(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 3)``: mouth-to-target vector in the mouth geom's frame."""
        world = task_state["target"] - sim.geom_xpos[:, self._mouth, :]
        return vector_in_frame(world, sim.geom_xmat[:, self._mouth, :])

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 24)``: joint_angles (7), upright (1), target (3), velocity (13)."""
        return torch.cat(
            [
                sim.qpos[:, self._joint_qpos],
                self._upright(sim)[:, None],
                self._mouth_to_target(sim, task_state),
                sim.qvel,
            ],
            dim=-1,
        )

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N,)`` in ``[0, 1]``: ``(7 * in_target + is_upright) / 8``."""
        dist = self._mouth_to_target(sim, task_state).norm(dim=-1)
        in_target = tolerance(dist, bounds=(0.0, self._radii), margin=2.0 * self._radii)
        is_upright = 0.5 * (self._upright(sim) + 1.0)
        return (7.0 * in_target + is_upright) / 8.0

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Random root orientation, joint angles and target (module docstring); zero velocity.

        Args:
            qpos0: ``(N, nq)`` the model's reference positions.
            generator: the torch generator all draws come from.

        Returns:
            ``qpos (N, nq)``, ``qvel (N, nv)``, ``{"target": (N, 3)}``.
        """
        n, dev, gdev = qpos0.shape[0], qpos0.device, generator.device
        quat = torch.randn(n, 4, generator=generator, device=gdev).to(dev)
        angles = torch.rand(n, len(JOINTS), generator=generator, device=gdev).to(dev)
        u = torch.rand(n, 3, generator=generator, device=gdev).to(dev)
        qpos = qpos0.to(torch.float32).clone()
        qpos[:, self._root_quat : self._root_quat + 4] = quat / quat.norm(dim=-1, keepdim=True)
        qpos[:, self._joint_qpos.to(dev)] = (2.0 * angles - 1.0) * _JOINT_RANGE
        low, high = self._target_low.to(dev), self._target_high.to(dev)
        target = low + u * (high - low)
        return qpos, torch.zeros(n, self._nv, device=dev), {"target": target}

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Reads the target geom position dm_control wrote into each model (world body: world frame)."""
        pos = np.stack([np.asarray(p.model.geom_pos[self._target], dtype=np.float64) for p in physics])
        return {"target": torch.as_tensor(pos.astype(np.float32), device=self._device)}
