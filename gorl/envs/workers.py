"""The numpy core of the ``dmc`` backend: a group of dm_control tasks stepped in one call.

``EnvGroup`` holds n real dm_control environments (``suite.load``) and steps them the way
``dm_control.rl.control.Environment.step`` does (``before_step``, ``n_sub_steps`` physics steps,
``after_step``, ``get_reward``, ``get_observation``, time limit, ``get_termination``), but calls the
task and MuJoCo directly: no ``TimeStep``, no per-step context managers, observations flattened into
one preallocated ``(n, obs_dim)`` float64 buffer. ``GroupProcess`` runs one ``EnvGroup`` in a worker
process (``DMControlBatchEnv(..., workers=k)``). No torch here: a worker imports only numpy and
dm_control.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import multiprocessing as mp
from typing import Any

import numpy as np

from gorl.envs.quiet import quiet_env_warnings

# Model arrays larger than this are not compared or captured by ``get_state`` (the 11.8 MB skybox
# texture ``tex_data`` of every suite model); tasks change small per-episode fields (finger's
# ``site_pos``, fish's ``geom_pos``), never textures.
MAX_TRACKED_FIELD_BYTES = 1 << 20


def suite_tasks() -> list[str]:
    """Every dm_control suite task as ``"domain-task"``, in the suite's order."""
    with quiet_env_warnings():
        from dm_control import suite

    return [f"{d}-{t}" for d, t in suite.ALL_TASKS]


def split_name(name: str) -> tuple[str, str]:
    """``"finger-turn_hard"`` -> ``("finger", "turn_hard")``; an unknown task is a ValueError that lists
    the valid names (and the closest one)."""
    known = suite_tasks()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dm_control task {name!r}.{hint} Valid names: {', '.join(known)}")
    domain, _, task = name.partition("-")
    return domain, task


