"""The contract between a torch task port and a batched simulator.

A task port is dm_control's task logic (observation, reward, initial state) rewritten as batched torch
functions of the simulator's state. It never touches a simulator: ``SimState`` carries the arrays, so
the same port runs on MuJoCo Warp's arrays (``gorl.envs.warp``) and on arrays read from dm_control
physics (``SimState.from_physics``), which is how the parity tests compare the two.

Shapes: N worlds; ``xmat``-like fields are row-major 3x3 flattened to 9, as in MuJoCo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Generator, Tensor

TaskState = dict[str, Tensor]


@dataclass
class SimState:
    """Batched MuJoCo state read by task ports (float32, leading dim N)."""

    qpos: Tensor  # (N, nq)
    qvel: Tensor  # (N, nv)
    ctrl: Tensor  # (N, nu)
    xpos: Tensor  # (N, nbody, 3)
    xmat: Tensor  # (N, nbody, 9)
    xipos: Tensor  # (N, nbody, 3) body centres of mass
    site_xpos: Tensor  # (N, nsite, 3)
    site_xmat: Tensor  # (N, nsite, 9)
    geom_xpos: Tensor  # (N, ngeom, 3)
    geom_xmat: Tensor  # (N, ngeom, 9)
    sensordata: Tensor  # (N, nsensordata)
    time: Tensor  # (N,)

    @classmethod
    def from_physics(cls, physics: Sequence[Any], device: torch.device | str = "cpu") -> SimState:
        """Stacks the state of dm_control ``Physics`` objects (one per world) into a SimState."""

        def stack(name: str, shape: tuple[int, ...] | None = None) -> Tensor:
            arrs = [np.asarray(getattr(p.data, name), dtype=np.float64) for p in physics]
            out = np.stack(arrs).astype(np.float32)
            if shape is not None:
                out = out.reshape(len(physics), *shape)
            return torch.as_tensor(out, device=device)

        m = physics[0].model
        return cls(
            qpos=stack("qpos"),
            qvel=stack("qvel"),
            ctrl=stack("ctrl"),
            xpos=stack("xpos", (m.nbody, 3)),
            xmat=stack("xmat", (m.nbody, 9)),
            xipos=stack("xipos", (m.nbody, 3)),
            site_xpos=stack("site_xpos", (m.nsite, 3)),
            site_xmat=stack("site_xmat", (m.nsite, 9)),
            geom_xpos=stack("geom_xpos", (m.ngeom, 3)),
            geom_xmat=stack("geom_xmat", (m.ngeom, 9)),
            sensordata=stack("sensordata"),
            time=torch.as_tensor(np.array([p.data.time for p in physics], dtype=np.float32), device=device),
        )

    @classmethod
    def field_names(cls) -> list[str]:
        """The names of the state arrays."""
        return [f.name for f in fields(cls)]


@runtime_checkable
class TaskPort(Protocol):
    """dm_control's ``Task`` for one domain-task, batched over worlds in torch.

    Attributes:
        domain, task: dm_control names (``"cheetah"``, ``"run"``).
        obs_spec: ``(key, size)`` pairs in dm_control's observation-dict order; ``obs_dim`` their sum.
        action_dim: number of actuators.
        settle_steps: physics steps run after ``initial_state`` before the episode starts (cheetah: 200).
    """

    domain: ClassVar[str]
    task: ClassVar[str]
    obs_spec: tuple[tuple[str, int], ...]
    obs_dim: int
    action_dim: int
    settle_steps: int

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """Flattened observation ``(N, obs_dim)``, float32, in dm_control's key order."""
        ...

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """Reward ``(N,)`` in ``[0, 1]``."""
        ...

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Samples a new episode for every row of ``qpos0 (N, nq)``: ``(qpos, qvel, task_state)``."""
        ...

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Reads the per-episode task state (targets, ...) of dm_control physics, one per world."""
        ...


def object_index(mj_model: Any, objtype: str, name: str) -> int:
    """The id of a named MuJoCo object; an unknown name raises with the known ones.

    Args:
        mj_model: a ``mujoco.MjModel``.
        objtype: ``"body"``, ``"joint"``, ``"site"``, ``"geom"``, ``"sensor"`` or ``"actuator"``.
        name: the object's name in the MJCF.
    """
    import mujoco

    kind = getattr(mujoco.mjtObj, f"mjOBJ_{objtype.upper()}")
    idx = mujoco.mj_name2id(mj_model, kind, name)
    if idx < 0:
        count = {"body": mj_model.nbody, "joint": mj_model.njnt, "site": mj_model.nsite}.get(objtype)
        count = count if count is not None else getattr(mj_model, f"n{objtype}")
        known = [mujoco.mj_id2name(mj_model, kind, i) for i in range(count)]
        raise KeyError(f"no {objtype} named {name!r} in the model; known: {known}")
    return int(idx)


def sensor_index(mj_model: Any, name: str) -> int:
    """The first ``sensordata`` column of a named sensor."""
    return int(mj_model.sensor_adr[object_index(mj_model, "sensor", name)])


@dataclass(frozen=True)
class JointSampler:
    """dm_control's ``randomize_limited_and_rotational_joints`` for hinge and slide joints, in torch.

    Limited hinges and slides are uniform in their range, unlimited hinges uniform in ``[-pi, pi]``;
    unlimited slides keep ``qpos0``. Ball and free joints are refused (no port here needs them).

    Attributes:
        qpos_idx: ``(J,)`` qpos columns that are sampled.
        low, high: ``(J,)`` float32 bounds of the uniform draws.
    """

    qpos_idx: Tensor
    low: Tensor
    high: Tensor

    @classmethod
    def from_model(
        cls, mj_model: Any, device: torch.device | str = "cpu", *, limited_only: bool = False
    ) -> JointSampler:
        """Reads joint types, limits and qpos addresses of ``mj_model``.

        ``limited_only`` keeps unlimited hinges at ``qpos0`` too (cheetah samples limited joints only).
        """
        import mujoco

        idx, low, high = [], [], []
        for j in range(mj_model.njnt):
            jtype = int(mj_model.jnt_type[j])
            if jtype not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
                name = mujoco.mj_id2name(mj_model, mujoco.mjtObj.mjOBJ_JOINT, j)
                raise ValueError(f"JointSampler handles hinge and slide joints only; {name!r} is not one")
            if mj_model.jnt_limited[j]:
                lo, hi = mj_model.jnt_range[j]
            elif jtype == mujoco.mjtJoint.mjJNT_HINGE and not limited_only:
                lo, hi = -math.pi, math.pi
            else:
                continue
            idx.append(int(mj_model.jnt_qposadr[j]))
            low.append(float(lo))
            high.append(float(hi))
        return cls(
            torch.tensor(idx, dtype=torch.long, device=device),
            torch.tensor(low, dtype=torch.float32, device=device),
            torch.tensor(high, dtype=torch.float32, device=device),
        )

    def __call__(self, qpos0: Tensor, generator: Generator) -> Tensor:
        """Samples joint positions.

        Args:
            qpos0: ``(N, nq)`` reference positions; columns not sampled are kept.
            generator: source of the uniform draws (on ``qpos0``'s device).

        Returns:
            ``(N, nq)`` float32 positions.
        """
        n = qpos0.shape[0]
        u = torch.rand(n, self.qpos_idx.numel(), generator=generator, device=generator.device)
        u = u.to(qpos0.device)
        qpos = qpos0.to(torch.float32).clone()
        qpos[:, self.qpos_idx] = self.low + u * (self.high - self.low)
        return qpos
