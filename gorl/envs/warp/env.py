"""``WarpBatchEnv``: N copies of a DM Control task stepped by MuJoCo Warp, as one TorchRL env.

The simulator's arrays are shared with torch (``warp.to_torch``, no copies); task logic is a torch
port (``gorl.envs.tasks``) reading those views. Keys and semantics match ``gorl.interfaces.env``.

One control step = write the action into ``ctrl``, run ``substeps`` MuJoCo Warp steps, then refresh
the position and velocity stages (kinematics, ``com_vel``, position and velocity sensors) as
dm_control's ``mj_step1`` does, keeping acceleration-stage sensors (touch) from the last substep.
That simulator work is one captured graph (a CUDA graph on a GPU) replayed every step.

Resets come from a *bank*: a second MuJoCo Warp ``Data`` holding one ready initial state per env
(sampled by the port, settled for ``settle_steps`` physics steps, forwarded) and its observation. A
finished env takes its bank row by ``torch.where``: no simulator call, no host sync. The bank is
re-drawn every ``episode_length`` calls of ``step_and_maybe_reset`` (a host-side count), and at every
explicit ``reset``; an env finishes at most once per ``episode_length`` steps, so it never takes the
same row twice.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torch import Tensor
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from gorl.envs.tasks import EPISODE_LENGTH, control_substeps, load_model, make_port
from gorl.envs.tasks.base import SimState, TaskState
from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD, TERMINATED, TRUNCATED


def _warp_device(device: torch.device) -> str:
    """The warp device string for a torch device (``cuda`` without index -> the current one)."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index}"
    if device.type == "cpu":
        return "cpu"
    raise ValueError(f"MuJoCo Warp runs on cpu or cuda devices, got {device}")


def sim_views(d: Any) -> SimState:
    """Torch views (no copies) of a MuJoCo Warp ``Data``'s arrays as a ``SimState``.

    Matrices ``(N, n, 3, 3)`` are viewed as ``(N, n, 9)``, row-major as in MuJoCo.
    """
    import warp as wp

    def view(arr: Any) -> Tensor:
        return wp.to_torch(arr)

    def mat(arr: Any) -> Tensor:
        t = wp.to_torch(arr)
        return t.view(*t.shape[:2], 9)

    return SimState(
        qpos=view(d.qpos),
        qvel=view(d.qvel),
        ctrl=view(d.ctrl),
        xpos=view(d.xpos),
        xmat=mat(d.xmat),
        xipos=view(d.xipos),
        site_xpos=view(d.site_xpos),
        site_xmat=mat(d.site_xmat),
        geom_xpos=view(d.geom_xpos),
        geom_xmat=mat(d.geom_xmat),
        sensordata=view(d.sensordata),
        time=view(d.time),
    )


