"""``DMControlBatchEnv``: N real dm_control tasks stepped in one call, as one TorchRL ``EnvBase``.

Follows ``gorl.interfaces.env``. The numpy core (``gorl.envs.workers.EnvGroup``) calls the task and
MuJoCo directly; this class adds TorchRL specs and a fast ``step_and_maybe_reset`` that builds its
TensorDicts without TorchRL's per-step generic checks, with the same keys and values as
``EnvBase``'s generic path (tests/envs/test_dmc.py compares the two).

* Observations are dm_control's dict flattened in its order, float32; never normalised here.
* Rewards are dm_control's, float32 ``(N, 1)``; never scaled here.
* Out-of-bounds actions (infinities too) are clipped to ``[action_low, action_high]``; NaN raises.
* Episodes end at ``episode_length`` control steps (the task's 1000 by default): ``truncated`` and
  ``done`` are True, ``terminated`` False. A task whose ``get_termination`` returns discount 0 (none
  of the paper's six) sets ``terminated``.
* Seeds: env ``i`` of ``seed`` gets ``SeedSequence([seed, i])``'s first 32-bit word as its task seed.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from gorl.envs.workers import EnvGroup, GroupProcess, split_name
from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD, TERMINATED, TRUNCATED

STATE_FORMAT = 1
# Root entries that ``step_mdp`` does not carry to the next root (the rest, action included, are kept).
_NOT_CARRIED = frozenset({NEXT, REWARD, DONE, TERMINATED, TRUNCATED, OBSERVATION, "_reset", "_step"})


def env_seeds(seed: int, num_envs: int) -> list[int]:
    """Per-env task seeds: env ``i`` gets the first word of ``SeedSequence([seed, i])``."""
    return [int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i in range(num_envs)]


class DMControlBatchEnv(EnvBase):
    """N copies of one dm_control suite task with ``batch_size=[N]`` (see the module docstring).

    Args:
        task: ``"domain-task"``, any of ``dm_control.suite.ALL_TASKS`` (``"cheetah-run"``, ...).
        num_envs: N, the number of environments.
        seed: seeds every copy deterministically (``env_seeds``).
        device: where the returned tensors live (the simulation runs on the CPU).
        workers: k >= 2 splits the envs over k processes, this one and k - 1 spawned workers;
            0 or 1 steps them all here.
        episode_length: control steps per episode; None uses the task's own time limit (1000).
    """

    exact_resume = True  # env_state continues the episodes in progress bit for bit

    def __init__(
        self,
        task: str,
        num_envs: int,
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        workers: int = 0,
        episode_length: int | None = None,
    ) -> None:
        split_name(task)
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        if not isinstance(workers, int) or not 0 <= workers <= num_envs:
            raise ValueError(f"workers must be an int in [0, num_envs={num_envs}], got {workers!r}")
        if episode_length is not None and (not isinstance(episode_length, int) or episode_length < 1):
            raise ValueError(f"episode_length must be a positive int or None, got {episode_length!r}")
        super().__init__(batch_size=torch.Size([num_envs]), device=device)
        self.task, self.num_envs, self.workers, self.seed = task, num_envs, workers, seed
        seeds = env_seeds(seed, num_envs)
        # Share 0 of the envs is stepped here, shares 1..k-1 by worker processes (workers=k >= 2).
        cuts = np.linspace(0, num_envs, max(workers, 1) + 1).round().astype(int)
        self._bounds = [(int(a), int(b)) for a, b in itertools.pairwise(cuts)]
        self._procs = [GroupProcess(task, seeds[a:b], episode_length) for a, b in self._bounds[1:]]
        self._group = EnvGroup(task, seeds[: self._bounds[0][1]], episode_length)
        for p in self._procs:
            p.ready()
        info = self._group
        self.obs_dim, self.action_dim = info.obs_dim, info.action_dim
        self.episode_length = info.episode_length
        self.obs_layout = [(k, s, e) for k, s, e, _ in info.layout]
        self._low, self._high = info.action_low, info.action_high
        self.action_low = torch.as_tensor(self._low, dtype=torch.float32, device=self.device)
        self.action_high = torch.as_tensor(self._high, dtype=torch.float32, device=self.device)
        self._act = np.empty((num_envs, self.action_dim), np.float64)
        self._obs = np.zeros((num_envs, self.obs_dim), np.float64)
        self._make_specs()
        self._cpu = self.device is None or torch.device(self.device).type == "cpu"

    def _make_specs(self) -> None:
        n = self.num_envs
        self.observation_spec = Composite(
            {OBSERVATION: Unbounded(shape=(n, self.obs_dim), dtype=torch.float32, device=self.device)},
            shape=(n,),
            device=self.device,
        )
        self.action_spec = Bounded(
            low=self.action_low.expand(n, -1),
            high=self.action_high.expand(n, -1),
            shape=(n, self.action_dim),
            dtype=torch.float32,
            device=self.device,
        )
        self.reward_spec = Unbounded(shape=(n, 1), dtype=torch.float32, device=self.device)
        bool_spec = Categorical(2, shape=(n, 1), dtype=torch.bool, device=self.device)
        self.done_spec = Composite(
            {DONE: bool_spec, TERMINATED: bool_spec.clone(), TRUNCATED: bool_spec.clone()},
            shape=(n,),
            device=self.device,
        )

    # -- the numpy core, in-process or over workers ----------------------------------------------
    def _np_step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self._procs:
            return self._group.step(actions)
        for p, (a, b) in zip(self._procs, self._bounds[1:], strict=True):
            p.call("step", actions[a:b])
        parts = [self._group.step(actions[: self._bounds[0][1]])]  # overlaps with the workers
        parts += [p.result() for p in self._procs]
        for (a, b), part in zip(self._bounds, parts, strict=True):
            self._obs[a:b] = part[0]
        return (
            self._obs,
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
        )

    def _np_reset(self, mask: np.ndarray | None) -> np.ndarray:
        if not self._procs:
            return self._group.reset(mask)
        calls = []
        for p, (a, b) in zip(self._procs, self._bounds[1:], strict=True):
            sub = None if mask is None else mask[a:b]
            if sub is None or sub.any():
                p.call("reset", sub)
                calls.append((p, a, b))
        b0 = self._bounds[0][1]
        self._obs[:b0] = self._group.reset(None if mask is None else mask[:b0])
        for p, a, b in calls:
            self._obs[a:b] = p.result()
        return self._obs

    def _broadcast(self, method: str, args_for: Any) -> list[Any]:
        """Calls ``method(*args_for(a, b))`` on every share (workers first); results in env order."""
        for p, (a, b) in zip(self._procs, self._bounds[1:], strict=True):
            p.call(method, *args_for(a, b))
        first = getattr(self._group, method)(*args_for(*self._bounds[0]))
        return [first] + [p.result() for p in self._procs]

    def _actions(self, tensordict: TensorDictBase) -> np.ndarray:
        """The ``(N, action_dim)`` actions as float64 numpy, clipped to the bounds; checks shape, NaN."""
        action = tensordict._get_str(ACTION, None)
        if action is None:
            raise KeyError(f"the input TensorDict has no {ACTION!r} entry")
        try:
            a = action.numpy()
        except (RuntimeError, TypeError):  # requires grad, or not on the CPU
            a = action.detach().cpu().numpy()
        buf = self._act
        if a.shape != buf.shape:
            raise ValueError(f"action has shape {a.shape}, expected ({self.num_envs}, {self.action_dim})")
        np.minimum(np.maximum(a, self._low, out=buf), self._high, out=buf)
        total = buf.sum()
        if total != total:  # NaN (infinities were clipped to the bounds)
            bad = np.flatnonzero(np.isnan(buf).any(-1)).tolist()
            raise ValueError(f"NaN actions for envs {bad}")
        return buf

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        """A tensor on ``self.device`` from a fresh numpy array (sharing its memory on the CPU)."""
        t = torch.from_numpy(x)
        return t if self._cpu else t.to(self.device, non_blocking=True)

    def _next_td(self, tensordict: TensorDictBase) -> tuple[TensorDictBase, np.ndarray]:
        """Steps the envs; returns the ``("next", ...)`` TensorDict and ``done (N,)`` as numpy."""
        obs, rew, term, trunc = self._np_step(self._actions(tensordict))
        done = term | trunc
        source = {
            OBSERVATION: self._tensor(obs.astype(np.float32)),
            REWARD: self._tensor(rew.astype(np.float32)[:, None]),
            DONE: self._tensor(done[:, None]),
            TERMINATED: self._tensor(term[:, None]),
            TRUNCATED: self._tensor(trunc[:, None]),
        }
        return TensorDict._new_unsafe(source, batch_size=self.batch_size, device=self.device), done

    def _falses(self) -> tuple[torch.Tensor, ...]:
        """Three fresh all-False ``(N, 1)`` tensors (done, terminated, truncated)."""
        n = self.num_envs
        return tuple(self._tensor(np.zeros((n, 1), bool)) for _ in range(3))

    # -- TorchRL hooks ---------------------------------------------------------------------------
    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        partial = tensordict.get("_step", None)
        if partial is not None and not bool(partial.all()):
            raise NotImplementedError("DMControlBatchEnv steps all envs at once: a partial '_step' mask")
        return self._next_td(tensordict)[0]

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        mask = None if tensordict is None else tensordict.get("_reset", None)
        m = None if mask is None else mask.reshape(self.num_envs).cpu().numpy()
        obs = self._np_reset(m)
        return TensorDict._new_unsafe(
            {
                OBSERVATION: self._tensor(obs.astype(np.float32)),
                **dict(zip((DONE, TERMINATED, TRUNCATED), self._falses(), strict=True)),
            },
            batch_size=self.batch_size,
            device=self.device,
        )

    def _set_seed(self, seed: int | None) -> None:
        """Reseeds every task's RandomState from ``seed`` (takes effect at the next resets)."""
        seed = 0 if seed is None else int(seed) % (1 << 63)  # SeedSequence takes non-negative ints
        self.seed = seed
        seeds = env_seeds(seed, self.num_envs)
        self._broadcast("reseed", lambda a, b: (seeds[a:b],))

    def _step_and_maybe_reset(self, tensordict: TensorDictBase) -> tuple[TensorDictBase, TensorDictBase]:
        """``step`` + ``step_mdp`` + masked ``reset``, with EnvBase's keys and values, built directly.

        Returns ``(tensordict, tensordict_)``: the input with ``("next", ...)`` set (the last
        observation of finished episodes), and the next root: the input's other entries (action and
        policy outputs, as TorchRL's ``step_mdp`` keeps them), the next observation with the reset
        observation in finished envs, and all-False done flags.
        """
        if not self._cpu and tensordict.device != self.device:
            tensordict = tensordict.to(self.device)
        nxt, done = self._next_td(tensordict)
        tensordict._set_str(NEXT, nxt, validated=True, inplace=False, non_blocking=False)
        source = {k: v for k, v in tensordict.items() if k not in _NOT_CARRIED}
        obs = nxt._get_str(OBSERVATION, None)
        if done.any():
            reset_obs = self._np_reset(done)
            obs = obs.clone()
            obs[torch.from_numpy(done).to(obs.device)] = self._tensor(reset_obs[done].astype(np.float32))
        source[OBSERVATION] = obs
        source[DONE], source[TERMINATED], source[TRUNCATED] = self._falses()
        root = TensorDict._new_unsafe(source, batch_size=self.batch_size, device=self.device)
        return tensordict, root

    # -- exact resume ----------------------------------------------------------------------------
    def env_state(self) -> dict[str, Any]:
        """A plain, picklable snapshot: a fresh env (same task, N) continues bit-identically from it."""
        groups = self._broadcast("get_state", lambda a, b: ())
        return {
            "format": STATE_FORMAT,
            "task": self.task,
            "num_envs": self.num_envs,
            "episode_length": self.episode_length,
            "seed": self.seed,
            "groups": _merge(groups),
        }

    def load_env_state(self, state: dict[str, Any]) -> None:
        """Restores ``env_state()``'s output; raises ValueError if task, N or episode length differ."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"env state format {state.get('format')!r} is not {STATE_FORMAT}")
        for key in ("task", "num_envs", "episode_length"):
            if state[key] != getattr(self, key):
                raise ValueError(f"env state has {key}={state[key]!r}, this env has {getattr(self, key)!r}")
        merged = state["groups"]
        self._broadcast("set_state", lambda a, b: (_slice(merged, a, b),))
        self._obs[:] = merged["obs"]
        self.seed = state["seed"]

    def close(self, *, raise_if_closed: bool = True) -> None:
        """Stops the worker processes (if any); the env cannot step afterwards."""
        for p in self._procs:
            p.close()
        super().close(raise_if_closed=raise_if_closed)


_ARRAYS = ("physics", "steps", "started", "obs", "warnings", "warn_base")


def _merge(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenates per-group states env-wise, so the state does not depend on ``workers``."""
    out: dict[str, Any] = {k: np.concatenate([g[k] for g in groups]) for k in _ARRAYS}
    for k in ("random", "task_attrs", "model"):
        out[k] = [x for g in groups for x in g[k]]
    return out


def _slice(state: dict[str, Any], a: int, b: int) -> dict[str, Any]:
    return {k: v[a:b] for k, v in state.items()}
