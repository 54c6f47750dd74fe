"""``GymBatchEnv``: N copies of any Gymnasium env with a continuous action space, as one TorchRL env.

Follows ``gorl.interfaces.env`` (backend ``gym``, tasks ``"gym:<id>"``, e.g. ``"gym:Hopper-v5"``).

* The N envs (``gymnasium.make(id)``, env checker off) are stepped in one Python loop; a finished env is
  reset in the same call and its last observation kept in ``("next", OBSERVATION)`` (docs/envs.md
  compares this loop with Gymnasium's ``SyncVectorEnv``).
* Observations: ``gymnasium.spaces.flatten`` of the env's space, float32.
* Actions: the policy acts in ``[-1, 1]^action_dim``; ``a`` is clipped there and rescaled to the env's
  ``Box`` bounds, ``low + (a + 1) / 2 * (high - low)``. NaN raises.
* ``terminated`` and ``truncated`` are Gymnasium's (a fallen hopper terminates; the ``TimeLimit``
  truncates at ``episode_length``, the env's ``max_episode_steps`` unless given).
* Seeds: env ``i``'s ``k``-th seeded reset uses the first word of ``SeedSequence([seed, i, k])``; the first
  reset is seeded (k = 0), later ones continue the env's own generator, as Gymnasium intends.
* No exact resume (``exact_resume = False``): a Gymnasium env cannot be snapshotted in general.
  ``env_state`` holds the seed and each env's count of seeded resets; ``load_env_state`` makes the next
  ``reset`` start fresh episodes seeded with the next count, so resumed runs are deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD, TERMINATED, TRUNCATED

STATE_FORMAT = 1
_NOT_CARRIED = frozenset({NEXT, REWARD, DONE, TERMINATED, TRUNCATED, OBSERVATION, "_reset", "_step"})


def reset_seed(seed: int, index: int, count: int) -> int:
    """The seed of env ``index``'s ``count``-th seeded reset: ``SeedSequence([seed, index, count])``."""
    return int(np.random.SeedSequence([seed, index, count]).generate_state(1)[0])


