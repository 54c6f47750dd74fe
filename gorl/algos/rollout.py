"""Collection shared by every latent optimiser: a batched env stepped by a composite policy.

``Rollout`` owns what every algorithm needs around the env and nothing algorithm-specific: the
in-progress observation, the running observation normaliser (float64 moments), per-env episode
returns (summed on the policy's device, no per-step host sync), the count of training env steps, and
a ``state_dict`` that resumes all of it bit for bit on the CPU. ``collect`` returns plain tensors
``(N, T, ...)``; PPO consumes them as a batch, SAC appends them to a replay buffer.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor

from gorl.algos.guards import check_finite
from gorl.algos.running_norm import RunningNorm
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD, TERMINATED
from gorl.interfaces.policy import Actor


class Rollout:
    """Steps ``env`` with a composite policy; see the module docstring.

    Args:
        env: the batched training env.
        device: where the policy and the returned tensors live.
        normalize_observations: keep running statistics and normalise what the policy sees.
        norm_eps, norm_clip: ``(x - mean) / sqrt(var + norm_eps)``, then clipped to +-``norm_clip``.
    """

    def __init__(
        self,
        env: BatchedEnv,
        device: torch.device,
        *,
        normalize_observations: bool,
        norm_eps: float = 1e-6,
        norm_clip: float | None = None,
    ) -> None:
        self.env, self.device = env, device
        self.normalize_observations = normalize_observations
        self.norm = RunningNorm(env.obs_dim, eps=norm_eps, clip=norm_clip).to(device)
        self.env_steps = 0
        self._td: Any = None
        self._ep_return = torch.zeros(env.num_envs, dtype=torch.float64, device=device)
        self._finished = torch.zeros(2, dtype=torch.float64, device=device)  # sum, count

    def normalize(self, obs: Tensor) -> Tensor:
        """Running-normalised observations ``(*B, obs_dim)`` (identity when normalisation is off)."""
        return self.norm(obs) if self.normalize_observations else obs

    @torch.no_grad()
    def decoder_data(self, policy: Actor, max_pairs: int) -> tuple[Tensor, Tensor]:
        """Fresh stochastic on-policy pairs ``(normalised obs (M, obs_dim), raw action (M, action_dim))``,
        ``M <= max_pairs``, not counted in env_steps: the refit's data. Raw actions are as the policy
        drew them; the refit clips them (``ScheduleConfig.raw_action_clip``)."""
        steps = max(1, -(-max_pairs // self.env.num_envs))
        raw = self.collect(policy, steps, where="decoder data", count=False)
        obs = self.normalize(raw["obs"]).reshape(-1, self.env.obs_dim)[:max_pairs]
        act = raw["raw_action"]
        return obs, act.reshape(-1, act.shape[-1])[:max_pairs]

    def update_norm(self, obs: Tensor) -> None:
        """Adds raw observations ``(*B, obs_dim)`` to the normaliser's statistics (if it is on)."""
        if self.normalize_observations:
            self.norm.update(obs)

    @torch.no_grad()
    def collect(
        self, policy: Actor, steps: int, *, where: str, count: bool = True, deterministic: bool = False
    ) -> dict[str, Tensor]:
        """Runs ``policy`` for ``steps`` steps of every env.

        Returns raw (unnormalised) observations and ``policy.act``'s outputs, each ``(N, steps, ...)``:
        ``obs``, ``latent``, ``log_prob``, ``raw_action``, ``action`` and any other key ``act`` returns
        (e.g. DPPO's denoising chain), ``next_obs`` (the true next observation, before any reset),
        ``reward``, ``done``, ``terminated`` (bools). ``count=False``
        leaves the env-step count alone and reports no finished episode (decoder data is not training
        data), but the episodes' sums still run: an episode that such a collection cuts through is
        reported whole, every step of it, when it ends in training. (Until 2026-12-07 they stopped, and the
        first episode to end after a refit's collection was reported with the steps before the collection
        added to those after it: the rewards of up to twice an episode's steps.)
        """
        if self._td is None:
            self._td = self.env.reset()
        td = self._td
        names = (
            "obs",
            "latent",
            "log_prob",
            "raw_action",
            "action",
            "next_obs",
            "reward",
            "done",
            "terminated",
        )
        out: dict[str, list[Tensor]] = {k: [] for k in names}
        n = self.env.num_envs
        for _ in range(steps):
            obs = td[OBSERVATION]
            if obs.device.type == "cpu":  # a free check here; on a GPU the caller checks the batch
                check_finite(obs, f"observations collected in {where}")
            act = policy.act(self.normalize(obs.to(self.device)), deterministic=deterministic)
            td[ACTION] = act["action"]
            stepped, td = self.env.step_and_maybe_reset(td)
            nxt = stepped[NEXT]
            reward = nxt[REWARD].reshape(n).to(self.device)
            done = nxt[DONE].reshape(n).to(self.device)
            out["obs"].append(obs.to(self.device))
            for k, v in act.items():
                out.setdefault(k, []).append(v)
            out["next_obs"].append(nxt[OBSERVATION].to(self.device))
            out["reward"].append(reward)
            out["done"].append(done)
            out["terminated"].append(nxt[TERMINATED].reshape(n).to(self.device))
            self._ep_return += reward.to(torch.float64)
            if count:
                self._finished[0] += (self._ep_return * done).sum()
                self._finished[1] += done.sum()
            self._ep_return.masked_fill_(done, 0.0)
        self._td = td
        if count:
            self.env_steps += steps * n
        return {k: torch.stack(v, dim=1) for k, v in out.items()}

    def pop_train_return(self) -> float | None:
        """Mean return of the training episodes finished since the last call (None if none did)."""
        total, finished = self._finished.tolist()
        self._finished.zero_()
        return total / finished if finished > 0 else None

    def state_dict(self) -> dict[str, Any]:
        """Normaliser, env state, the in-progress observation, episode sums and the step count."""
        return {
            "norm": self.norm.state_dict(),
            "env": self.env.env_state(),
            "td": None if self._td is None else self._td.to_dict(),
            "ep_return": self._ep_return.clone(),
            "finished": self._finished.clone(),
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict``; with an env that cannot snapshot its episodes (``exact_resume``
        False) the episodes in progress restart at the next ``collect``, everything else is exact."""
        self.norm.load_state_dict(state["norm"])
        self.env.load_env_state(state["env"])
        td = state["td"]
        env_device = getattr(self.env, "device", None) or "cpu"
        self._td = None if td is None else TensorDict(td, batch_size=[self.env.num_envs]).to(env_device)
        self._ep_return = state["ep_return"].clone().to(self.device)
        self._finished = state["finished"].clone().to(self.device)
        self.env_steps = int(state["env_steps"])
        if not self.env.exact_resume:  # the env restarts its episodes: start them from a reset
            self._td = None
            self._ep_return.zero_()
