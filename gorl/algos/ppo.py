"""PPO in latent space: the LatentOptimizer behind GoRL(PPO) and Gaussian PPO.

Built on TorchRL's ``ClipPPOLoss`` (ratios over ``LATENT``: the actor handed to the loss is the
encoder's ``ProbabilisticActor`` only) and ``GAE`` (bootstraps through truncations), with the
Brax/Playground batch semantics of ``PPOConfig``. The rollout loop is hand-written over the batched
env's ``step_and_maybe_reset`` (TorchRL's generic collector costs more than the simulation here).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor, nn
from torchrl.envs.utils import ExplorationType, set_exploration_type
from torchrl.modules import ValueOperator
from torchrl.objectives import ClipPPOLoss
from torchrl.objectives.value import GAE

from gorl.algos.guards import NonFiniteError, check_finite
from gorl.algos.ppo_config import PPOConfig
from gorl.algos.running_norm import RunningNorm
from gorl.composite import CompositePolicy
from gorl.interfaces.keys import (
    ACTION,
    DONE,
    LATENT,
    LATENT_LOG_PROB,
    LOC,
    NEXT,
    OBSERVATION,
    RAW_ACTION,
    REWARD,
    SCALE,
    TERMINATED,
    TRUNCATED,
)
from gorl.nn import mlp, reinit_


class PPOLatentOptimizer:
    """Optimises ``policy.encoder`` with PPO on latents; the decoder stays frozen.

    Args:
        env: a batched env (``gorl.interfaces.env``) with ``num_envs == config.num_envs``.
        policy: the composite whose encoder is trained.
        config: a ``PPOConfig``.
    """

    def __init__(self, env: Any, policy: CompositePolicy, config: PPOConfig) -> None:
        if env.num_envs != config.num_envs:
            raise ValueError(f"env has {env.num_envs} envs but config.num_envs={config.num_envs}")
        if env.obs_dim != policy.encoder.obs_dim:
            raise ValueError(f"env obs_dim={env.obs_dim} but the encoder expects {policy.encoder.obs_dim}")
        self.env, self.config = env, config
        self.base_config = config
        self.device = next(policy.encoder.parameters()).device
        self.norm = RunningNorm(env.obs_dim).to(self.device)
        self.critic = ValueOperator(mlp(env.obs_dim, config.critic_hidden, 1), in_keys=[OBSERVATION]).to(
            self.device
        )
        self.env_steps = 0
        self.iterations = 0
        self._td: TensorDict | None = None
        # per-env running return, and the sum and count of finished episodes' returns (no host sync)
        self._ep_return = torch.zeros(env.num_envs, dtype=torch.float64, device=self.device)
        self._finished = torch.zeros(2, dtype=torch.float64, device=self.device)
        self.bind(policy)

    # -- LatentOptimizer -------------------------------------------------------------------------
    def bind(self, policy: CompositePolicy, overrides: dict[str, Any] | None = None) -> None:
        """Targets ``policy.encoder``; applies this stage's ``overrides``; fresh Adam state."""
        # overrides are validated like the rest of the config
        self.config = PPOConfig.model_validate({**self.base_config.model_dump(), **(overrides or {})})
        self.policy = policy
        policy.decoder.requires_grad_(False)
        if self.config.reset_critic and self.iterations > 0:
            reinit_(self.critic)
        c = self.config
        self.loss = ClipPPOLoss(
            policy.encoder.actor,
            self.critic,
            clip_epsilon=c.clip_epsilon,
            entropy_coeff=c.entropy_coef,
            critic_coeff=c.value_coef,
            loss_critic_type="l2",
            normalize_advantage=c.normalize_advantage,
        )
        self.gae = GAE(gamma=c.gamma, lmbda=c.gae_lambda, value_network=self.critic, average_gae=False)
        params = list(policy.encoder.parameters()) + list(self.critic.parameters())
        self.optim = torch.optim.Adam(params, lr=c.lr)
        self._params = params

    def normalize(self, obs: Tensor) -> Tensor:
        """Running-normalised observations (identity when ``normalize_observations`` is off)."""
        return self.norm(obs) if self.config.normalize_observations else obs

    def iterate(self) -> dict[str, float]:
        """One Brax-style iteration: collect, update normalisation, GAE, epochs of minibatch PPO."""
        c = self.config
        raw = self._rollout(c.unrolls_per_iteration * c.unroll_length, keep_next=True)
        check_finite(raw["obs"], f"observations collected in iteration {self.iterations}")
        check_finite(raw["reward"], f"rewards collected in iteration {self.iterations}")
        if c.normalize_observations:
            self.norm.update(raw["obs"])
        batch = self._segments(raw)
        stats: dict[str, list[float]] = {}
        for _ in range(c.update_epochs):
            with torch.no_grad():
                self.gae(batch)
            perm = torch.randperm(batch.shape[0]).to(self.device)
            for idx in perm.split(c.batch_size):
                self._update(batch[idx], stats)
        self.iterations += 1
        out = {k: sum(v) / len(v) for k, v in stats.items()}
        out["env_steps"] = float(self.env_steps)
        total, count = self._finished.tolist()
        if count > 0:
            out["train_return"] = total / count
        self._finished.zero_()
        return out

    @torch.no_grad()
    def decoder_data(self, max_pairs: int) -> tuple[Tensor, Tensor]:
        """Fresh stochastic on-policy pairs ``(normalised obs, raw action)``, not counted in env_steps."""
        steps = max(1, math.ceil(max_pairs / self.env.num_envs))
        raw = self._rollout(steps, keep_next=False, count=False)
        obs = self.normalize(raw["obs"]).reshape(-1, self.env.obs_dim)[:max_pairs]
        act = raw["raw_action"].clamp(-self.config.raw_action_clip, self.config.raw_action_clip)
        return obs, act.reshape(-1, act.shape[-1])[:max_pairs]

    def state_dict(self) -> dict[str, Any]:
        """Networks, Adam, normalisation, env state, the in-progress observation and counters."""
        return {
            "critic": self.critic.state_dict(),
            "optim": self.optim.state_dict(),
            "norm": self.norm.state_dict(),
            "env": self.env.env_state(),
            "td": None if self._td is None else self._td.to_dict(),
            "ep_return": self._ep_return.clone(),
            "finished": self._finished.clone(),
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "config": self.config.model_dump(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict``; call after ``bind`` with the same policy layout."""
        self.bind(
            self.policy, {k: v for k, v in state["config"].items() if getattr(self.base_config, k) != v}
        )
        self.critic.load_state_dict(state["critic"])
        self.optim.load_state_dict(state["optim"])
        self.norm.load_state_dict(state["norm"])
        self.env.load_env_state(state["env"])
        td = state["td"]
        env_device = getattr(self.env, "device", None)
        self._td = (
            None if td is None else TensorDict(td, batch_size=[self.env.num_envs]).to(env_device or "cpu")
        )
        self._ep_return = state["ep_return"].clone().to(self.device)
        self._finished = state["finished"].clone().to(self.device)
        self.env_steps, self.iterations = int(state["env_steps"]), int(state["iterations"])

    # -- internals -------------------------------------------------------------------------------
    def _rollout(self, steps: int, *, keep_next: bool, count: bool = True) -> dict[str, Tensor]:
        """Runs the stochastic policy for ``steps`` steps; returns ``(N, steps, ...)`` raw tensors."""
        if self._td is None:
            self._td = self.env.reset()
        td = self._td
        names = ["obs", "latent", "log_prob", "loc", "scale", "raw_action"]
        names += ["next_obs", "reward", "done", "terminated"] if keep_next else []
        out: dict[str, list[Tensor]] = {k: [] for k in names}
        with torch.no_grad(), set_exploration_type(ExplorationType.RANDOM):
            for _ in range(steps):
                obs = td[OBSERVATION]
                if obs.device.type == "cpu":  # a free check here; on a GPU the batch check below does it
                    check_finite(obs, f"observations collected in iteration {self.iterations}")
                x = self.policy(
                    TensorDict({OBSERVATION: self.normalize(obs)}, batch_size=[self.env.num_envs])
                )
                td[ACTION] = x[ACTION]
                stepped, td = self.env.step_and_maybe_reset(td)
                nxt = stepped[NEXT]
                reward = nxt[REWARD].reshape(-1)
                done = nxt[DONE].reshape(-1)
                for k, v in (
                    ("obs", obs),
                    ("latent", x[LATENT]),
                    ("log_prob", x[LATENT_LOG_PROB]),
                    ("loc", x[LOC]),
                    ("scale", x[SCALE]),
                    ("raw_action", x[RAW_ACTION]),
                ):
                    out[k].append(v)
                if keep_next:
                    out["next_obs"].append(nxt[OBSERVATION])
                    out["reward"].append(reward)
                    out["done"].append(done)
                    out["terminated"].append(nxt[TERMINATED].reshape(-1))
                if count:
                    self._track_returns(reward, done)
        self._td = td
        if count:
            self.env_steps += steps * self.env.num_envs
        return {k: torch.stack(v, dim=1) for k, v in out.items()}

    def _track_returns(self, reward: Tensor, done: Tensor) -> None:
        self._ep_return += reward.to(torch.float64)
        self._finished[0] += (self._ep_return * done).sum()
        self._finished[1] += done.sum()
        self._ep_return.masked_fill_(done, 0.0)

    def _segments(self, raw: dict[str, Tensor]) -> TensorDict:
        """``(N, U*T)`` raw tensors -> a ``(N*U, T)`` TensorDict of normalised, scaled segments."""
        c = self.config
        n, t = self.env.num_envs, c.unroll_length

        def seg(x: Tensor) -> Tensor:
            return x.reshape(n * c.unrolls_per_iteration, t, *x.shape[2:])

        return TensorDict(
            {
                OBSERVATION: seg(self.normalize(raw["obs"])),
                LATENT: seg(raw["latent"]),
                LATENT_LOG_PROB: seg(raw["log_prob"]),
                LOC: seg(raw["loc"]),
                SCALE: seg(raw["scale"]),
                NEXT: {
                    OBSERVATION: seg(self.normalize(raw["next_obs"])),
                    REWARD: seg(raw["reward"] * c.reward_scale).unsqueeze(-1),
                    DONE: seg(raw["done"]).unsqueeze(-1),
                    TERMINATED: seg(raw["terminated"]).unsqueeze(-1),
                    TRUNCATED: seg(raw["done"] & ~raw["terminated"]).unsqueeze(-1),
                },
            },
            batch_size=[n * c.unrolls_per_iteration, t],
        )

    def _update(self, mb: TensorDict, stats: dict[str, list[float]]) -> None:
        losses = self.loss(mb)
        penalty = self.policy.encoder.prior_penalty(mb[OBSERVATION])
        total = losses["loss_objective"] + losses["loss_critic"] + losses["loss_entropy"]
        total = total + self.config.penalty_coef * penalty
        check_finite(total.detach(), f"the PPO loss (iteration {self.iterations})")
        self.optim.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = nn.utils.clip_grad_norm_(self._params, self.config.max_grad_norm)
        if not torch.isfinite(grad_norm):
            raise NonFiniteError(
                f"the gradients (iteration {self.iterations})", f"grad norm {grad_norm.item()}"
            )
        self.optim.step()
        for k, v in (
            ("loss_objective", losses["loss_objective"]),
            ("loss_critic", losses["loss_critic"]),
            ("entropy", losses["entropy"]),
            ("clip_fraction", losses["clip_fraction"]),
            ("kl_approx", losses["kl_approx"]),
            ("latent_penalty", penalty),
            ("grad_norm", grad_norm),
        ):
            stats.setdefault(k, []).append(float(v.detach()))