class EnvGroup:
    """n dm_control environments of one task, stepped and reset as a batch of numpy arrays.

    Args:
        task: ``"domain-task"``, e.g. ``"cheetah-run"``.
        seeds: one integer seed per environment (the task's ``numpy.random.RandomState``).
        episode_length: control steps per episode; ``None`` uses the task's own time limit.
    """

    def __init__(self, task: str, seeds: list[int], episode_length: int | None) -> None:
        import mujoco
        from dm_control import suite
        from dm_control.suite import base

        domain, task_name = split_name(task)
        with quiet_env_warnings():
            self.envs = [suite.load(domain, task_name, task_kwargs={"random": int(s)}) for s in seeds]
        self.n = len(self.envs)
        env0 = self.envs[0]
        if episode_length is None:
            if not np.isfinite(env0._step_limit):
                raise ValueError(f"{task} has no time limit: pass episode_length")
            episode_length = round(env0._step_limit)
        self.episode_length = int(episode_length)
        self.n_sub_steps = int(env0._n_sub_steps)
        spec = env0.action_spec()
        self.action_low = np.broadcast_to(spec.minimum, spec.shape).astype(np.float64)
        self.action_high = np.broadcast_to(spec.maximum, spec.shape).astype(np.float64)
        self.action_dim = int(spec.shape[0])
        # Observation layout: (key, start, end, needs ravel) in dm_control's dict order.
        self.layout: list[tuple[str, int, int, bool]] = []
        start = 0
        for key, s in env0.observation_spec().items():
            size = int(np.prod(s.shape, dtype=np.int64))
            self.layout.append((key, start, start + size, len(s.shape) > 1))
            start += size
        self.obs_dim = start
        self.obs = np.zeros((self.n, self.obs_dim), np.float64)
        self.steps = np.zeros(self.n, np.int64)
        self.started = np.zeros(self.n, bool)

        self._mj_step, self._mj_step1, self._mj_step2 = mujoco.mj_step, mujoco.mj_step1, mujoco.mj_step2
        self._sig = mujoco.mjtState.mjSTATE_INTEGRATION
        self._rk4 = int(env0.physics.model.opt.integrator) == int(mujoco.mjtIntegrator.mjINT_RK4)
        self._legacy = bool(env0.physics.legacy_step)
        tcls = type(env0.task)
        self._custom_before = tcls.before_step is not base.Task.before_step
        self._custom_after = tcls.after_step is not base.Task.after_step
        self._custom_term = tcls.get_termination is not base.Task.get_termination
        self._slots = [
            (e.task, e.physics, e.physics.model.ptr, e.physics.data.ptr, e.physics.data.ptr.ctrl, self.obs[i])
            for i, e in enumerate(self.envs)
        ]
        self._warnings = [e.physics._warnings for e in self.envs]
        # Byte views of MuJoCo's warning counters: comparing memoryviews is ~30x cheaper than .any().
        self._warn_views = [memoryview(w) for w in self._warnings]
        self._no_warnings = memoryview(np.zeros_like(self._warnings[0]))
        self._warn_base = [np.zeros_like(w) for w in self._warnings]
        # Pristine copies of the small model arrays, to capture per-episode model edits as diffs.
        model0 = env0.physics.model.ptr
        self._fields = [
            f
            for f in dir(model0)
            if not f.startswith("_")
            and isinstance(getattr(model0, f), np.ndarray)
            and getattr(model0, f).nbytes <= MAX_TRACKED_FIELD_BYTES
        ]
        self._pristine = {f: getattr(model0, f).copy() for f in self._fields}

    # -- stepping --------------------------------------------------------------------------------
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Steps every environment once.

        Args:
            actions: ``(n, action_dim)`` float64, already inside the action bounds.

        Returns:
            ``obs (n, obs_dim)`` float64 (the group's buffer: copy it before the next call),
            ``reward (n,)`` float64, ``terminated (n,)`` bool, ``truncated (n,)`` bool.
        """
        if not self.started.all():
            raise RuntimeError("step() before reset(): reset every environment first")
        mj_step, mj_step1, mj_step2 = self._mj_step, self._mj_step1, self._mj_step2
        nsub, rk4, legacy = self.n_sub_steps, self._rk4, self._legacy
        custom_before, custom_after, custom_term = self._custom_before, self._custom_after, self._custom_term
        layout, warn_views, no_warnings = self.layout, self._warn_views, self._no_warnings
        rewards = []
        terminated = np.zeros(self.n, bool)
        ended = np.zeros(self.n, bool)
        for i, ((task, physics, m, d, ctrl, row), action) in enumerate(
            zip(self._slots, actions, strict=True)
        ):
            if custom_before:
                task.before_step(action, physics)
            else:
                ctrl[:] = action
            # dm_control's Physics.step: with legacy_step, mj_step2 finishes the step whose mj_step1
            # ran last time, then full steps, then mj_step1 so positions and sensors are up to date.
            if not legacy:
                mj_step(m, d, nsub)
            elif rk4:
                mj_step(m, d, nsub)
                mj_step1(m, d)
            else:
                mj_step2(m, d)
                if nsub > 1:
                    mj_step(m, d, nsub - 1)
                mj_step1(m, d)
            if warn_views[i] != no_warnings:
                self._check_warnings(i)
            if custom_after:
                task.after_step(physics)
            rewards.append(task.get_reward(physics))
            obs = task.get_observation(physics)
            for key, s, e, flat in layout:
                row[s:e] = np.ravel(obs[key]) if flat else obs[key]
            if custom_term and self.steps[i] + 1 < self.episode_length:
                discount = task.get_termination(physics)
                if discount is not None:
                    ended[i] = True
                    terminated[i] = discount == 0.0
        self.steps += 1
        truncated = (self.steps >= self.episode_length) | (ended & ~terminated)
        return self.obs, np.array(rewards, np.float64), terminated, truncated

    def _check_warnings(self, i: int) -> None:
        import mujoco
        from dm_control.rl.control import PhysicsError

        new = self._warnings[i] > self._warn_base[i]
        if new.any():
            names = [n for n, hit in zip(mujoco.mjtWarning.__members__, new, strict=False) if hit]
            np.copyto(self._warn_base[i], self._warnings[i])
            raise PhysicsError(
                f"env {i}: physics state is invalid (MuJoCo warnings {', '.join(names)}) at step "
                f"{int(self.steps[i]) + 1}; reset it"
            )

    def reset(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Starts a new episode in the environments where ``mask (n,)`` is True (all if None).

        Returns:
            ``obs (n, obs_dim)`` float64: the reset observation where masked, the current one elsewhere.
        """
        idx = range(self.n) if mask is None else np.flatnonzero(mask)
        for i in idx:
            task, physics, _, _, _, row = self._slots[i]
            with physics.reset_context():
                task.initialize_episode(physics)
            obs = task.get_observation(physics)
            for key, s, e, flat in self.layout:
                row[s:e] = np.ravel(obs[key]) if flat else obs[key]
            np.copyto(self._warn_base[i], self._warnings[i])
            self.steps[i] = 0
            self.started[i] = True
        return self.obs

    def reseed(self, seeds: list[int]) -> None:
        """Replaces every task's RandomState by a fresh one from ``seeds`` (physics untouched)."""
        for (task, *_), s in zip(self._slots, seeds, strict=True):
            task.random.seed(int(s))

    # -- exact resume ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically: plain numpy arrays, tuples and dicts."""
        import mujoco

        physics = []
        for _, _, m, d, _, _ in self._slots:
            buf = np.empty(mujoco.mj_stateSize(m, self._sig), np.float64)
            mujoco.mj_getState(m, d, buf, self._sig)
            physics.append(buf)
        return {
            "physics": np.stack(physics),
            "steps": self.steps.copy(),
            "started": self.started.copy(),
            "obs": self.obs.copy(),
            "warnings": np.stack([w.copy() for w in self._warnings]),
            "warn_base": np.stack([w.copy() for w in self._warn_base]),
            "random": [task.random.get_state() for task, *_ in self._slots],
            "task_attrs": [
                {k: copy.deepcopy(v) for k, v in vars(task).items() if k != "_random"}
                for task, *_ in self._slots
            ],
            "model": [self._model_diff(m) for _, _, m, *_ in self._slots],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores ``get_state``'s output (same task and group size)."""
        import mujoco

        if len(state["physics"]) != self.n:
            raise ValueError(f"state holds {len(state['physics'])} environments, this group has {self.n}")
        for i, (task, _, m, d, _, _) in enumerate(self._slots):
            edits = state["model"][i]
            for f in self._fields:
                view = getattr(m, f)
                if f in edits:
                    view[...] = edits[f]
                elif not np.array_equal(view, self._pristine[f]):
                    view[...] = self._pristine[f]
            mujoco.mj_setState(m, d, np.asarray(state["physics"][i], np.float64), self._sig)
            # Recompute the derived fields (positions, sensors) that dm_control's stepping leaves
            # in sync with qpos/qvel; the next mj_step2 recomputes everything acceleration-based.
            mujoco.mj_forward(m, d)
            np.copyto(self._warnings[i], state["warnings"][i])
            np.copyto(self._warn_base[i], state["warn_base"][i])
            task.random.set_state(state["random"][i])
            for k, v in state["task_attrs"][i].items():
                setattr(task, k, copy.deepcopy(v))
        self.steps[:] = state["steps"]
        self.started[:] = state["started"]
        self.obs[:] = state["obs"]

    def _model_diff(self, model: Any) -> dict[str, np.ndarray]:
        """The tracked model arrays that differ from the freshly loaded model (copies)."""
        out = {}
        for f in self._fields:
            view = getattr(model, f)
            if not np.array_equal(view, self._pristine[f]):
                out[f] = view.copy()
        return out


# -- worker processes ----------------------------------------------------------------------------
def _serve(conn: Any, task: str, seeds: list[int], episode_length: int | None) -> None:
    """A worker's loop: builds an EnvGroup, then answers ``(method, args)`` messages until ``close``."""
    try:
        group = EnvGroup(task, seeds, episode_length)
    except Exception as e:  # report construction errors to the parent
        conn.send(("error", repr(e)))
        return
    conn.send(("ok", None))
    while True:
        method, args = conn.recv()
        if method == "close":
            break
        try:
            out = getattr(group, method)(*args)
            if method == "step":
                out = (out[0].copy(), *out[1:])
            elif method == "reset":
                out = out.copy()
            conn.send(("ok", out))
        except Exception as e:
            conn.send(("error", e))
    conn.close()


class GroupProcess:
    """One ``EnvGroup`` in a spawned worker process; ``call`` sends, ``result`` waits for the answer."""

    def __init__(self, task: str, seeds: list[int], episode_length: int | None) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, task, seeds, episode_length), daemon=True)
        self.proc.start()
        child.close()

    def ready(self) -> None:
        """Waits until the worker has built its environments."""
        status, msg = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"a dmc worker failed to start: {msg}")

    def call(self, method: str, *args: Any) -> None:
        self.conn.send((method, args))

    def result(self) -> Any:
        status, out = self.conn.recv()
        if status != "ok":
            raise out if isinstance(out, BaseException) else RuntimeError(out)
        return out

    def close(self) -> None:
        if self.proc.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self.conn.send(("close", ()))
            self.proc.join(timeout=5)
            if self.proc.is_alive():
                self.proc.terminate()
        self.conn.close()
