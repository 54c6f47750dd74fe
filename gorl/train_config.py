"""The run configuration of ``gorl train``: one pydantic model, every field documented."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gorl.config import Config


class TrainConfig(Config):
    """Everything a run needs; written resolved to ``<out>/config.json``."""

    task: str = Field("cheetah-run", description="dm_control domain-task, e.g. cheetah-run, finger-turn_hard")
    method: str = Field("gorl-fm", description="ppo, gorl-fm, gorl-diff or gorl-<registered decoder>")
    total_steps: int = Field(
        100_000, ge=1, description="env-step budget for training (refit data not counted)"
    )
    seed: int = Field(0, ge=0, description="seeds torch, the envs and everything else")
    backend: Literal["dmc", "warp"] = Field(
        "dmc", description="dmc: dm_control on the CPU; warp: MuJoCo Warp"
    )
    device: str = Field("cpu", description="torch device of the networks (and of the warp env)")
    ppo_preset: str | None = Field(
        None, description="PPO preset; None takes the method's (paper / playground)"
    )
    ppo: dict[str, Any] = Field(
        default_factory=lambda: {
            "num_envs": 16,
            "batch_size": 32,
            "num_minibatches": 4,
            "update_epochs": 8,
            "critic_hidden": [256] * 3,
        },
        description="PPOConfig overrides on top of the preset (CPU-sized by default)",
    )
    schedule: dict[str, Any] = Field(
        default_factory=lambda: {"decoder_pairs": 16_384, "fit": {"steps": 500, "batch_size": 1024}},
        description="ScheduleConfig overrides on the method's (CPU-sized refits by default)",
    )
    encoder: dict[str, Any] = Field(default_factory=dict, description="GaussianEncoderConfig options")
    episode_length: int | None = Field(
        None, ge=1, description="training episode length; None: the task's 1000"
    )
    eval_every: int = Field(50_000, ge=1, description="evaluate every this many env steps (and at the end)")
    eval_envs: int = Field(8, ge=1, description="parallel deterministic evaluation episodes")
    eval_episode_length: int | None = Field(
        None, ge=1, description="None: full episodes of the task's length"
    )
    checkpoint_every: int = Field(1, ge=1, description="write a checkpoint every this many iterations")
    progress: bool = Field(True, description="show a progress bar")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None leaves torch's default")
