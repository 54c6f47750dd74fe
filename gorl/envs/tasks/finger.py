"""dm_control's finger domain (``spin``, ``turn_hard``) as batched torch task ports.

Formulas follow ``dm_control/suite/finger.py`` (dm_control 1.0.50):

- ``position``: proximal and distal joint angles, then the tip site's ``(x, z)`` relative to the
  spinner body; ``velocity``: proximal, distal and hinge joint velocities; ``touch``:
  ``log1p`` of the two touch sensors. ``turn`` adds ``target_position`` (target ``(x, z)`` relative to
  the spinner) and ``dist_to_target`` (tip-to-target distance minus the target radius).
- reward: ``spin`` is ``hinge_velocity <= -15``; ``turn`` is ``dist_to_target <= 0``.

dm_control reads positions and velocities through ``jointpos``/``jointvel``/``framepos`` sensors;
with its legacy step (Euler integrator, ``mj_step1`` after every step) those equal ``qpos``, ``qvel``,
``site_xpos`` and ``xpos``, which the ports read instead so a simulator need not refresh sensors.
Touch is an acceleration-stage sensor and is read from ``sensordata``.

The ``turn`` target is a *site* in the world body: sites never collide, so it is visual only and the
port keeps its position and radius in ``task_state`` (dm_control writes them into ``model.site_pos``
and ``model.site_size``, which a shared batched model cannot hold per world).

dm_control re-samples the joint angles until MuJoCo finds no contact (up to 1000 attempts).
``PlanarContactCheck`` reproduces that test in torch from the model's kinematic tree and collision
geoms (the finger is planar: every joint turns about ``y`` and every collision shape is a capsule, a
sphere or a ``y``-aligned cylinder in the ``y = 0`` plane), so ``initial_state`` rejects colliding
samples by itself and the environment need not run collision detection at reset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import mujoco
import numpy as np
import torch
from torch import Generator, Tensor

from gorl.envs.tasks.base import JointSampler, SimState, TaskState, object_index, sensor_index

_SPIN_VELOCITY = 15.0  # spinning faster than this (rad/s, negative direction) is rewarded
_HARD_TARGET_SIZE = 0.03
_SPIN_HINGE_DAMPING = 0.03  # Spin.initialize_episode sets dof_damping['hinge'] to this
_MAX_ATTEMPTS = 1000


def axis_angle_matrix(axis: Tensor, angle: Tensor) -> Tensor:
    """Rotation matrices about a fixed unit axis (Rodrigues' formula).

    Args:
        axis: ``(3,)`` unit vector.
        angle: ``(N,)`` angles in radians.

    Returns:
        ``(N, 3, 3)`` rotation matrices.
    """
    x, y, z = axis.unbind()
    zero = torch.zeros((), dtype=axis.dtype, device=axis.device)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero]).reshape(3, 3)
    s, c = angle.sin()[:, None, None], angle.cos()[:, None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device)
    return eye + s * k + (1.0 - c) * (k @ k)


def point_segment_distance(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance from points to segments (any dimension, zero-length segments allowed).

    Args:
        p, a, b: ``(N, D)`` points and segment end points.

    Returns:
        ``(N,)`` distances.
    """
    ab = b - a
    t = ((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)
    closest = a + t.clamp(0.0, 1.0)[:, None] * ab
    return (p - closest).norm(dim=-1)


def segment_distance_2d(a0: Tensor, a1: Tensor, b0: Tensor, b1: Tensor) -> Tensor:
    """Distance between 2-D segments ``[a0, a1]`` and ``[b0, b1]``; 0 where they cross.

    Two non-crossing segments in the plane are closest at an end point of one of them.

    Args:
        a0, a1, b0, b1: ``(N, 2)`` end points.

    Returns:
        ``(N,)`` distances.
    """

    def cross(o: Tensor, p: Tensor, q: Tensor) -> Tensor:
        return (p[:, 0] - o[:, 0]) * (q[:, 1] - o[:, 1]) - (p[:, 1] - o[:, 1]) * (q[:, 0] - o[:, 0])

    crossing = (cross(a0, a1, b0) * cross(a0, a1, b1) < 0) & (cross(b0, b1, a0) * cross(b0, b1, a1) < 0)
    ends = torch.stack(
        [
            point_segment_distance(a0, b0, b1),
            point_segment_distance(a1, b0, b1),
            point_segment_distance(b0, a0, a1),
            point_segment_distance(b1, a0, a1),
        ]
    ).amin(0)
    return torch.where(crossing, torch.zeros_like(ends), ends)


class PlanarContactCheck:
    """Whether MuJoCo would find a contact, for models that live in the ``y = 0`` plane.

    Forward kinematics of the hinge tree in torch, then every geom pair MuJoCo's filters let collide
    (contype/conaffinity, different bodies, not parent and child unless one is the world) is tested:
    capsules and spheres are 2-D segments with a radius, a ``y``-aligned cylinder is a disc, a plane
    with normal ``+z`` is a floor. Construction raises if the model does not fit these assumptions.
    """

    def __init__(self, mj_model: mujoco.MjModel, device: torch.device | str = "cpu") -> None:
        m = mj_model
        data = mujoco.MjData(m)
        mujoco.mj_kinematics(m, data)

        def f32(x: np.ndarray) -> Tensor:
            return torch.tensor(x, dtype=torch.float32, device=device)

        self._bodies: list[tuple[int, int, Tensor, Tensor, tuple[int, Tensor, Tensor, float] | None]] = []
        for b in range(1, m.nbody):
            joints = [j for j in range(m.njnt) if m.jnt_bodyid[j] == b]
            if len(joints) > 1 or any(m.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE for j in joints):
                raise ValueError(f"body {b}: PlanarContactCheck supports at most one hinge per body")
            joint = None
            if joints:
                j = joints[0]
                if abs(abs(data.xaxis[j, 1]) - 1.0) > 1e-9 or abs(data.xanchor[j, 1]) > 1e-9:
                    raise ValueError(f"joint {j} does not turn about a y-axis in the y = 0 plane")
                adr = int(m.jnt_qposadr[j])
                joint = (adr, f32(m.jnt_axis[j]), f32(m.jnt_pos[j]), float(m.qpos0[adr]))
            rot = np.zeros(9)
            mujoco.mju_quat2Mat(rot, m.body_quat[b])
            pos, mat = f32(m.body_pos[b]), f32(rot.reshape(3, 3))
            self._bodies.append((b, int(m.body_parentid[b]), pos, mat, joint))

        self._geoms: dict[int, tuple[int, Tensor, Tensor, float, float]] = {}  # body, pos, axis, half, radius
        floors: dict[int, float] = {}
        for g in range(m.ngeom):
            if m.geom_contype[g] == 0 and m.geom_conaffinity[g] == 0:
                continue
            kind, size, xmat = m.geom_type[g], m.geom_size[g], data.geom_xmat[g].reshape(3, 3)
            if kind == mujoco.mjtGeom.mjGEOM_PLANE:
                if m.geom_bodyid[g] != 0 or abs(xmat[2, 2] - 1.0) > 1e-9:
                    raise ValueError(f"geom {g}: only world planes with normal +z are supported")
                floors[g] = float(data.geom_xpos[g, 2])
                continue
            if abs(data.geom_xpos[g, 1]) > 1e-9:
                raise ValueError(f"geom {g} is not centred in the y = 0 plane")
            rot = np.zeros(9)
            mujoco.mju_quat2Mat(rot, m.geom_quat[g])
            axis = rot.reshape(3, 3)[:, 2]  # the geom's local z axis in its body's frame
            if kind == mujoco.mjtGeom.mjGEOM_CAPSULE and abs(xmat[1, 2]) < 1e-9:
                half = float(size[1])
            elif kind == mujoco.mjtGeom.mjGEOM_SPHERE or (
                kind == mujoco.mjtGeom.mjGEOM_CYLINDER and abs(abs(xmat[1, 2]) - 1.0) < 1e-9
            ):
                half = 0.0  # a sphere, or a y-aligned cylinder seen in the plane: a disc
            else:
                raise ValueError(f"geom {g}: type {kind} in this orientation is not planar")
            pos = f32(m.geom_pos[g])
            self._geoms[g] = (int(m.geom_bodyid[g]), pos, f32(axis), half, float(size[0]))

        def weld_parent(b: int) -> int:
            return int(m.body_weldid[m.body_parentid[m.body_weldid[b]]])

        self._pairs: list[tuple[int, int, float]] = []
        self._floor_pairs: list[tuple[int, float, float]] = []
        candidates = [*self._geoms, *floors]
        for i, g1 in enumerate(candidates):
            for g2 in candidates[i + 1 :]:
                w1, w2 = int(m.body_weldid[m.geom_bodyid[g1]]), int(m.body_weldid[m.geom_bodyid[g2]])
                compatible = (m.geom_contype[g1] & m.geom_conaffinity[g2]) or (
                    m.geom_contype[g2] & m.geom_conaffinity[g1]
                )
                parent_child = w1 and w2 and (weld_parent(w1) == w2 or weld_parent(w2) == w1)
                if not compatible or w1 == w2 or parent_child or (g1 in floors and g2 in floors):
                    continue
                margin = float(max(m.geom_margin[g1], m.geom_margin[g2]))
                if g1 in floors or g2 in floors:
                    floor, other = (g1, g2) if g1 in floors else (g2, g1)
                    self._floor_pairs.append((other, floors[floor], margin))
                else:
                    self._pairs.append((g1, g2, margin))

    def _geom_segments(self, qpos: Tensor) -> dict[int, tuple[Tensor, Tensor]]:
        """World ``(x, z)`` end points ``(N, 2)`` of every collision geom's core segment."""
        n = qpos.shape[0]
        eye = torch.eye(3, dtype=qpos.dtype, device=qpos.device).expand(n, 3, 3)
        rots, poss = {0: eye}, {0: torch.zeros(n, 3, dtype=qpos.dtype, device=qpos.device)}
        for b, parent, pos, mat, joint in self._bodies:
            rot = rots[parent] @ mat
            xpos = poss[parent] + rots[parent] @ pos
            if joint is not None:
                adr, axis, jpos, q0 = joint
                anchor = xpos + rot @ jpos
                rot = rot @ axis_angle_matrix(axis, qpos[:, adr] - q0)
                xpos = anchor - rot @ jpos
            rots[b], poss[b] = rot, xpos
        out = {}
        for g, (body, pos, axis, half, _) in self._geoms.items():
            centre = poss[body] + rots[body] @ pos
            offset = half * (rots[body] @ axis)
            out[g] = ((centre - offset)[:, 0:3:2], (centre + offset)[:, 0:3:2])
        return out

    def __call__(self, qpos: Tensor) -> Tensor:
        """Contact flags.

        Args:
            qpos: ``(N, nq)`` joint positions.

        Returns:
            ``(N,)`` bool, True where some allowed geom pair touches or penetrates.
        """
        seg = self._geom_segments(qpos)
        contact = torch.zeros(qpos.shape[0], dtype=torch.bool, device=qpos.device)
        for g1, g2, margin in self._pairs:
            dist = segment_distance_2d(*seg[g1], *seg[g2]) - self._geoms[g1][4] - self._geoms[g2][4]
            contact |= dist < margin
        for g, floor_z, margin in self._floor_pairs:
            lowest = torch.minimum(seg[g][0][:, 1], seg[g][1][:, 1]) - self._geoms[g][4]
            contact |= lowest - floor_z < margin
        return contact


class _Finger:
    """Indices, constants and shared pieces of both finger tasks (held, not inherited)."""

    def __init__(self, mj_model: mujoco.MjModel, device: torch.device | str) -> None:
        m, self.device = mj_model, torch.device(device)
        joints = {n: object_index(m, "joint", n) for n in ("proximal", "distal", "hinge")}
        self.qpos_idx = torch.tensor(
            [m.jnt_qposadr[joints[n]] for n in ("proximal", "distal")], device=device
        )
        self.qvel_idx = torch.tensor([m.jnt_dofadr[j] for j in joints.values()], device=device)
        self.hinge_dof = int(m.jnt_dofadr[joints["hinge"]])
        self.spinner = object_index(m, "body", "spinner")
        self.tip = object_index(m, "site", "tip")
        self.target_site = object_index(m, "site", "target")
        self.touch_idx = torch.tensor(
            [sensor_index(m, n) for n in ("touchtop", "touchbottom")], device=device
        )
        self.nv = m.nv
        # randomize_limited_and_rotational_joints: limited hinges uniform in range, others in [-pi, pi].
        self.sample_joints = JointSampler.from_model(m, device)
        self.in_contact = PlanarContactCheck(m, device)

    def base_observation(self, sim: SimState) -> list[Tensor]:
        """``position (N, 4)``, ``velocity (N, 3)``, ``touch (N, 2)``."""
        tip = sim.site_xpos[:, self.tip, :][:, 0:3:2] - sim.xpos[:, self.spinner, :][:, 0:3:2]
        position = torch.cat([sim.qpos[:, self.qpos_idx], tip], dim=-1)
        return [position, sim.qvel[:, self.qvel_idx], torch.log1p(sim.sensordata[:, self.touch_idx])]

    def random_joint_angles(self, qpos0: Tensor, generator: Generator) -> Tensor:
        """dm_control's ``_set_random_joint_angles``: uniform angles, re-drawn while in contact.

        Every row draws candidates until one is contact-free, so each row is uniform over the
        contact-free set, as in dm_control. All rows draw each round (static shapes); one host sync
        per round checks whether any row still needs a draw.

        Args:
            qpos0: ``(N, nq)`` the model's reference positions.
            generator: the torch generator all draws come from.

        Returns:
            ``(N, nq)`` float32 contact-free joint positions.
        """
        qpos = qpos0.to(torch.float32)
        need = torch.ones(qpos.shape[0], dtype=torch.bool, device=qpos.device)
        for _ in range(_MAX_ATTEMPTS):
            cand = self.sample_joints(qpos, generator)
            ok = need & ~self.in_contact(cand)
            qpos = torch.where(ok[:, None], cand, qpos)
            need &= ~ok
            if not bool(need.any()):
                return qpos
        raise RuntimeError(f"could not find a collision-free state after {_MAX_ATTEMPTS} attempts")


class FingerSpin:
    """finger-spin: spin the free body fast (sparse reward, ``hinge_velocity <= -15``).

    dm_control's ``Spin`` lowers the hinge damping from 0.5 to 0.03 at every episode start; that is a
    model change, so the constructor writes it into ``mj_model.dof_damping``: build the port before
    the simulator copies the model.
    """

    domain: ClassVar[str] = "finger"
    task: ClassVar[str] = "spin"

    def __init__(self, mj_model: mujoco.MjModel, device: torch.device | str = "cpu") -> None:
        self._f = _Finger(mj_model, device)
        mj_model.dof_damping[self._f.hinge_dof] = _SPIN_HINGE_DAMPING
        self.obs_spec = (("position", 4), ("velocity", 3), ("touch", 2))
        self.obs_dim = sum(size for _, size in self.obs_spec)
        self.action_dim = mj_model.nu
        self.settle_steps = 0

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 9)``: position (4), velocity (3), touch (2)."""
        return torch.cat(self._f.base_observation(sim), dim=-1)

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N,)``: 1 where the hinge turns at -15 rad/s or faster, else 0."""
        return (sim.qvel[:, self._f.hinge_dof] <= -_SPIN_VELOCITY).to(torch.float32)

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Contact-free uniform joint angles, zero velocity, empty task state."""
        qpos = self._f.random_joint_angles(qpos0, generator)
        return qpos, torch.zeros(qpos.shape[0], self._f.nv, device=qpos.device), {}

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Spin keeps no per-episode state beyond the joints."""
        return {}


class FingerTurnHard:
    """finger-turn_hard: turn the spinner's tip into a target of radius 0.03 on its circle.

    ``task_state``: ``target (N, 3)`` world position of the target site, ``target_radius (N,)``.
    """

    domain: ClassVar[str] = "finger"
    task: ClassVar[str] = "turn_hard"

    def __init__(self, mj_model: mujoco.MjModel, device: torch.device | str = "cpu") -> None:
        self._f = _Finger(mj_model, device)
        if mj_model.site_bodyid[self._f.target_site] != 0:
            raise ValueError("the finger target site must belong to the world body")
        data = mujoco.MjData(mj_model)
        mujoco.mj_kinematics(mj_model, data)
        hinge, cap1 = object_index(mj_model, "joint", "hinge"), object_index(mj_model, "geom", "cap1")
        # The spinner hangs from the world, so its hinge anchor does not depend on qpos.
        self._anchor = torch.tensor(data.xanchor[hinge], dtype=torch.float32, device=device)
        self._circle_radius = float(mj_model.geom_size[cap1].sum())
        self._target_y = float(mj_model.site_pos[self._f.target_site, 1])
        self.obs_spec = (
            ("position", 4),
            ("velocity", 3),
            ("touch", 2),
            ("target_position", 2),
            ("dist_to_target", 1),
        )
        self.obs_dim = sum(size for _, size in self.obs_spec)
        self.action_dim = mj_model.nu
        self.settle_steps = 0

    def _to_target(self, sim: SimState, task_state: TaskState) -> tuple[Tensor, Tensor]:
        """Target ``(x, z)`` relative to the spinner ``(N, 2)`` and signed distance ``(N,)``."""
        spinner = sim.xpos[:, self._f.spinner, :][:, 0:3:2]
        target = task_state["target"][:, 0:3:2] - spinner
        tip = sim.site_xpos[:, self._f.tip, :][:, 0:3:2] - spinner
        return target, (target - tip).norm(dim=-1) - task_state["target_radius"]

    def observation(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N, 12)``: position (4), velocity (3), touch (2), target_position (2), dist_to_target (1)."""
        target, dist = self._to_target(sim, task_state)
        return torch.cat([*self._f.base_observation(sim), target, dist[:, None]], dim=-1)

    def reward(self, sim: SimState, task_state: TaskState) -> Tensor:
        """``(N,)``: 1 where the tip is inside the target sphere, else 0."""
        return (self._to_target(sim, task_state)[1] <= 0).to(torch.float32)

    def initial_state(self, qpos0: Tensor, generator: Generator) -> tuple[Tensor, Tensor, TaskState]:
        """Target angle uniform in ``[-pi, pi)`` on the spinner's circle, then contact-free joints."""
        n, dev = qpos0.shape[0], qpos0.device
        angle = (torch.rand(n, generator=generator, device=generator.device).to(dev) * 2.0 - 1.0) * math.pi
        anchor = self._anchor.to(dev)
        target = torch.stack(
            [
                anchor[0] + self._circle_radius * angle.sin(),
                torch.full_like(angle, self._target_y),
                anchor[2] + self._circle_radius * angle.cos(),
            ],
            dim=-1,
        )
        qpos = self._f.random_joint_angles(qpos0, generator)
        task_state = {"target": target, "target_radius": torch.full_like(angle, _HARD_TARGET_SIZE)}
        return qpos, torch.zeros(n, self._f.nv, device=dev), task_state

    def task_state_from_physics(self, physics: Sequence[Any]) -> TaskState:
        """Reads the target site's position and radius that dm_control wrote into each model."""
        site = self._f.target_site
        pos = np.stack([np.asarray(p.model.site_pos[site], dtype=np.float64) for p in physics])
        size = np.array([p.model.site_size[site, 0] for p in physics], dtype=np.float64)
        return {
            "target": torch.as_tensor(pos.astype(np.float32), device=self._f.device),
            "target_radius": torch.as_tensor(size.astype(np.float32), device=self._f.device),
        }