class WarpBatchEnv(EnvBase):
    """``num_envs`` copies of ``task`` on MuJoCo Warp; see the module docstring.

    Args:
        task: a registered task name (``gorl.envs.tasks.port_names()``), e.g. ``"cheetah-run"``.
        num_envs: number of worlds N.
        seed: seeds the torch generator that draws every initial state (same seed, same episodes).
        device: torch device; default ``cuda`` if available, else ``cpu``.
        episode_length: control steps before truncation (DM Control: 1000).
        graph: capture the simulator work in a warp graph and replay it (CUDA graph on a GPU, warp's
            API capture on the CPU; both replay exactly what the eager calls do).
        nconmax, njmax: per-world contact and constraint capacities (MuJoCo Warp's defaults if None).
    """

    exact_resume = True  # env_state continues the episodes in progress (live worlds and reset bank)

    def __init__(
        self,
        task: str,
        num_envs: int,
        *,
        seed: int = 0,
        device: torch.device | str | None = None,
        episode_length: int = EPISODE_LENGTH,
        graph: bool = True,
        nconmax: int | None = None,
        njmax: int | None = None,
    ) -> None:
        import mujoco_warp as mjw
        import warp as wp

        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        super().__init__(device=device, batch_size=torch.Size([num_envs]))
        self.task_name, self.num_envs = task, num_envs
        self.mj_model = load_model(task)
        self.port = make_port(task, self.mj_model, device)  # may edit the model: before put_model
        self.substeps = control_substeps(task, self.mj_model)
        if episode_length < 1:
            raise ValueError(f"episode_length must be >= 1, got {episode_length}")
        self.episode_length = episode_length
        self.obs_dim, self.action_dim = self.port.obs_dim, self.port.action_dim
        self.action_low = torch.full((self.action_dim,), -1.0, device=device)
        self.action_high = torch.full((self.action_dim,), 1.0, device=device)
        lo, hi = self.mj_model.actuator_ctrlrange.T
        if not (self.mj_model.actuator_ctrllimited.all() and (lo == -1).all() and (hi == 1).all()):
            raise ValueError(f"{task}: expected every actuator limited to [-1, 1]")

        self._wp_device = _warp_device(device)
        self._graph_enabled = graph
        with wp.ScopedDevice(self._wp_device):
            self._m = mjw.put_model(self.mj_model)
            self._d = mjw.make_data(self.mj_model, nworld=num_envs, nconmax=nconmax, njmax=njmax)
            self._bank = mjw.make_data(self.mj_model, nworld=num_envs, nconmax=nconmax, njmax=njmax)
        self._side: tuple[Any, Any] | None = None  # (torch stream, the same stream in warp) on CUDA
        if device.type == "cuda":
            side = torch.cuda.Stream(device)
            self._side = (side, wp.stream_from_torch(side))
        self._sim, self._bank_sim = sim_views(self._d), sim_views(self._bank)
        self._warmstart = wp.to_torch(self._d.qacc_warmstart)
        self._bank_warmstart = wp.to_torch(self._bank.qacc_warmstart)
        self._graphs: dict[str, Any] = {}

        self._generator = torch.Generator(device=device)
        self._seed = seed
        self._generator.manual_seed(seed)
        self._steps = torch.zeros(num_envs, dtype=torch.int64, device=device)
        self._obs = torch.zeros(num_envs, self.obs_dim, device=device)
        self._bank_obs = torch.zeros(num_envs, self.obs_dim, device=device)
        self._task_state: TaskState = {}
        self._bank_task_state: TaskState = {}
        self._calls = 0  # host-side count of step_and_maybe_reset calls, schedules bank refills
        self._make_specs()
        self._refill_bank()  # the first reset() takes these rows; until then the worlds start there
        self._apply_reset(torch.ones(num_envs, dtype=torch.bool, device=device))

    # ----------------------------------------------------------------------------------- specs
    def _make_specs(self) -> None:
        n, dev = self.num_envs, self.device
        self.observation_spec = Composite(
            {OBSERVATION: Unbounded(shape=(n, self.obs_dim), dtype=torch.float32, device=dev)}, shape=(n,)
        )
        self.action_spec = Bounded(
            low=self.action_low.expand(n, -1),
            high=self.action_high.expand(n, -1),
            shape=(n, self.action_dim),
            dtype=torch.float32,
            device=dev,
        )
        self.reward_spec = Unbounded(shape=(n, 1), dtype=torch.float32, device=dev)
        self.done_spec = Composite(
            {
                k: Categorical(2, shape=(n, 1), dtype=torch.bool, device=dev)
                for k in (DONE, TERMINATED, TRUNCATED)
            },
            shape=(n,),
        )

    # ------------------------------------------------------------------------------- simulator
    def _launch(self, name: str | None, work: Any) -> None:
        """Runs ``work()`` (MuJoCo Warp calls), captured once and replayed if ``graph`` is on.

        ``name`` None: always eager (one-off work such as ``reset_data``), still stream-ordered.

        The first call runs eagerly (kernels compile or load there, outside any capture); the second
        captures and every later one replays. On CUDA the work runs on a side stream ordered after
        torch's current stream and before its next ops by stream waits (device-side events, no host
        sync): graph capture is not allowed on the legacy default stream torch uses by default.
        """
        import warp as wp

        with wp.ScopedDevice(self._wp_device):
            if self._side is None:
                self._run_or_replay(name, work)
                return
            torch_side, warp_side = self._side
            current = torch.cuda.current_stream(self.device)
            torch_side.wait_stream(current)
            with wp.ScopedStream(warp_side, sync_enter=False):
                self._run_or_replay(name, work)
            current.wait_stream(torch_side)

    def _run_or_replay(self, name: str | None, work: Any) -> None:
        import warp as wp

        if name is None or not self._graph_enabled:
            work()
        elif name in self._graphs:
            wp.capture_launch(self._graphs[name])
        elif f"{name}:warm" not in self._graphs:
            work()
            self._graphs[f"{name}:warm"] = True
        else:
            with wp.ScopedCapture() as capture:
                work()
            self._graphs[name] = capture.graph
            wp.capture_launch(capture.graph)

    def _refresh(self, d: Any) -> None:
        """dm_control's ``mj_step1`` for what tasks read: position and velocity stages, their sensors."""
        import mujoco_warp as mjw

        mjw.fwd_kinematics(self._m, d)
        mjw.com_vel(self._m, d)
        mjw.sensor_pos(self._m, d)
        mjw.sensor_vel(self._m, d)

    def _physics_step(self) -> None:
        import mujoco_warp as mjw

        for _ in range(self.substeps):
            mjw.step(self._m, self._d)
        self._refresh(self._d)

    def _settle_bank(self) -> None:
        """``settle_steps`` zero-control steps, time 0, then a forward pass (dm_control's reset)."""
        import mujoco_warp as mjw

        for _ in range(self.port.settle_steps):
            mjw.step(self._m, self._bank)
        self._bank.time.zero_()
        mjw.forward(self._m, self._bank)

    def _refill_bank(self) -> None:
        """Draws a fresh initial state for every bank row (host-level: runs between steps)."""
        import mujoco_warp as mjw

        n = self.num_envs
        qpos0 = torch.as_tensor(self.mj_model.qpos0, dtype=torch.float32, device=self.device).expand(n, -1)
        qpos, qvel, task_state = self.port.initial_state(qpos0, self._generator)
        self._launch(None, lambda: mjw.reset_data(self._m, self._bank))
        self._bank_sim.qpos.copy_(qpos)
        self._bank_sim.qvel.copy_(qvel)
        self._launch("settle", self._settle_bank)
        self._bank_task_state = {k: v.clone() for k, v in task_state.items()}
        self._bank_obs.copy_(self.port.observation(self._bank_sim, self._bank_task_state))

    def _apply_reset(self, mask: Tensor) -> Tensor:
        """Moves the bank rows of ``mask (N,)`` into the live worlds; returns the current observations."""
        rows = mask[:, None]
        for live, bank in (
            (self._sim.qpos, self._bank_sim.qpos),
            (self._sim.qvel, self._bank_sim.qvel),
            (self._sim.ctrl, self._bank_sim.ctrl),
            (self._warmstart, self._bank_warmstart),
        ):
            live.copy_(torch.where(rows, bank, live))
        self._sim.time.copy_(torch.where(mask, self._bank_sim.time, self._sim.time))
        self._steps.masked_fill_(mask, 0)
        self._task_state = {
            k: torch.where(mask.view(-1, *[1] * (v.dim() - 1)), v, self._task_state.get(k, v))
            for k, v in self._bank_task_state.items()
        }
        self._obs.copy_(torch.where(rows, self._bank_obs, self._obs))
        return self._obs

    # ------------------------------------------------------------------------------- EnvBase
    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        mask = None if tensordict is None else tensordict.get("_reset", None)
        if mask is None:
            mask = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        obs = self._apply_reset(mask.reshape(self.num_envs).to(self.device)).clone()
        self._refill_bank()
        zeros = torch.zeros(self.num_envs, 1, dtype=torch.bool, device=self.device)
        return TensorDict(
            {OBSERVATION: obs, DONE: zeros, TERMINATED: zeros.clone(), TRUNCATED: zeros.clone()},
            batch_size=self.batch_size,
            device=self.device,
        )

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        action = tensordict.get(ACTION)
        if action.shape != (self.num_envs, self.action_dim):
            raise ValueError(f"action shape {tuple(action.shape)} != ({self.num_envs}, {self.action_dim})")
        self._sim.ctrl.copy_(action)
        self._launch("step", self._physics_step)
        obs = self.port.observation(self._sim, self._task_state)
        reward = self.port.reward(self._sim, self._task_state).to(torch.float32)[:, None]
        self._obs.copy_(obs)
        self._steps.add_(1)
        truncated = (self._steps >= self.episode_length)[:, None]
        return TensorDict(
            {
                OBSERVATION: obs,
                REWARD: reward,
                DONE: truncated.clone(),
                TERMINATED: torch.zeros_like(truncated),
                TRUNCATED: truncated,
            },
            batch_size=self.batch_size,
            device=self.device,
        )

    def _step_and_maybe_reset(self, tensordict: TensorDictBase) -> tuple[TensorDictBase, TensorDictBase]:
        """TorchRL's step, then a masked reset of the finished envs with no host sync."""
        tensordict = self.step(tensordict.to(self.device))
        next_td = self._step_mdp(tensordict)
        done = tensordict.get((NEXT, DONE)).reshape(self.num_envs)
        next_td.set(OBSERVATION, self._apply_reset(done).clone())
        for key in (DONE, TERMINATED, TRUNCATED):
            next_td.set(key, torch.zeros(self.num_envs, 1, dtype=torch.bool, device=self.device))
        self._calls += 1
        if self._calls % self.episode_length == 0:
            self._refill_bank()
        return tensordict, next_td

    def _set_seed(self, seed: int | None) -> None:
        self._seed = 0 if seed is None else int(seed)
        self._generator.manual_seed(self._seed)
        self._refill_bank()

    def set_physics_state(
        self,
        qpos: Tensor,
        qvel: Tensor,
        *,
        qacc_warmstart: Tensor | None = None,
        task_state: TaskState | None = None,
    ) -> Tensor:
        """Puts every world in a given state (episodes restart at step 0); returns ``(N, obs_dim)``.

        For tests and tools (e.g. copying dm_control states); runs one forward pass eagerly.

        Args:
            qpos: ``(N, nq)``; qvel: ``(N, nv)``; qacc_warmstart: ``(N, nv)`` solver warm start (zero if
                None, as after ``mj_resetData``); task_state: the port's per-episode state.
        """
        import mujoco_warp as mjw

        n = self.num_envs
        if qpos.shape != (n, self.mj_model.nq) or qvel.shape != (n, self.mj_model.nv):
            raise ValueError(
                f"expected qpos ({n}, {self.mj_model.nq}) and qvel ({n}, {self.mj_model.nv}), "
                f"got {tuple(qpos.shape)} and {tuple(qvel.shape)}"
            )
        self._launch(None, lambda: mjw.reset_data(self._m, self._d))
        self._sim.qpos.copy_(qpos)
        self._sim.qvel.copy_(qvel)
        if qacc_warmstart is not None:
            self._warmstart.copy_(qacc_warmstart)
        self._launch(None, lambda: mjw.forward(self._m, self._d))
        self._steps.zero_()
        self._task_state = {k: v.to(self.device).clone() for k, v in (task_state or {}).items()}
        self._obs.copy_(self.port.observation(self._sim, self._task_state))
        return self._obs.clone()

    # ------------------------------------------------------------------------------- resume
    def env_state(self) -> dict[str, Any]:
        """Everything needed to resume: live and bank state, counters, task state, generator."""
        live = {k: getattr(self._sim, k).clone() for k in ("qpos", "qvel", "ctrl", "time")}
        bank = {k: getattr(self._bank_sim, k).clone() for k in ("qpos", "qvel", "ctrl", "time")}
        return {
            "task": self.task_name,
            "num_envs": self.num_envs,
            "live": {**live, "qacc_warmstart": self._warmstart.clone(), "obs": self._obs.clone()},
            "bank": {**bank, "qacc_warmstart": self._bank_warmstart.clone(), "obs": self._bank_obs.clone()},
            "steps": self._steps.clone(),
            "calls": self._calls,
            "task_state": {k: v.clone() for k, v in self._task_state.items()},
            "bank_task_state": {k: v.clone() for k, v in self._bank_task_state.items()},
            "generator": self._generator.get_state(),
        }

    def load_env_state(self, state: dict[str, Any]) -> None:
        """Restores ``env_state()``; the next step continues as the saved env would have."""
        if (state["task"], state["num_envs"]) != (self.task_name, self.num_envs):
            raise ValueError(
                f"env state is for {state['task']} x {state['num_envs']}, this env is "
                f"{self.task_name} x {self.num_envs}"
            )
        for sim, warm, obs, saved in (
            (self._sim, self._warmstart, self._obs, state["live"]),
            (self._bank_sim, self._bank_warmstart, self._bank_obs, state["bank"]),
        ):
            for k in ("qpos", "qvel", "ctrl", "time"):
                getattr(sim, k).copy_(saved[k])
            warm.copy_(saved["qacc_warmstart"])
            obs.copy_(saved["obs"])
        self._steps.copy_(state["steps"])
        self._calls = int(state["calls"])
        self._task_state = {k: v.to(self.device).clone() for k, v in state["task_state"].items()}
        self._bank_task_state = {k: v.to(self.device).clone() for k, v in state["bank_task_state"].items()}
        self._generator.set_state(state["generator"])
        # Derived fields (kinematics, sensors) of the bank rows are used only through bank obs; the live
        # worlds recompute everything from qpos/qvel in the next step's forward pass.
