"""PPO settings with the Brax/MuJoCo Playground semantics, and presets (anchors.md section 1).

One iteration collects ``batch_size * num_minibatches`` segments of ``unroll_length`` steps (with
``num_envs`` envs that is ``batch_size * num_minibatches / num_envs`` unrolls), then runs
``update_epochs`` passes over them in ``num_minibatches`` minibatches of ``batch_size`` segments.
The official setting: 2048 envs, unroll 30, 1024 x 32 segments -> 983,040 env steps and 512 gradient
steps per iteration.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from gorl.config import Config


class PPOConfig(Config):
    """Latent PPO; defaults are the official GoRL encoder settings (stage 0)."""

    num_envs: int = Field(2048, ge=1, description="parallel training environments")
    unroll_length: int = Field(30, ge=1, description="steps per segment (GAE bootstraps at its end)")
    batch_size: int = Field(1024, ge=1, description="segments per minibatch")
    num_minibatches: int = Field(32, ge=1, description="minibatches per epoch")
    update_epochs: int = Field(16, ge=1, description="passes over each collected batch")
    gamma: float = Field(0.995, gt=0.0, le=1.0, description="discount (FingerSpin: 0.95)")
    gae_lambda: float = Field(0.95, ge=0.0, le=1.0, description="GAE lambda")
    reward_scale: float = Field(10.0, gt=0.0, description="rewards are multiplied by this for training")
    value_coef: float = Field(0.25, ge=0.0, description="weight of the value loss")
    entropy_coef: float = Field(0.01, ge=0.0, description="weight of the latent entropy bonus")
    clip_epsilon: float = Field(0.15, gt=0.0, lt=1.0, description="PPO ratio clip (latent ratios)")
    lr: float = Field(1e-3, gt=0.0, description="Adam learning rate (encoder and critic)")
    max_grad_norm: float = Field(0.5, gt=0.0, description="global gradient-norm clip")
    penalty_coef: float = Field(5e-4, ge=0.0, description="lambda of the latent penalty toward N(0, I)")
    normalize_observations: bool = Field(True, description="running mean/std observation normalisation")
    normalize_advantage: bool = Field(True, description="advantages to zero mean, unit std per minibatch")
    critic_hidden: list[int] = Field(default=[256] * 5, min_length=1, description="critic MLP widths")
    raw_action_clip: float = Field(
        3.0, gt=0.0, description="decoder targets: pre-squash actions clipped to +-this"
    )
    reset_critic: bool = Field(False, description="re-initialise the critic at every encoder stage")

    @model_validator(mode="after")
    def _whole_unrolls(self) -> PPOConfig:
        segments = self.batch_size * self.num_minibatches
        if segments % self.num_envs:
            raise ValueError(
                f"batch_size * num_minibatches = {segments} segments must be a multiple of num_envs="
                f"{self.num_envs} (each unroll yields num_envs segments)"
            )
        if any(w <= 0 for w in self.critic_hidden):
            raise ValueError(f"critic_hidden: widths must be positive, got {self.critic_hidden}")
        return self

    @property
    def unrolls_per_iteration(self) -> int:
        """Unrolls of ``unroll_length`` steps over all envs per iteration."""
        return self.batch_size * self.num_minibatches // self.num_envs

    @property
    def steps_per_iteration(self) -> int:
        """Env steps collected per iteration."""
        return self.batch_size * self.num_minibatches * self.unroll_length


PRESETS: dict[str, dict[str, object]] = {
    # The GoRL encoder as the official code ran it (stage 0; later stages override clip and penalty).
    "paper": {},
    # Gaussian PPO with MuJoCo Playground's dm_control defaults (anchors.md section 1).
    "playground": {"clip_epsilon": 0.3, "lr": 1e-3, "penalty_coef": 0.0},
    # Gaussian PPO as the paper's baseline ran it.
    "paper-ppo": {"clip_epsilon": 0.1, "lr": 3e-4, "penalty_coef": 0.0},
    # A small CPU setting: 16 envs, 3,840 env steps and 32 gradient steps per iteration.
    "cpu": {
        "num_envs": 16,
        "batch_size": 32,
        "num_minibatches": 4,
        "update_epochs": 8,
        "critic_hidden": [256] * 3,
    },
}


def preset(name: str, **overrides: object) -> PPOConfig:
    """``PPOConfig`` of preset ``name`` with ``overrides``; an unknown name lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown PPO preset {name!r}; known: {', '.join(PRESETS)}")
    return PPOConfig.model_validate({**PRESETS[name], **overrides})
