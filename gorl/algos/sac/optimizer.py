"""SAC in latent space: the LatentOptimizer behind GoRL(SAC), on TorchRL's ``SACLoss``.

Per gradient update, on a batch of B transitions ``(s, z, a, r, s', terminated)`` drawn uniformly from
the replay buffer (``x`` is z for ``critic_input="latent"``, a for ``"action"``; ``x~`` a fresh
reparameterised draw of the current encoder, decoded and squashed in the action mode; alpha = exp(log
alpha); ``score`` the latent score of the draw, below):

    critic:  sum_{i=1,2} mean_B (Q_i(s, x) - y)^2,
             y = r + gamma * (1 - terminated) * (min_i Qtarg_i(s', x~') - alpha * score(s', z~'))
    actor:   mean_B (alpha * score(s, z~) - min_i Q_i(s, x~)) + penalty_coef * prior_penalty(s)
    alpha:   mean_B -log(alpha) * (score(s, z~) - target),  target = target_kl (default latent_dim)
    targets: Qtarg <- polyak * Qtarg + (1 - polyak) * Q after every update

``score = log N(z; loc, scale) - log N(z; 0, I)`` (``regularizer="kl"``, a one-sample estimate of
KL(pi(.|s) || N(0, I)), the prior the decoder is fitted on) or ``log N(z; loc, scale)`` (``"entropy"``:
SAC's entropy bonus on the latent, target ``-target_entropy``, default latent_dim). Bootstrapping stops at
``terminated`` only: a time-limit truncation bootstraps from the true last observation (``Rollout``
stores it before the reset). DM Control never terminates.

The losses and the vmapped twin critics are TorchRL's (``SACLoss``, TD(0) value estimator,
``SoftUpdate``); this module adds the latent prior penalty, the replay buffer (a ``ReplayBuffer`` of
TensorDicts over ``LazyTensorStorage`` on the run's device, raw observations, normalised when sampled), the
update-to-data schedule and what happens to the critic at a decoder refit (``bind``):

* ``critic_input="action"``: Q(s, a) does not depend on the decoder. Buffer, critics, targets, alpha
  and their Adam states are kept; the encoder's Adam is fresh each stage.
* ``critic_input="latent"``: Q(s, z) and the stored z mean something only under the decoder that
  produced them. ``latent_refit="reset"`` (default) clears the buffer, re-initialises critics, targets,
  alpha and their Adam states, so the stage warms up again from the (reset) prior; ``"keep"`` keeps
  them as they are (for comparison; docs/sac.md).

A refit is detected by comparing the bound decoder's type and weights with those at the previous bind.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor, nn
from torchrl.data import LazyTensorStorage, ReplayBuffer
from torchrl.objectives import SACLoss, SoftUpdate, ValueEstimators

from gorl.algos.guards import NonFiniteError, check_finite
from gorl.algos.rollout import Rollout
from gorl.algos.sac.config import SACConfig
from gorl.algos.sac.networks import DecodeSquash, q_network, sac_actor
from gorl.config import with_overrides
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.keys import ACTION, DONE, LATENT, NEXT, OBSERVATION, REWARD, TERMINATED
from gorl.nn import reinit_

# SACLoss state carried across a rebuild (the actor's entries belong to the encoder; the rest is
# derived from the config)
_CRITIC_PREFIXES = ("qvalue_network_params.", "target_qvalue_network_params.")


def _decoder_snapshot(decoder: Any) -> tuple[str, dict[str, Tensor]]:
    """The decoder's type name and a copy of its weights, to tell a refit from a re-bind."""
    return type(decoder).__name__, {k: v.detach().clone() for k, v in decoder.state_dict().items()}


def _same_decoder(a: tuple[str, dict[str, Tensor]], b: tuple[str, dict[str, Tensor]]) -> bool:
    return (
        a[0] == b[0]
        and a[1].keys() == b[1].keys()
        and all(a[1][k].shape == b[1][k].shape and torch.equal(a[1][k], b[1][k]) for k in a[1])
    )