class GymBatchEnv(EnvBase):
    """N copies of one Gymnasium env with ``batch_size=[N]`` (see the module docstring).

    Args:
        env_id: a Gymnasium id, e.g. ``"Hopper-v5"``.
        num_envs: N.
        seed: seeds every copy deterministically.
        device: where the returned tensors live (the envs run on the CPU).
        episode_length: Gymnasium's ``max_episode_steps``; None: the id's own.
        make_kwargs: passed to ``gymnasium.make``.
    """

    exact_resume = False

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        episode_length: int | None = None,
        make_kwargs: dict[str, Any] | None = None,
    ) -> None:
        import gymnasium as gym

        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        super().__init__(batch_size=torch.Size([num_envs]), device=device)
        kw = dict(make_kwargs or {})
        self.envs = [
            gym.make(env_id, max_episode_steps=episode_length, disable_env_checker=True, **kw)
            for _ in range(num_envs)
        ]
        env0 = self.envs[0]
        space = env0.action_space
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"gym:{env_id} has a {type(space).__name__} action space; gorl needs a Box")
        if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise ValueError(f"gym:{env_id}: unbounded actions ({space}); gorl needs finite bounds")
        limit = env0.spec.max_episode_steps if env0.spec is not None else None
        if limit is None:
            raise ValueError(f"gym:{env_id} has no time limit: pass episode_length")
        self.task, self.num_envs, self.seed = env_id, num_envs, seed
        self.episode_length = int(limit)
        self._space = env0.observation_space
        self._box = isinstance(self._space, gym.spaces.Box)
        self._flatten = gym.spaces.flatten
        self.obs_dim = int(gym.spaces.flatdim(self._space))
        self.action_dim = int(np.prod(space.shape))
        self._shape = space.shape
        self._low = space.low.astype(np.float64).reshape(-1)
        self._span = (space.high.astype(np.float64) - space.low.astype(np.float64)).reshape(-1)
        self.action_low = -torch.ones(self.action_dim, device=self.device)
        self.action_high = torch.ones(self.action_dim, device=self.device)
        self._obs = np.zeros((num_envs, self.obs_dim), np.float32)
        self._resets = np.zeros(num_envs, np.int64)  # seeded resets so far, per env
        self._seed_next = np.ones(num_envs, bool)  # whether an env's next reset is seeded
        self._cpu = torch.device(self.device).type == "cpu"
        self._make_specs()

    def _make_specs(self) -> None:
        n, dev = self.num_envs, self.device
        self.observation_spec = Composite(
            {OBSERVATION: Unbounded(shape=(n, self.obs_dim), dtype=torch.float32, device=dev)}, shape=(n,)
        )
        self.action_spec = Bounded(
            low=-1.0, high=1.0, shape=(n, self.action_dim), dtype=torch.float32, device=dev
        )
        self.reward_spec = Unbounded(shape=(n, 1), dtype=torch.float32, device=dev)
        self.done_spec = Composite(
            {
                k: Categorical(2, shape=(n, 1), dtype=torch.bool, device=dev)
                for k in (DONE, TERMINATED, TRUNCATED)
            },
            shape=(n,),
        )

    # -- numpy core ------------------------------------------------------------------------------
    def _flat(self, obs: Any) -> np.ndarray:
        return np.asarray(obs).reshape(-1) if self._box else np.asarray(self._flatten(self._space, obs))

    def _reset_one(self, i: int) -> None:
        if self._seed_next[i]:
            obs, _ = self.envs[i].reset(seed=reset_seed(self.seed, i, int(self._resets[i])))
            self._resets[i] += 1
            self._seed_next[i] = False
        else:
            obs, _ = self.envs[i].reset()
        self._obs[i] = self._flat(obs)

    def _actions(self, tensordict: TensorDictBase) -> np.ndarray:
        action = tensordict.get(ACTION, None)
        if action is None:
            raise KeyError(f"the input TensorDict has no {ACTION!r} entry")
        a = action.detach().cpu().numpy()
        if a.shape != (self.num_envs, self.action_dim):
            raise ValueError(f"action has shape {a.shape}, expected ({self.num_envs}, {self.action_dim})")
        clipped = np.clip(a, -1.0, 1.0, dtype=np.float64)
        total = clipped.sum()
        if total != total:  # NaN (infinities were clipped)
            raise ValueError(f"NaN actions for envs {np.flatnonzero(np.isnan(a).any(-1)).tolist()}")
        return self._low + (clipped + 1.0) * 0.5 * self._span

    def _np_step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        n = self.num_envs
        obs = np.empty((n, self.obs_dim), np.float32)
        reward = np.empty(n, np.float32)
        term, trunc = np.zeros(n, bool), np.zeros(n, bool)
        for i, env in enumerate(self.envs):
            o, r, te, tr, _ = env.step(actions[i].reshape(self._shape))
            obs[i], reward[i], term[i], trunc[i] = self._flat(o), r, te, tr
        self._obs[:] = obs
        return obs, reward, term, trunc & ~term  # a terminal step is terminal even at the time limit

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(x)
        return t if self._cpu else t.to(self.device)

    def _falses(self) -> tuple[torch.Tensor, ...]:
        return tuple(self._tensor(np.zeros((self.num_envs, 1), bool)) for _ in range(3))

    # -- TorchRL hooks ---------------------------------------------------------------------------
    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        obs, reward, term, trunc = self._np_step(self._actions(tensordict))
        source = {
            OBSERVATION: self._tensor(obs),
            REWARD: self._tensor(reward[:, None]),
            DONE: self._tensor((term | trunc)[:, None]),
            TERMINATED: self._tensor(term[:, None]),
            TRUNCATED: self._tensor(trunc[:, None]),
        }
        return TensorDict._new_unsafe(source, batch_size=self.batch_size, device=self.device)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        mask = None if tensordict is None else tensordict.get("_reset", None)
        idx = range(self.num_envs) if mask is None else np.flatnonzero(mask.reshape(-1).cpu().numpy())
        for i in idx:
            self._reset_one(int(i))
        done, term, trunc = self._falses()
        source = {OBSERVATION: self._tensor(self._obs.copy()), DONE: done, TERMINATED: term, TRUNCATED: trunc}
        return TensorDict(source, batch_size=self.batch_size, device=self.device)

    def _step_and_maybe_reset(self, tensordict: TensorDictBase) -> tuple[TensorDictBase, TensorDictBase]:
        """``step`` + ``step_mdp`` + a reset of the finished envs, built directly (as ``dmc`` does)."""
        nxt = self._step(tensordict)
        tensordict._set_str(NEXT, nxt, validated=True, inplace=False, non_blocking=False)
        done = nxt._get_str(DONE, None).reshape(-1).cpu().numpy()
        for i in np.flatnonzero(done):
            self._reset_one(int(i))
        source = {k: v for k, v in tensordict.items() if k not in _NOT_CARRIED}
        source[OBSERVATION] = self._tensor(self._obs.copy())
        source[DONE], source[TERMINATED], source[TRUNCATED] = self._falses()
        return tensordict, TensorDict._new_unsafe(source, batch_size=self.batch_size, device=self.device)

    def _set_seed(self, seed: int | None) -> None:
        """A new seed: every env's next reset is seeded from it."""
        self.seed = 0 if seed is None else int(seed) % (1 << 63)
        self._resets[:] = 0
        self._seed_next[:] = True

    # -- restart-only resume ---------------------------------------------------------------------
    def env_state(self) -> dict[str, Any]:
        """The seed and the seeded-reset counts: enough to restart episodes deterministically."""
        return {
            "format": STATE_FORMAT,
            "exact": False,
            "task": self.task,
            "num_envs": self.num_envs,
            "seed": self.seed,
            "resets": self._resets.copy(),
        }

    def load_env_state(self, state: dict[str, Any]) -> None:
        """Makes the next ``reset`` start, in every env, an episode seeded from the saved counts (the
        episodes in progress when the state was taken are not restored: ``exact_resume`` is False)."""
        if state.get("format") != STATE_FORMAT or state.get("exact") is not False:
            raise ValueError(f"not a gym env state (format {state.get('format')!r})")
        for key in ("task", "num_envs"):
            if state[key] != getattr(self, key):
                raise ValueError(f"env state has {key}={state[key]!r}, this env has {getattr(self, key)!r}")
        self.seed = int(state["seed"])
        self._resets[:] = state["resets"]
        self._seed_next[:] = True

    def close(self, *, raise_if_closed: bool = True) -> None:
        for env in self.envs:
            env.close()
        super().close(raise_if_closed=raise_if_closed)
