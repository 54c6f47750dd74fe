"""SAC settings and presets.

One iteration collects ``steps_per_iteration`` env steps (``steps_per_iteration / num_envs`` batched
steps). Every batched step appends ``num_envs`` transitions to the replay buffer and, once the buffer
holds ``max(warmup_steps, batch_size)`` transitions, runs ``utd_ratio * num_envs`` gradient updates
(fractional ratios carry over between steps), each on ``batch_size`` transitions drawn uniformly from the
buffer. Until then the policy acts unchanged: at the start of a stage the encoder is the prior
N(0, I), so warm-up samples come from the prior pushed through the decoder (tanh-Gaussian actions in
stage 0, the refitted decoder's action distribution later), not from a separate random policy.

``utd_ratio`` counts gradient updates per *transition*: Brax's ``grad_updates_per_step=8`` with 128
envs is ``utd_ratio = 8 / 128 = 0.0625``.

The defaults (preset ``cpu``) are TorchRL's SAC recipe (lr 3e-4, batch 256, polyak 0.995, 256x2 ReLU
critics, one update per transition) with pytorch_sac's initial temperature 0.1, alpha weighing the KL to
the prior N(0, I) rather than the latent entropy, and a Q(s, a) critic (docs/sac.md says why and what
was measured), on 2 envs: on a CPU the updates cost far more than the simulation, and with
``utd_ratio`` per transition more envs add no updates, they only let the policy act longer between
updates (it changes once per batched step); a second env still halves the per-transition Python cost
of collection. The preset ``paper`` is a GPU-scale setting after MuJoCo Playground's Brax SAC config for
the DM Control suite (``google-deepmind/mujoco_playground``
``mujoco_playground/config/dm_control_suite_params.py``, ``brax_sac_config``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from gorl.config import Config, drop_moved_field


class SACConfig(Config):
    """Latent SAC; defaults are the CPU setting (preset ``cpu``)."""

    # fields a stage override may change; the rest shape networks, envs, storage or the reward scale
    MUTABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "utd_ratio",
            "batch_size",
            "warmup_steps",
            "gamma",
            "polyak",
            "actor_lr",
            "critic_lr",
            "alpha_lr",
            "target_entropy",
            "target_kl",
            "loss_function",
            "penalty_coef",
            "regularizer",
            "max_grad_norm",
            "latent_refit",
        }
    )

    num_envs: int = Field(
        2, ge=1, description="parallel training envs (CPU: few; updates, not simulation, cost the time)"
    )
    steps_per_iteration: int = Field(
        1000, ge=1, description="env steps (all envs together) per iterate(); a multiple of num_envs"
    )
    utd_ratio: float = Field(
        1.0, gt=0.0, le=64.0, description="gradient updates per env step (transition) collected"
    )
    batch_size: int = Field(256, ge=1, description="transitions per gradient update")
    warmup_steps: int = Field(
        5000,
        ge=0,
        description="transitions in the buffer before updates start (again after a buffer reset); "
        "collected by the current policy, which is the prior at a stage start",
    )
    buffer_size: int = Field(1_000_000, ge=1, description="replay capacity in transitions (FIFO)")
    gamma: float = Field(0.99, gt=0.0, le=1.0, description="discount")
    polyak: float = Field(
        0.995, ge=0.0, lt=1.0, description="target critics: target <- polyak * target + (1 - polyak) * online"
    )
    actor_lr: float = Field(3e-4, gt=0.0, description="Adam learning rate of the encoder")
    critic_lr: float = Field(3e-4, gt=0.0, description="Adam learning rate of the twin critics")
    alpha_lr: float = Field(3e-4, gt=0.0, description="Adam learning rate of log(alpha)")
    alpha_init: float = Field(
        0.1, gt=0.0, description="initial temperature alpha (pytorch_sac's 0.1 for DM Control)"
    )
    regularizer: Literal["kl", "entropy", "action_entropy", "decoded_entropy"] = Field(
        "kl",
        description="what alpha weighs: kl: KL(pi(.|s) || N(0, I)), the prior the decoder is fitted on; "
        "entropy: SAC's entropy of the latent Gaussian; action_entropy: the entropy of the squashed action "
        "(standard tanh-Gaussian SAC; identity decoder only); decoded_entropy: the squashed action's "
        "entropy through any frozen decoder, the decoder's log-Jacobian taken as its mean at the bind "
        "(exact, and equal to action_entropy, with the identity decoder) (docs/sac.md)",
    )
    target_kl: float | None = Field(
        None, ge=0.0, description="regularizer='kl': alpha keeps the KL near this (nats); None: latent_dim"
    )
    target_entropy: float | Literal["prior"] | None = Field(
        None,
        description="regularizer='entropy', 'action_entropy' or 'decoded_entropy': the entropy target "
        "(nats); None: -dim; "
        "'prior' (regularizer='entropy' only): the entropy of N(0, I), dim * 0.5 * log(2 pi e), which "
        "after a refit holds the policy about as wide as the refit's data policy and leaves its mean free",
    )
    loss_function: Literal["l2", "smooth_l1"] = Field("l2", description="critic regression loss")
    reward_scale: float = Field(1.0, gt=0.0, description="rewards are multiplied by this for training")
    critic_hidden: list[int] = Field(
        default=[256, 256], min_length=1, description="widths of each critic's MLP (ReLU)"
    )
    critic_layer_norm: bool = Field(
        False, description="LayerNorm after every hidden layer of the critics (Playground's SAC)"
    )
    critic_input: Literal["latent", "action"] = Field(
        "action",
        description="latent: Q(s, z); action: Q(s, a) with a = squash(decode(s, z)), the actor's gradient "
        "flowing through the frozen decoder (docs/sac.md has the measurement behind the default)",
    )
    latent_refit: Literal["reset", "keep"] = Field(
        "reset",
        description="critic_input='latent' at a decoder refit: reset clears the replay buffer and "
        "re-initialises critics, targets and alpha; keep leaves them (stale latents)",
    )
    penalty_coef: float = Field(
        1e-3, ge=0.0, description="lambda of the latent penalty toward N(0, I) added to the actor loss"
    )
    max_grad_norm: float | None = Field(
        None, gt=0.0, description="gradient-norm clip of the actor and of the critics; None: none"
    )
    normalize_observations: bool = Field(
        False, description="running mean/std observation normalisation (replay stores raw observations)"
    )

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        # raw_action_clip moved to the refit (schedule.raw_action_clip); run directories keep the old 3.0
        return drop_moved_field(data, "raw_action_clip", 3.0, "schedule.raw_action_clip")

    @model_validator(mode="after")
    def _layout(self) -> SACConfig:
        if self.steps_per_iteration % self.num_envs:
            raise ValueError(
                f"steps_per_iteration={self.steps_per_iteration} must be a multiple of "
                f"num_envs={self.num_envs}"
            )
        if any(w <= 0 for w in self.critic_hidden):
            raise ValueError(f"critic_hidden: widths must be positive, got {self.critic_hidden}")
        if self.buffer_size < self.batch_size:
            raise ValueError(f"buffer_size={self.buffer_size} is below batch_size={self.batch_size}")
        if self.target_entropy == "prior" and self.regularizer != "entropy":
            raise ValueError(
                f"target_entropy='prior' is the latent prior's entropy, for regularizer='entropy'; got "
                f"regularizer={self.regularizer!r}"
            )
        return self


PRESETS: dict[str, dict[str, object]] = {
    # the defaults: TorchRL's SAC recipe settings on 2 envs (see the module docstring)
    "cpu": {},
    # after MuJoCo Playground's brax_sac_config for DM Control (google-deepmind/mujoco_playground,
    # mujoco_playground/config/dm_control_suite_params.py): 128 envs, batch 512, 8 updates per batched
    # step (8 / 128 per transition), lr 1e-3, gamma 0.99, 4M replay, 8192 warm-up transitions,
    # normalised observations, layer-normed critics; 100 batched steps per iteration
    "paper": {
        "num_envs": 128,
        "steps_per_iteration": 12_800,
        "utd_ratio": 8 / 128,
        "batch_size": 512,
        "warmup_steps": 8192,
        "buffer_size": 4 * 1_048_576,
        "gamma": 0.99,
        "actor_lr": 1e-3,
        "critic_lr": 1e-3,
        "alpha_lr": 1e-3,
        "normalize_observations": True,
        "critic_layer_norm": True,
    },
}


def preset(name: str, **overrides: object) -> SACConfig:
    """``SACConfig`` of preset ``name`` with ``overrides``; an unknown name lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown SAC preset {name!r}; known: {', '.join(PRESETS)}")
    return SACConfig.model_validate({**PRESETS[name], **overrides})
