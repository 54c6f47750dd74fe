"""PPO settings and presets.

One iteration collects ``rollout_length`` steps from each of ``num_envs`` envs, computes GAE over
segments of ``unroll_length`` steps (it bootstraps from the critic at each segment's end, as Brax
does; ``unroll_length == rollout_length`` gives one segment per env), then runs ``update_epochs``
passes over the batch's transitions in ``num_minibatches`` shuffled minibatches, recomputing the
advantages with the current critic before each pass.

The official setting (preset ``paper``): 2048 envs x 480 steps = 983,040 env steps, segments of 30,
32 minibatches x 16 epochs = 512 gradient steps per iteration (the Brax/Playground layout: 1024 x 32
segments of 30). The CPU preset (``cpu``) is sized for samples, not throughput; ``docs/ppo.md`` gives
the measurement behind each of its values.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from gorl.config import Config, drop_moved_field
from gorl.nn import Init


class PPOConfig(Config):
    """Latent PPO; defaults are the official GoRL encoder settings (stage 0)."""

    # fields a stage override may change; the rest shape networks, envs or storage
    MUTABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "update_epochs",
            "num_minibatches",
            "gamma",
            "gae_lambda",
            "value_coef",
            "entropy_coef",
            "clip_epsilon",
            "lr",
            "critic_lr",
            "max_grad_norm",
            "penalty_coef",
            "normalize_advantage",
            "reset_critic",
            "mask_truncated_value",
            "anneal_lr",
            "trust_region",
        }
    )

    num_envs: int = Field(2048, ge=1, description="parallel training environments")
    rollout_length: int = Field(480, ge=1, description="steps collected from each env per iteration")
    unroll_length: int = Field(
        30, ge=1, description="GAE segment length: advantages bootstrap from the critic at segment ends"
    )
    num_minibatches: int = Field(32, ge=1, description="minibatches per epoch")
    update_epochs: int = Field(16, ge=1, description="passes over each collected batch")
    gamma: float = Field(0.995, gt=0.0, le=1.0, description="discount (FingerSpin: 0.95)")
    gae_lambda: float = Field(0.95, ge=0.0, le=1.0, description="GAE lambda")
    reward_scale: float = Field(10.0, gt=0.0, description="rewards are multiplied by this for training")
    value_coef: float = Field(0.25, ge=0.0, description="weight of the value loss")
    entropy_coef: float = Field(0.01, ge=0.0, description="weight of the latent entropy bonus")
    clip_epsilon: float = Field(0.15, gt=0.0, lt=1.0, description="PPO ratio clip (latent ratios)")
    trust_region: Literal["clip", "asymmetric"] = Field(
        "clip",
        description="clip: PPO's clipped ratio; asymmetric: FPO++'s, clipped for positive advantages and a "
        "quadratic penalty on (rho - 1) for negative ones",
    )
    lr: float = Field(1e-3, gt=0.0, description="Adam learning rate of the trained policy (and critic)")
    critic_lr: float | None = Field(None, gt=0.0, description="critic learning rate; None: lr")
    max_grad_norm: float | None = Field(0.5, gt=0.0, description="gradient-norm clip; None: none")
    grad_clip: Literal["global", "per_network"] = Field(
        "global",
        description="global: one norm over encoder and critic (official); per_network: each clipped alone, "
        "so the critic's gradient cannot shrink the encoder's step",
    )
    mask_truncated_value: bool = Field(
        True, description="no value loss on time-limit steps (the official code masks them)"
    )
    penalty_coef: float = Field(5e-4, ge=0.0, description="lambda of the latent penalty toward N(0, I)")
    normalize_observations: bool = Field(True, description="running mean/std observation normalisation")
    obs_norm_eps: float = Field(
        1e-6, gt=0.0, description="(obs - mean) / sqrt(var + eps); TorchRL's VecNorm uses 1e-2 (a std floor)"
    )
    obs_clip: float | None = Field(None, gt=0.0, description="normalised observations clipped to +-this")
    normalize_advantage: bool = Field(True, description="advantages to zero mean, unit std per minibatch")
    critic_hidden: list[int] = Field(default=[256] * 5, min_length=1, description="critic MLP widths")
    critic_activation: Literal["silu", "tanh", "relu"] = Field("silu", description="critic activation")
    critic_init: Init = Field(
        "default", description="critic weights: default (PyTorch's init) or orthogonal (zero biases)"
    )
    critic_init_gain: float = Field(
        0.01, gt=0.0, description="critic_init='orthogonal': every layer's gain (TorchRL's PPO recipe: 0.01)"
    )
    adam_eps: float = Field(1e-8, gt=0.0, description="Adam's eps (TorchRL's PPO recipe: 1e-5)")
    anneal_lr: bool = Field(
        False,
        description="decay both learning rates linearly to 0 over each encoder stage (TorchRL's recipe)",
    )
    reset_critic: bool = Field(False, description="re-initialise the critic at every encoder stage")

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        # raw_action_clip moved to the refit (schedule.raw_action_clip); run directories keep the old 3.0
        return drop_moved_field(data, "raw_action_clip", 3.0, "schedule.raw_action_clip")

    @model_validator(mode="after")
    def _layout(self) -> PPOConfig:
        if self.rollout_length % self.unroll_length:
            raise ValueError(
                f"rollout_length={self.rollout_length} must be a multiple of "
                f"unroll_length={self.unroll_length}"
            )
        if self.steps_per_iteration < self.num_minibatches:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} exceeds the {self.steps_per_iteration} transitions "
                "collected per iteration"
            )
        if any(w <= 0 for w in self.critic_hidden):
            raise ValueError(f"critic_hidden: widths must be positive, got {self.critic_hidden}")
        return self

    @property
    def steps_per_iteration(self) -> int:
        """Env steps collected per iteration."""
        return self.num_envs * self.rollout_length

    @property
    def minibatch_size(self) -> int:
        """Transitions per gradient step (the last minibatch of an epoch may hold more)."""
        return self.steps_per_iteration // self.num_minibatches


PRESETS: dict[str, dict[str, object]] = {
    # The GoRL encoder as the official code ran it (stage 0; later stages override clip and penalty).
    "paper": {},
    # Gaussian PPO with MuJoCo Playground's dm_control defaults (brax_ppo_config in
    # google-deepmind/mujoco_playground, mujoco_playground/config/dm_control_suite_params.py).
    "playground": {"clip_epsilon": 0.3, "lr": 1e-3, "penalty_coef": 0.0},
    # Gaussian PPO as the paper's baseline ran it.
    "paper-ppo": {"clip_epsilon": 0.1, "lr": 3e-4, "penalty_coef": 0.0},
    # Sample-efficient PPO for a 2-core CPU (docs/ppo.md has the measurement behind every value).
    "cpu": {
        "num_envs": 8,
        "rollout_length": 256,
        "unroll_length": 256,
        "num_minibatches": 32,
        "update_epochs": 10,
        "gamma": 0.99,
        "reward_scale": 1.0,
        "lr": 3e-4,
        "clip_epsilon": 0.2,
        "entropy_coef": 0.0,
        "value_coef": 0.5,
        "grad_clip": "per_network",
        "max_grad_norm": 1.0,
        "critic_hidden": [256, 256],
    },
}


def preset(name: str, **overrides: object) -> PPOConfig:
    """``PPOConfig`` of preset ``name`` with ``overrides``; an unknown name lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown PPO preset {name!r}; known: {', '.join(PRESETS)}")
    return PPOConfig.model_validate({**PRESETS[name], **overrides})
