"""The PPO engine: collection, GAE, minibatches, critic, Adam, guards and resume around a ratio term.

``PPOOptimizer`` is the LatentOptimizer behind GoRL(PPO) and Gaussian PPO (with ``LatentTerm``: ratios
over the latent, ``exp(log pi_new(z|s) - log pi_old(z|s))``, the decoder frozen) and behind the
action-space baselines FPO and DPPO (their terms train the flow network; ``gorl.algos.fpo``,
``gorl.algos.dppo``). What differs between them is the ``RatioTerm`` (``gorl.interfaces.ratio``). The
update runs on plain tensors (``gorl.algos.ppo.functional``): no TensorDict indexing or distribution
objects per minibatch, which made each gradient step cost several times the network work.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from gorl.algos.guards import NonFiniteError, check_finite
from gorl.algos.ppo import functional as F
from gorl.algos.ppo.config import PPOConfig
from gorl.algos.ppo.latent import LatentTerm
from gorl.algos.rollout import Rollout
from gorl.algos.running_norm import RunningNorm
from gorl.config import with_overrides
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.policy import ActingPolicy
from gorl.interfaces.ratio import RatioTerm
from gorl.nn import ACTIVATIONS, init_, mlp


class PPOOptimizer:
    """Optimises the part of ``policy`` that ``term`` trains with PPO's clipped surrogate.

    Args:
        env: a batched env with ``num_envs == config.num_envs``.
        policy: the composite (``CompositePolicy``).
        config: a ``PPOConfig`` (or a config model extending it).
        term: the ratio term; default ``LatentTerm()`` (PPO on the encoder's latents).
    """

    def __init__(
        self, env: BatchedEnv, policy: ActingPolicy, config: PPOConfig, term: RatioTerm | None = None
    ) -> None:
        if env.num_envs != config.num_envs:
            raise ValueError(f"env has {env.num_envs} envs but config.num_envs={config.num_envs}")
        if env.obs_dim != policy.encoder.obs_dim:
            raise ValueError(f"env obs_dim={env.obs_dim} but the encoder expects {policy.encoder.obs_dim}")
        self.env, self.config, self.base_config = env, config, config
        self.term: RatioTerm = LatentTerm() if term is None else term
        self.trains = self.term.trains
        self.device = policy.action_low.device
        self.rollout = Rollout(
            env,
            self.device,
            normalize_observations=config.normalize_observations,
            norm_eps=config.obs_norm_eps,
            norm_clip=config.obs_clip,
        )
        self.critic = mlp(env.obs_dim, config.critic_hidden, 1, ACTIVATIONS[config.critic_activation]).to(
            self.device
        )
        if config.critic_init != "default":  # the default keeps the weights mlp() drew
            init_(self.critic, config.critic_init, config.critic_init_gain)
        self.iterations = 0
        self.bind(policy)

    @property
    def env_steps(self) -> int:
        """Training env steps collected so far."""
        return self.rollout.env_steps

    # -- LatentOptimizer -------------------------------------------------------------------------
    def bind(
        self,
        policy: ActingPolicy,
        overrides: dict[str, Any] | None = None,
        stage_end: int | None = None,
        *,
        new_decoder: bool = False,
    ) -> None:
        """Targets what the term trains in ``policy``; applies this stage's ``overrides``; fresh Adam state.

        ``stage_end`` (env steps) is where the learning rates reach 0 when ``anneal_lr`` is on.
        ``new_decoder`` changes nothing here: the critic V(s) does not depend on the decoder.
        """
        self.config = with_overrides(self.base_config, overrides, type(self.base_config).MUTABLE)
        self.policy = policy
        self._actor_params = self.term.bind(policy, self.config)
        if self.config.reset_critic and self.iterations > 0:
            init_(self.critic, self.config.critic_init, self.config.critic_init_gain)
        c = self.config
        self._stage = (self.env_steps, stage_end)
        self._critic_params = list(self.critic.parameters())
        self.optim = torch.optim.Adam(
            [
                {"params": self._actor_params, "lr": c.lr},
                {"params": self._critic_params, "lr": c.critic_lr or c.lr},
            ],
            eps=c.adam_eps,
            foreach=True,  # one kernel per op over all tensors: 1.2x the whole update on a CPU
        )

    def normalize(self, obs: Tensor) -> Tensor:
        """Running-normalised observations (identity when ``normalize_observations`` is off)."""
        return self.rollout.normalize(obs)

    @property
    def observation_norm(self) -> RunningNorm | None:
        """The running normaliser behind ``normalize`` (None when ``normalize_observations`` is off)."""
        return self.rollout.norm if self.rollout.normalize_observations else None

    def iterate(self) -> dict[str, float]:
        """Collect ``rollout_length`` steps per env, then ``update_epochs`` passes of minibatch PPO."""
        c, where = self.config, f"iteration {self.iterations}"
        raw = self.rollout.collect(self.term.actor(self.policy), c.rollout_length, where=where)
        check_finite(raw["obs"], f"observations collected in {where}")
        check_finite(raw["reward"], f"rewards collected in {where}")
        # the policy saw observations normalised with the statistics before this rollout
        obs, next_obs = self.normalize(raw["obs"]), self.normalize(raw["next_obs"])
        self.rollout.update_norm(raw["obs"])
        out = self.update({**raw, "obs": obs, "next_obs": next_obs})
        self.iterations += 1
        out["env_steps"] = float(self.env_steps)
        train_return = self.rollout.pop_train_return()
        if train_return is not None:
            out["train_return"] = train_return
        return out

    def update(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """``update_epochs`` passes of minibatch PPO over one rollout; returns mean metrics.

        ``batch`` holds ``(num_envs, rollout_length, ...)`` tensors as ``Rollout.collect`` returns them,
        with ``obs`` and ``next_obs`` already normalised as the policy saw them.
        """
        c = self.config
        obs, next_obs = batch["obs"], batch["next_obs"]
        n, t, s = c.num_envs, c.rollout_length, c.rollout_length // c.unroll_length
        flat_obs, flat_next = obs.reshape(n * t, -1), next_obs.reshape(n * t, -1)
        acted = {k: v.reshape(n * t, *v.shape[2:]) for k, v in batch.items() if k not in _ENV_KEYS}
        with torch.no_grad():
            data = self.term.prepare(self.policy, flat_obs, acted)
        reward = (batch["reward"] * c.reward_scale).reshape(n * s, c.unroll_length)
        done = batch["done"].reshape(n * s, c.unroll_length)
        terminated = batch["terminated"].reshape(n * s, c.unroll_length)
        truncated = (batch["done"] & ~batch["terminated"]).reshape(n * t)
        mask = (~truncated).to(obs.dtype) if c.mask_truncated_value else None
        stats: dict[str, list[Tensor]] = {}
        self._anneal()
        for _ in range(c.update_epochs):
            with torch.no_grad():
                value = self.critic(flat_obs).reshape(n * s, c.unroll_length)
                next_value = self.critic(flat_next).reshape(n * s, c.unroll_length)
                adv, target = F.gae(reward, value, next_value, done, terminated, c.gamma, c.gae_lambda)
            adv, target = adv.reshape(-1), target.reshape(-1)
            perm = torch.randperm(n * t, device=self.device)
            for idx in perm.tensor_split(c.num_minibatches):
                self._update(
                    flat_obs[idx],
                    {k: v[idx] for k, v in data.items()},
                    adv[idx],
                    target[idx],
                    None if mask is None else mask[idx],
                    stats,
                )
        return {k: float(torch.stack(v).mean()) for k, v in stats.items()}

    @torch.no_grad()
    def decoder_data(self, max_pairs: int) -> tuple[Tensor, Tensor]:
        """Fresh stochastic on-policy pairs ``(normalised obs, raw action)``, not counted in env_steps."""
        return self.rollout.decoder_data(self.policy, max_pairs)

    def state_dict(self) -> dict[str, Any]:
        """Critic, Adam, the rollout's state (env, normaliser, returns), counters, stage config."""
        return {
            "critic": self.critic.state_dict(),
            "optim": self.optim.state_dict(),
            "rollout": self.rollout.state_dict(),
            "iterations": self.iterations,
            "stage": self._stage,
            "overrides": {
                k: v for k, v in self.config.model_dump().items() if getattr(self.base_config, k) != v
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict``; the policy bound now must have the layout of the saved one."""
        self.bind(self.policy, state["overrides"], state["stage"][1])
        self._stage = tuple(state["stage"])  # type: ignore[assignment]
        self.critic.load_state_dict(state["critic"])
        self.optim.load_state_dict(state["optim"])
        self.rollout.load_state_dict(state["rollout"])
        self.iterations = int(state["iterations"])

    # -- internals -------------------------------------------------------------------------------
    def _anneal(self) -> None:
        """Linear learning-rate decay over the stage, from the step count before this iteration's
        rollout (the recipe's per-batch decay)."""
        c, (start, end) = self.config, self._stage
        if not c.anneal_lr or end is None or end <= start:
            return
        frac = max(0.0, 1.0 - (self.env_steps - c.steps_per_iteration - start) / (end - start))
        for group, lr in zip(self.optim.param_groups, (c.lr, c.critic_lr or c.lr), strict=True):
            group["lr"] = lr * frac

    def _update(
        self,
        obs: Tensor,
        data: dict[str, Tensor],
        adv: Tensor,
        target: Tensor,
        mask: Tensor | None,
        stats: dict[str, list[Tensor]],
    ) -> None:
        c = self.config
        # the penalty is skipped at 0 (Gaussian PPO): it would run the encoder a second time
        out = self.term.objective(self.policy, obs, data, penalty=c.penalty_coef > 0)
        log_ratio = out["log_ratio"]
        if c.normalize_advantage:
            adv = F.normalize_advantage(adv)
        loss_objective = F.surrogate(log_ratio, adv, c.clip_epsilon, c.trust_region)
        loss_critic = F.masked_value_loss(self.critic(obs).squeeze(-1), target, mask)
        total = loss_objective + c.value_coef * loss_critic
        entropy, penalty = out.get("entropy"), out.get("penalty")
        extra = {k: v for k, v in out.items() if k not in ("log_ratio", "entropy", "penalty")}
        if entropy is not None:
            total = total - c.entropy_coef * entropy
        if penalty is not None:
            total = total + c.penalty_coef * penalty
        check_finite(total.detach(), f"the PPO loss (iteration {self.iterations})")
        self.optim.zero_grad(set_to_none=True)
        total.backward()
        max_norm = math.inf if c.max_grad_norm is None else c.max_grad_norm  # inf: the norm, no clip
        if c.grad_clip == "global":
            norm = nn.utils.clip_grad_norm_(self._actor_params + self._critic_params, max_norm)
            actor_norm = critic_norm = norm
        else:
            actor_norm = nn.utils.clip_grad_norm_(self._actor_params, max_norm)
            critic_norm = nn.utils.clip_grad_norm_(self._critic_params, max_norm)
        if not (torch.isfinite(actor_norm) and torch.isfinite(critic_norm)):
            raise NonFiniteError(
                f"the gradients (iteration {self.iterations})",
                f"{self.trains} grad norm {actor_norm.item()}, critic grad norm {critic_norm.item()}",
            )
        self.optim.step()
        with torch.no_grad():
            log_ratio = log_ratio.detach()
            for k, v in (
                ("loss_objective", loss_objective),
                ("loss_critic", loss_critic),
                ("clip_fraction", ((log_ratio.exp() - 1.0).abs() > c.clip_epsilon).float().mean()),
                ("kl_approx", ((log_ratio.exp() - 1.0) - log_ratio).mean()),
                (f"grad_norm_{self.trains}", actor_norm),
                ("grad_norm_critic", critic_norm),
                ("entropy", entropy),
                ("latent_penalty", penalty),
                *extra.items(),
            ):
                if v is not None:
                    stats.setdefault(k, []).append(v.detach())


# Rollout.collect's env outputs; every other key is the actor's
_ENV_KEYS = frozenset({"obs", "next_obs", "reward", "done", "terminated"})