class SACLatentOptimizer:
    """Optimises ``policy.encoder`` with SAC; the decoder stays frozen.

    Args:
        env: a batched env with ``num_envs == config.num_envs``.
        policy: the composite whose encoder is trained (``CompositePolicy``).
        config: a ``SACConfig``.

    Attributes:
        iterations: ``iterate()`` calls so far.
        updates: gradient updates so far.
        buffer: the ``ReplayBuffer`` of TensorDicts (keys OBSERVATION, LATENT, ACTION and ``("next", ...)``
            OBSERVATION, REWARD ``(B, 1)``, DONE, TERMINATED ``(B, 1)`` bool).
        loss: the current ``SACLoss`` (rebuilt by every ``bind``; critics carried over).
    """

    def __init__(self, env: BatchedEnv, policy: Any, config: SACConfig) -> None:
        if env.num_envs != config.num_envs:
            raise ValueError(f"env has {env.num_envs} envs but config.num_envs={config.num_envs}")
        if env.obs_dim != policy.encoder.obs_dim:
            raise ValueError(f"env obs_dim={env.obs_dim} but the encoder expects {policy.encoder.obs_dim}")
        self.env, self.config, self.base_config = env, config, config
        self.device = next(policy.encoder.parameters()).device
        self.rollout = Rollout(env, self.device, normalize_observations=config.normalize_observations)
        if config.critic_input == "latent":
            x_key, x_dim = LATENT, policy.encoder.latent_dim
        else:
            x_key, x_dim = ACTION, env.action_dim
        # SACLoss stacks copies of these two into its own (vmapped) parameters; they are templates
        self._q_templates = [
            q_network(env.obs_dim, x_key, x_dim, config.critic_hidden, config.critic_layer_norm).to(
                self.device
            )
            for _ in range(2)
        ]
        # no batch_size here: it is a stage override, given to every sample() call
        self.buffer = ReplayBuffer(storage=LazyTensorStorage(config.buffer_size, device=self.device))
        self.iterations = 0
        self.updates = 0
        self.critic_resets = 0
        self._credit = 0.0  # fractional updates owed (utd_ratio * transitions not yet spent)
        self.loss: Any = None
        self._decoder: tuple[str, dict[str, Tensor]] | None = None
        self.bind(policy)

    @property
    def env_steps(self) -> int:
        """Training env steps collected so far."""
        return self.rollout.env_steps

    # -- LatentOptimizer -------------------------------------------------------------------------
    def bind(
        self,
        policy: Any,
        overrides: dict[str, Any] | None = None,
        stage_end: int | None = None,
        *,
        new_decoder: bool = False,
    ) -> None:
        """Targets ``policy.encoder``; applies this stage's ``overrides``; rebuilds the loss around the
        bound encoder (and decoder), carrying the critics over unless a latent-critic refit resets them;
        fresh Adam state for the encoder. ``stage_end`` is recorded only (SAC has no per-stage schedule)."""
        self.config = with_overrides(self.base_config, overrides, SACConfig.MUTABLE)
        c = self.config
        policy.decoder.requires_grad_(False)
        snapshot = _decoder_snapshot(policy.decoder)
        refit = self._decoder is not None and not _same_decoder(self._decoder, snapshot)
        self.policy, self._decoder = policy, snapshot
        self._stage = (self.env_steps, stage_end)
        reset = self.loss is None or (refit and c.critic_input == "latent" and c.latent_refit == "reset")
        if reset and self.loss is not None:
            self.buffer.empty()
            for q in self._q_templates:
                reinit_(q)
            self._credit = 0.0
            self.critic_resets += 1
        carry = None if reset else self._critic_state()
        self._build(carry)

    def normalize(self, obs: Tensor) -> Tensor:
        """Running-normalised observations (identity when ``normalize_observations`` is off)."""
        return self.rollout.normalize(obs)

    def iterate(self) -> dict[str, float]:
        """Collects ``steps_per_iteration`` env steps, one batched step at a time, each followed by its
        share of ``utd_ratio`` updates once the buffer is warm."""
        c = self.config
        where = f"iteration {self.iterations}"
        n = self.env.num_envs
        stats: dict[str, list[Tensor]] = {}
        for _ in range(c.steps_per_iteration // n):
            raw = self.rollout.collect(self.policy, 1, where=where)
            self.rollout.update_norm(raw["obs"][:, 0])
            self.buffer.extend(self._transitions(raw))
            if len(self.buffer) < max(c.warmup_steps, c.batch_size):
                continue
            self._credit += n * c.utd_ratio
            due = math.floor(self._credit)
            self._credit -= due
            for _ in range(due):
                self._update(stats)
        self.iterations += 1
        out = {k: float(torch.stack(v).mean()) for k, v in stats.items()}
        out["env_steps"] = float(self.env_steps)
        out["updates"] = float(self.updates)
        out["buffer_size"] = float(len(self.buffer))
        train_return = self.rollout.pop_train_return()
        if train_return is not None:
            out["train_return"] = train_return
        return out

    def update(self) -> dict[str, float]:
        """One gradient step on a ``batch_size`` replay batch, outside the env loop (a custom loop, or
        ``benchmarks/sac_update_speed.py``); its losses, alpha and entropy. Needs a warm buffer."""
        if len(self.buffer) < self.config.batch_size:
            raise ValueError(
                f"update() needs at least batch_size={self.config.batch_size} transitions in the replay "
                f"buffer; it holds {len(self.buffer)}: run iterate() first"
            )
        stats: dict[str, list[Tensor]] = {}
        self._update(stats)
        return {k: float(v[0]) for k, v in stats.items()}

    @torch.no_grad()
    def decoder_data(self, max_pairs: int) -> tuple[Tensor, Tensor]:
        """Fresh stochastic on-policy pairs ``(normalised obs, raw action)``, not counted in env_steps."""
        steps = max(1, math.ceil(max_pairs / self.env.num_envs))
        raw = self.rollout.collect(self.policy, steps, where="decoder data", count=False)
        obs = self.normalize(raw["obs"]).reshape(-1, self.env.obs_dim)[:max_pairs]
        act = raw["raw_action"].clamp(-self.config.raw_action_clip, self.config.raw_action_clip)
        return obs, act.reshape(-1, act.shape[-1])[:max_pairs]

    def state_dict(self) -> dict[str, Any]:
        """Critics, targets, alpha, the three Adam states, the filled part of the replay buffer, the
        rollout's state (env, normaliser, returns), counters and the stage's overrides."""
        size = len(self.buffer)
        # a copy: a view would make torch.save write the whole preallocated storage
        data = self.buffer.storage.get(slice(0, size)).clone() if size else None
        return {
            "critic": self._critic_state(),
            "buffer": {
                "data": None if data is None else data.to_dict(),
                "size": size,
                "writer": self.buffer.writer.state_dict(),
            },
            "rollout": self.rollout.state_dict(),
            "iterations": self.iterations,
            "updates": self.updates,
            "critic_resets": self.critic_resets,
            "credit": self._credit,
            "stage": self._stage,
            "overrides": {
                k: v for k, v in self.config.model_dump().items() if getattr(self.base_config, k) != v
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict``; the policy bound now must have the layout of the saved one."""
        self.bind(self.policy, state["overrides"], state["stage"][1])
        self._stage = tuple(state["stage"])  # type: ignore[assignment]
        self._build(state["critic"], resume=True)
        self.buffer.empty()
        buf = state["buffer"]
        if buf["size"]:
            data = TensorDict(buf["data"], batch_size=[buf["size"]]).to(self.device)
            self.buffer.extend(data)  # into slots 0..size-1: the saved storage order
        self.buffer.writer.load_state_dict(buf["writer"])
        self.rollout.load_state_dict(state["rollout"])
        self.iterations = int(state["iterations"])
        self.updates = int(state["updates"])
        self.critic_resets = int(state["critic_resets"])
        self._credit = float(state["credit"])

    # -- internals -------------------------------------------------------------------------------
    def _critic_state(self) -> dict[str, Any]:
        """What survives a rebuild of the loss: critic and target weights, log alpha, critic, alpha and
        encoder Adam states."""
        return {
            "loss": {
                k: v.detach().clone()
                for k, v in self.loss.state_dict().items()
                if k.startswith(_CRITIC_PREFIXES) or k == "log_alpha"
            },
            "critic_optim": self.critic_optim.state_dict(),
            "alpha_optim": self.alpha_optim.state_dict(),
            "actor_optim": self.actor_optim.state_dict(),
        }

    def _build(self, carry: dict[str, Any] | None, resume: bool = False) -> None:
        """A fresh SACLoss, SoftUpdate and Adams for the bound policy; ``carry`` (from ``_critic_state``)
        restores critics, targets, alpha and the critic and alpha Adam states, and with ``resume`` the
        encoder's Adam state too (a new stage starts it afresh)."""
        c, encoder = self.config, self.policy.encoder
        kl = c.regularizer == "kl"
        low = self.policy.action_low.to(self.device)
        high = self.policy.action_high.to(self.device)
        bounds = None
        if c.regularizer == "action_entropy":
            if getattr(self.policy.decoder, "trainable", True):
                raise ValueError(
                    "regularizer='action_entropy' needs the identity decoder (the action's density is known "
                    f"only then); the policy has a {type(self.policy.decoder).__name__}: use 'kl' or "
                    "'entropy'"
                )
            bounds = (low, high)
        if c.critic_input == "latent":
            actor = sac_actor(encoder, LATENT, None, relative_to_prior=kl, squash_bounds=bounds)
        else:
            decode = DecodeSquash(self.policy.decoder, low, high)
            actor = sac_actor(encoder, ACTION, decode, relative_to_prior=kl, squash_bounds=bounds)
        if kl:  # SACLoss drives mean(score) toward -target_entropy; the score is a KL estimate here
            target_entropy = -(float(encoder.latent_dim) if c.target_kl is None else c.target_kl)
        else:
            target_entropy = -float(encoder.latent_dim) if c.target_entropy is None else c.target_entropy
        loss = SACLoss(
            actor,
            self._q_templates,
            num_qvalue_nets=2,
            loss_function=c.loss_function,
            alpha_init=self.base_config.alpha_init,
            target_entropy=target_entropy,
            delay_qvalue=True,
        )
        loss.make_value_estimator(ValueEstimators.TD0, gamma=c.gamma)
        self.target_update = SoftUpdate(loss, eps=c.polyak)  # copies online -> target; carry overrides
        self.loss = loss
        self._actor_params = [p for p in encoder.parameters() if p.requires_grad]
        self._critic_params = list(loss.qvalue_network_params.values(True, True))
        self.actor_optim = torch.optim.Adam(self._actor_params, lr=c.actor_lr)
        self.critic_optim = torch.optim.Adam(self._critic_params, lr=c.critic_lr)
        self.alpha_optim = torch.optim.Adam([loss.log_alpha], lr=c.alpha_lr)
        if carry is None:
            return
        loss.load_state_dict(carry["loss"], strict=False)
        optims = [
            (self.critic_optim, "critic_optim", c.critic_lr),
            (self.alpha_optim, "alpha_optim", c.alpha_lr),
        ]
        if resume:
            optims.append((self.actor_optim, "actor_optim", c.actor_lr))
        for optim, key, lr in optims:
            optim.load_state_dict(carry[key])
            for group in optim.param_groups:  # a stage override may have changed the rate
                group["lr"] = lr

    def _transitions(self, raw: dict[str, Tensor]) -> TensorDict:
        """One batched step of ``Rollout.collect`` ``(N, 1, ...)`` as N replay transitions."""
        n = self.env.num_envs
        return TensorDict(
            {
                OBSERVATION: raw["obs"][:, 0],
                LATENT: raw["latent"][:, 0],
                ACTION: raw["action"][:, 0],
                NEXT: {
                    OBSERVATION: raw["next_obs"][:, 0],
                    REWARD: (raw["reward"][:, 0] * self.config.reward_scale).reshape(n, 1),
                    DONE: raw["done"][:, 0].reshape(n, 1),
                    TERMINATED: raw["terminated"][:, 0].reshape(n, 1),
                },
            },
            batch_size=[n],
            device=self.device,
        )

    def _update(self, stats: dict[str, list[Tensor]]) -> None:
        c = self.config
        batch = self.buffer.sample(c.batch_size)
        if c.normalize_observations:
            batch[OBSERVATION] = self.normalize(batch[OBSERVATION])
            batch[NEXT, OBSERVATION] = self.normalize(batch[NEXT, OBSERVATION])
        out = self.loss(batch)
        loss_actor, loss_qvalue, loss_alpha = out["loss_actor"], out["loss_qvalue"], out["loss_alpha"]
        # weight 0 (the sac method's): logged only, as a zero-weighted term would cost a backward for nothing
        with torch.set_grad_enabled(bool(c.penalty_coef)):
            penalty = self.policy.encoder.prior_penalty(batch[OBSERVATION])
        if c.penalty_coef:
            total = loss_actor + c.penalty_coef * penalty + loss_qvalue + loss_alpha
        else:
            total = loss_actor + loss_qvalue + loss_alpha
        check_finite(total.detach(), f"the SAC loss (update {self.updates})")
        for optim in (self.actor_optim, self.critic_optim, self.alpha_optim):
            optim.zero_grad(set_to_none=True)
        total.backward()
        if c.max_grad_norm is not None:
            for name, params in (("encoder", self._actor_params), ("critic", self._critic_params)):
                norm = nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                if not torch.isfinite(norm):
                    raise NonFiniteError(f"the gradients (update {self.updates})", f"{name} grad norm {norm}")
        self.actor_optim.step()
        self.critic_optim.step()
        self.alpha_optim.step()
        self.target_update.step()
        self.updates += 1
        with torch.no_grad():
            alpha, entropy = out["alpha"], out["entropy"]
            for k, v in (
                ("loss_actor", loss_actor),
                ("loss_qvalue", loss_qvalue),
                ("loss_alpha", loss_alpha),
                ("alpha", alpha),
                ("entropy", entropy),
                # mean_B min_i Q_i(s, x~) = alpha * mean log pi - loss_actor (alpha is a constant here)
                ("q_policy", -alpha * entropy - loss_actor),
                ("latent_penalty", penalty),
            ):
                stats.setdefault(k, []).append(v.detach())
