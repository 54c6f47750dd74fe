"""SAC in latent space: the LatentOptimizer behind GoRL(SAC), on plain tensors.

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
SAC's entropy bonus on the latent, target ``-target_entropy``, default latent_dim) or the squashed
action's (``"action_entropy"``, identity decoder; ``"decoded_entropy"``, any decoder: ``log N(z; loc,
scale) - c - sum_i log |d squash / du_i|`` at ``u = decode(s, z)``, with ``c`` the decoder's mean
``log |det du/dz|`` at the encoder's draws on the buffer's latest states, measured when a stage binds and
at the start of every iteration; ``decoder_log_det``). Bootstrapping stops at
``terminated`` only: a time-limit truncation bootstraps from the true last observation (``Rollout``
stores it before the reset). DM Control never terminates.

The losses are ``gorl.algos.sac.losses.sac_losses`` (TorchRL's ``SACLoss`` math, checked against it by
``tests/algos/sac/test_sac_losses.py``) on fused twin critics (``critic.TwinCritic``: both MLPs as batched
matmuls) and a plain-tensor replay buffer (``replay.Replay``: raw observations, normalised when sampled);
this module adds the latent prior penalty, the update-to-data schedule and what happens to the critic at
a decoder refit (``bind(..., new_decoder=True)``):

* ``critic_input="action"``: Q(s, a) does not depend on the decoder. Buffer, critics, targets, alpha
  and their Adam states are kept; the encoder's Adam is fresh each stage.
* ``critic_input="latent"``: Q(s, z) and the stored z mean something only under the decoder that
  produced them. ``latent_refit="reset"`` (default) clears the buffer, re-initialises critics, targets,
  alpha and their Adam states, so the stage warms up again from the (reset) prior; ``"keep"`` keeps
  them as they are (for comparison; docs/sac.md).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from gorl.algos.guards import NonFiniteError, check_finite
from gorl.algos.rollout import Rollout
from gorl.algos.running_norm import RunningNorm
from gorl.algos.sac.config import SACConfig
from gorl.algos.sac.critic import TwinCritic, twin_q
from gorl.algos.sac.legacy import upgrade_state
from gorl.algos.sac.losses import Batch, Draw, Losses, latent_score, sac_losses, squash_log_det
from gorl.algos.sac.replay import Replay
from gorl.config import with_overrides
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.policy import ActingPolicy
from gorl.squash import squash

# the entropy of N(0, 1) in nats, 0.5 * log(2 pi e): regularizer='entropy' with target_entropy='prior'
PRIOR_ENTROPY_PER_DIM = 0.5 * math.log(2 * math.pi * math.e)
# states (the buffer's latest) on which regularizer='decoded_entropy' measures the decoder's log-Jacobian
LOG_DET_STATES = 1024


def decoder_log_det(policy: ActingPolicy, obs: Tensor, z: Tensor) -> float:
    """The decoder's mean ``log |det du/dz|`` over the pairs ``obs (N, obs_dim)`` (as the encoder sees
    them) and ``z (N, latent_dim)``, ``u = policy.decode(obs, z)`` the unsquashed action: the Jacobian's
    rows by one backward pass per action dimension (states are independent)."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        u = policy.decode(obs, z)
        if u.shape != z.shape:
            raise ValueError(
                f"regularizer='decoded_entropy' needs latent_dim == action_dim (the decoded action's density "
                f"is then a change of variables); the decoder maps {z.shape[-1]} latent dims to {u.shape[-1]}"
            )
        rows = [torch.autograd.grad(u[:, i].sum(), z, retain_graph=True)[0] for i in range(u.shape[-1])]
    jac = torch.stack(rows, dim=1)  # (N, A, d): d u_i / d z_j
    return float(torch.linalg.slogdet(jac.double()).logabsdet.mean())


@runtime_checkable
class PenaltyAtParams(Protocol):
    """An encoder that computes ``prior_penalty(obs)`` from ``loc_scale(obs)``'s output (the Gaussian)."""

    def prior_penalty_at(self, loc: Tensor, scale: Tensor) -> Tensor:
        """The prior penalty from ``(loc, scale)`` ``(B, latent_dim)``: a scalar."""
        ...


class SACLatentOptimizer:
    """Optimises ``policy.encoder`` with SAC; the decoder stays frozen.

    Args:
        env: a batched env with ``num_envs == config.num_envs``.
        policy: the composite whose encoder is trained (``CompositePolicy``).
        config: a ``SACConfig``.

    Attributes:
        iterations: ``iterate()`` calls so far.
        updates: gradient updates so far.
        buffer: the ``Replay`` (fields obs, latent, action, next_obs, reward, done, terminated).
        critic, critic_target: the online and target ``TwinCritic``.
        log_alpha: the temperature's logarithm (a scalar parameter).
    """

    def __init__(self, env: BatchedEnv, policy: ActingPolicy, config: SACConfig) -> None:
        if env.num_envs != config.num_envs:
            raise ValueError(f"env has {env.num_envs} envs but config.num_envs={config.num_envs}")
        if env.obs_dim != policy.encoder.obs_dim:
            raise ValueError(f"env obs_dim={env.obs_dim} but the encoder expects {policy.encoder.obs_dim}")
        self.env, self.config, self.base_config = env, config, config
        # the action bounds live where the policy does, with or without encoder parameters (the prior)
        self.device = policy.action_low.device
        self.rollout = Rollout(env, self.device, normalize_observations=config.normalize_observations)
        self._x_field = "latent" if config.critic_input == "latent" else "action"
        x_dim = policy.encoder.latent_dim if config.critic_input == "latent" else env.action_dim
        self.critic = TwinCritic(env.obs_dim + x_dim, config.critic_hidden, config.critic_layer_norm).to(
            self.device
        )
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(config.alpha_init), device=self.device))
        self.buffer = Replay(config.buffer_size, self.device)
        self.iterations = 0
        self.updates = 0
        self.critic_resets = 0
        self._credit = 0.0  # fractional updates owed (utd_ratio * transitions not yet spent)
        self.critic_optim = _adam(list(self.critic.parameters()), config.critic_lr)
        self.alpha_optim = _adam([self.log_alpha], config.alpha_lr)
        self.actor_optim: torch.optim.Optimizer | None = None
        self._decoder_log_det: float | None = None  # regularizer='decoded_entropy': c, measured per iteration
        self._bound = False
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
        """Targets ``policy.encoder``; applies this stage's ``overrides``; fresh Adam state for the
        encoder; keeps critics, targets, alpha and the buffer unless ``new_decoder`` (the schedule's word
        that the decoder was refitted) meets a latent critic with ``latent_refit="reset"``, which resets
        them. ``stage_end`` is recorded only (SAC has no per-stage schedule)."""
        self.config = with_overrides(self.base_config, overrides, SACConfig.MUTABLE)
        c = self.config
        policy.decoder.requires_grad_(False)
        self.policy = policy
        self._stage = (self.env_steps, stage_end)
        if self._bound and new_decoder and c.critic_input == "latent" and c.latent_refit == "reset":
            self._reset_critic()
        self._bound = True
        self._configure()
        self._decoder_log_det = None  # measured here from the buffer, or at the first draw when it is empty
        self._remeasure_log_det()

    def normalize(self, obs: Tensor) -> Tensor:
        """Running-normalised observations (identity when ``normalize_observations`` is off)."""
        return self.rollout.normalize(obs)

    @property
    def observation_norm(self) -> RunningNorm | None:
        """The running normaliser behind ``normalize`` (None when ``normalize_observations`` is off)."""
        return self.rollout.norm if self.rollout.normalize_observations else None

    def iterate(self) -> dict[str, float]:
        """Collects ``steps_per_iteration`` env steps, one batched step at a time, each followed by its
        share of ``utd_ratio`` updates once the buffer is warm (their minibatches drawn in one call)."""
        c = self.config
        where = f"iteration {self.iterations}"
        n = self.env.num_envs
        self._remeasure_log_det()  # decoded_entropy: c follows the policy's latents, iteration by iteration
        stats: dict[str, list[Tensor]] = {}
        last: Batch | None = None
        for _ in range(c.steps_per_iteration // n):
            raw = self.rollout.collect(self.policy, 1, where=where)
            self.rollout.update_norm(raw["obs"][:, 0])
            self.buffer.extend(self._transitions(raw))
            if len(self.buffer) < max(c.warmup_steps, c.batch_size):
                continue
            self._credit += n * c.utd_ratio
            due = math.floor(self._credit)
            self._credit -= due
            if due:
                last = self._updates(due, stats)
        self._log_penalty(last, stats)
        self.iterations += 1
        out = {k: float(torch.stack(v).mean()) for k, v in stats.items()}
        out["env_steps"] = float(self.env_steps)
        out["updates"] = float(self.updates)
        out["buffer_size"] = float(len(self.buffer))
        if self._decoder_log_det is not None and c.regularizer == "decoded_entropy":
            out["decoder_log_det"] = self._decoder_log_det
        train_return = self.rollout.pop_train_return()
        if train_return is not None:
            out["train_return"] = train_return
        return out

    def update(self, minibatches: int = 1) -> dict[str, float]:
        """``minibatches`` gradient steps, each on its own ``batch_size`` replay batch, outside the env
        loop (a custom loop, or ``benchmarks/sac_update_speed.py``); the last step's losses, alpha and
        entropy. Needs a warm buffer."""
        if len(self.buffer) < self.config.batch_size:
            raise ValueError(
                f"update() needs at least batch_size={self.config.batch_size} transitions in the replay "
                f"buffer; it holds {len(self.buffer)}: run iterate() first"
            )
        stats: dict[str, list[Tensor]] = {}
        self._log_penalty(self._updates(minibatches, stats), stats)
        return {k: float(v[-1]) for k, v in stats.items()}

    @torch.no_grad()
    def decoder_data(self, max_pairs: int) -> tuple[Tensor, Tensor]:
        """Fresh stochastic on-policy pairs ``(normalised obs, raw action)``, not counted in env_steps."""
        return self.rollout.decoder_data(self.policy, max_pairs)

    def state_dict(self) -> dict[str, Any]:
        """Critics, targets, alpha, the three Adam states, the filled part of the replay buffer, the
        rollout's state (env, normaliser, returns), counters and the stage's overrides."""
        return {
            "critic": self._critic_state(),
            "buffer": self.buffer.state_dict(),
            "rollout": self.rollout.state_dict(),
            "iterations": self.iterations,
            "updates": self.updates,
            "critic_resets": self.critic_resets,
            "credit": self._credit,
            "stage": self._stage,
            "decoder_log_det": self._decoder_log_det,
            "overrides": {
                k: v for k, v in self.config.model_dump().items() if getattr(self.base_config, k) != v
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict`` (or one saved before the plain-tensor update, when SACLoss held the
        critics and a TorchRL ReplayBuffer the data); the policy bound now must have the layout of the
        saved one."""
        state = upgrade_state(state)
        self.bind(self.policy, state["overrides"], state["stage"][1])
        self._stage = tuple(state["stage"])  # type: ignore[assignment]
        critic = state["critic"]
        with torch.no_grad():
            for mine, saved in ((self.critic, critic["critic"]), (self.critic_target, critic["target"])):
                for p, v in zip(mine.parameters(), saved, strict=True):
                    p.copy_(v)
            self.log_alpha.copy_(critic["log_alpha"])
        self.critic_optim.load_state_dict(critic["critic_optim"])
        self.alpha_optim.load_state_dict(critic["alpha_optim"])
        if self.actor_optim is not None:
            self.actor_optim.load_state_dict(critic["actor_optim"])
        self._set_rates()
        self.buffer.load_state_dict(state["buffer"])
        self.rollout.load_state_dict(state["rollout"])
        self.iterations = int(state["iterations"])
        self.updates = int(state["updates"])
        self.critic_resets = int(state["critic_resets"])
        self._credit = float(state["credit"])
        # None for older runs and other regularisers: measured at the first draw
        self._decoder_log_det = state.get("decoder_log_det")

    # -- internals -------------------------------------------------------------------------------
    def _critic_state(self) -> dict[str, Any]:
        """Critic and target weights (in ``TwinCritic`` order), log alpha and the three Adam states."""
        return {
            "critic": [p.detach().clone() for p in self.critic.parameters()],
            "target": [p.detach().clone() for p in self.critic_target.parameters()],
            "log_alpha": self.log_alpha.detach().clone(),
            "critic_optim": self.critic_optim.state_dict(),
            "alpha_optim": self.alpha_optim.state_dict(),
            "actor_optim": None if self.actor_optim is None else self.actor_optim.state_dict(),
        }

    def _reset_critic(self) -> None:
        """A latent critic at a refit: empty buffer, fresh critics, targets, alpha and their Adams."""
        c = self.base_config
        self.buffer.empty()
        self.critic.reset_parameters()
        self.critic_target.load_state_dict(self.critic.state_dict())
        with torch.no_grad():
            self.log_alpha.fill_(math.log(c.alpha_init))
        self.critic_optim = _adam(list(self.critic.parameters()), c.critic_lr)
        self.alpha_optim = _adam([self.log_alpha], c.alpha_lr)
        self._credit = 0.0
        self.critic_resets += 1

    def _configure(self) -> None:
        """The bound policy's draw, score settings and target; a fresh encoder Adam; this stage's rates."""
        c, encoder = self.config, self.policy.encoder
        self._bounds = None
        if c.regularizer == "decoded_entropy":
            self._bounds = (self.policy.action_low, self.policy.action_high)
        if c.regularizer == "action_entropy":
            if getattr(self.policy.decoder, "trainable", True):
                raise ValueError(
                    "regularizer='action_entropy' needs the identity decoder (the action's density is known "
                    f"only then); the policy has a {type(self.policy.decoder).__name__}: use 'kl' or "
                    "'entropy'"
                )
            self._bounds = (self.policy.action_low, self.policy.action_high)
        if c.regularizer == "kl":  # mean(score) is driven toward -target_entropy: a KL estimate here
            self.target_entropy = -(float(encoder.latent_dim) if c.target_kl is None else c.target_kl)
        elif c.target_entropy is None:
            self.target_entropy = -float(encoder.latent_dim)
        elif c.target_entropy == "prior":  # the entropy of N(0, I) in latent_dim dimensions
            self.target_entropy = encoder.latent_dim * PRIOR_ENTROPY_PER_DIM
        else:
            self.target_entropy = float(c.target_entropy)
        self._actor_params = [p for p in encoder.parameters() if p.requires_grad]
        self._critic_params: list[Tensor] = list(self.critic.parameters())
        self._target_params: list[Tensor] = list(self.critic_target.parameters())
        self.actor_optim = _adam(self._actor_params, c.actor_lr) if self._actor_params else None
        self._set_rates()

    def _set_rates(self) -> None:
        """This stage's learning rates (an override may have changed them)."""
        c = self.config
        for optim, lr in (
            (self.critic_optim, c.critic_lr),
            (self.alpha_optim, c.alpha_lr),
            (self.actor_optim, c.actor_lr),
        ):
            for group in [] if optim is None else optim.param_groups:
                group["lr"] = lr

    def draw(self, obs: Tensor) -> Draw:
        """A reparameterised draw of the bound policy at ``obs (B, obs_dim)``: ``x`` is z (latent
        critic) or ``squash(decode(s, z))`` (action critic, the gradient through the frozen decoder),
        with its score (``losses.latent_score`` under this config's regulariser)."""
        loc, scale = self.policy.encoder.loc_scale(obs)
        eps = torch.randn_like(loc)
        z = loc + scale * eps
        if self.config.regularizer == "decoded_entropy":
            return self._decoded_draw(obs, z, eps, loc, scale)
        score = latent_score(z, eps, scale, self.config.regularizer == "kl", self._bounds)
        if self._x_field == "latent":
            return Draw(z, score, loc, scale)
        raw = self.policy.decode(obs, z)
        return Draw(squash(raw, self.policy.action_low, self.policy.action_high), score, loc, scale)

    def _decoded_draw(self, obs: Tensor, z: Tensor, eps: Tensor, loc: Tensor, scale: Tensor) -> Draw:
        """``draw`` under ``regularizer='decoded_entropy'``: the score of the squashed decoded action,
        ``log N(z; loc, scale) - c - sum log |d squash / du|`` at ``u = decode(s, z)``."""
        if self._decoder_log_det is None:
            self._measure_log_det(obs)
        assert self._bounds is not None and self._decoder_log_det is not None
        raw = self.policy.decode(obs, z)
        score = latent_score(z, eps, scale) - self._decoder_log_det - squash_log_det(raw, self._bounds)
        x = z if self._x_field == "latent" else squash(raw, *self._bounds)
        return Draw(x, score, loc, scale)

    def _remeasure_log_det(self) -> None:
        """``c`` again on the buffer's latest ``LOG_DET_STATES`` states (``regularizer='decoded_entropy'``
        with a non-empty buffer; otherwise nothing)."""
        if self.config.regularizer == "decoded_entropy" and len(self.buffer):
            n = len(self.buffer)
            self._measure_log_det(self.normalize(self.buffer.data["obs"][max(0, n - LOG_DET_STATES) : n]))

    def _measure_log_det(self, obs: Tensor) -> None:
        """``c`` for ``regularizer='decoded_entropy'``: 0 for a decoder without weights (the identity),
        else ``decoder_log_det`` at ``obs`` and one draw of the current encoder per state (noise from a
        generator seeded by the update count). Measured at the prior only, it drifted: a stage-1 encoder
        that moved into the decoder's contracting region kept an estimate 2.8 nats above the entropy the
        next refit found, and alpha's catch-up collapsed the run (docs/sac.md)."""
        if not getattr(self.policy.decoder, "trainable", True):
            self._decoder_log_det = 0.0
            return
        gen = torch.Generator(device=obs.device).manual_seed(self.updates)
        with torch.no_grad():
            obs = obs.detach()
            loc, scale = self.policy.encoder.loc_scale(obs)
            z = loc + scale * torch.randn(loc.shape, generator=gen, device=loc.device, dtype=loc.dtype)
        self._decoder_log_det = decoder_log_det(self.policy, obs, z)

    def _transitions(self, raw: dict[str, Tensor]) -> dict[str, Tensor]:
        """One batched step of ``Rollout.collect`` ``(N, 1, ...)`` as N replay transitions."""
        return {
            "obs": raw["obs"][:, 0],
            "latent": raw["latent"][:, 0],
            "action": raw["action"][:, 0],
            "next_obs": raw["next_obs"][:, 0],
            "reward": raw["reward"][:, 0] * self.config.reward_scale,
            "done": raw["done"][:, 0],
            "terminated": raw["terminated"][:, 0],
        }

    def batches(self, k: int) -> list[Batch]:
        """``k`` minibatches of ``batch_size`` transitions, drawn from the buffer in one call (observations
        normalised when the run normalises)."""
        c = self.config
        fields = ("obs", self._x_field, "reward", "next_obs", "terminated")
        data = self.buffer.sample(k, c.batch_size, fields)
        obs, next_obs = self.normalize(data["obs"]), self.normalize(data["next_obs"])
        x, reward = data[self._x_field], data["reward"]
        terminated = data["terminated"].to(reward.dtype)
        return [Batch(obs[i], x[i], reward[i], next_obs[i], terminated[i]) for i in range(k)]

    def losses(self, batch: Batch) -> Losses:
        """``losses.sac_losses`` on ``batch`` with the bound policy, the critics and alpha."""
        c = self.config
        params, layers = self._critic_params, self.critic.layers
        target_layers = self.critic_target.layers()
        return sac_losses(
            batch,
            self.draw,
            q=lambda s, x: twin_q(layers(params), s, x),
            q_frozen=lambda s, x: twin_q(layers([p.detach() for p in params]), s, x),
            q_target=lambda s, x: twin_q(target_layers, s, x),
            log_alpha=self.log_alpha,
            gamma=c.gamma,
            target_entropy=self.target_entropy,
            loss_function=c.loss_function,
        )

    def _updates(self, k: int, stats: dict[str, list[Tensor]]) -> Batch:
        """``k`` gradient steps on ``k`` minibatches drawn in one call; returns the last minibatch. The
        losses are checked for NaN or Inf once for the k steps (one host sync per call, not per update)."""
        batches = self.batches(k)
        first = self.updates
        totals = [self._step(batch, stats) for batch in batches]
        check_finite(torch.stack(totals), f"the SAC loss (updates {first} to {self.updates - 1})")
        return batches[-1]

    def _log_penalty(self, batch: Batch | None, stats: dict[str, list[Tensor]]) -> None:
        """With ``penalty_coef = 0`` (the sac method) the prior penalty is a diagnostic only, logged once
        per call on its last minibatch: an encoder pass per update would cost a tenth of it for a number."""
        if batch is not None and not self.config.penalty_coef:
            with torch.no_grad():
                stats["latent_penalty"] = [self.policy.encoder.prior_penalty(batch.obs)]

    def _step(self, batch: Batch, stats: dict[str, list[Tensor]]) -> Tensor:
        """One gradient step on ``batch``; returns the summed loss (detached)."""
        c = self.config
        critic_params = self._critic_params
        out = self.losses(batch)
        total = out.loss_actor + out.loss_qvalue + out.loss_alpha
        if c.penalty_coef:
            encoder, draw = self.policy.encoder, out.actor_draw
            if isinstance(encoder, PenaltyAtParams):  # no second encoder pass at s
                penalty = encoder.prior_penalty_at(draw.loc, draw.scale)
            else:
                penalty = encoder.prior_penalty(batch.obs)
            total = total + c.penalty_coef * penalty
            stats.setdefault("latent_penalty", []).append(penalty.detach())
        optims = [o for o in (self.actor_optim, self.critic_optim, self.alpha_optim) if o is not None]
        for optim in optims:
            optim.zero_grad(set_to_none=True)
        total.backward()
        if c.max_grad_norm is not None:
            for name, params in (("encoder", self._actor_params), ("critic", self._critic_params)):
                norm = nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                if not torch.isfinite(norm):
                    raise NonFiniteError(f"the gradients (update {self.updates})", f"{name} grad norm {norm}")
        for optim in optims:
            optim.step()
        with torch.no_grad():  # Qtarg <- polyak Qtarg + (1 - polyak) Q
            torch._foreach_lerp_(self._target_params, critic_params, 1.0 - c.polyak)
        self.updates += 1
        for k, v in (
            ("loss_actor", out.loss_actor),
            ("loss_qvalue", out.loss_qvalue),
            ("loss_alpha", out.loss_alpha),
            ("alpha", out.alpha),
            ("entropy", out.entropy),
            ("q_policy", out.q_policy),
        ):
            stats.setdefault(k, []).append(v.detach())
        return total.detach()


def _adam(params: Sequence[Tensor], lr: float) -> torch.optim.Adam:
    """Adam at ``lr`` over ``params``, fused (one kernel for all tensors, on the CPU too: 0.9 ms for the
    three optimisers of a 256x256 SAC update instead of 2.5 ms, one thread; docs/sac.md)."""
    return torch.optim.Adam(list(params), lr=lr, fused=True)
