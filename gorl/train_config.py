"""The run configuration of ``gorl train``: one pydantic model, every field documented.

``TrainConfig`` holds what the user chose; ``resolve(config)`` turns it into a ``RunPlan`` of typed,
validated parts (the optimiser's config model, the schedule with every stage override checked, the
encoder and decoder options) before anything is built, so a typo anywhere fails at once and names the
field. Configs written before 0.2 (``ppo_preset`` / ``ppo``) load: they are the old names of
``optimizer_preset`` / ``optimizer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

import gorl.decoders as decoders
import gorl.encoders as encoders
import gorl.envs as envs
from gorl import methods
from gorl.algos import registry
from gorl.algos.schedule import ScheduleConfig
from gorl.config import Config

RENAMED = {"ppo_preset": "optimizer_preset", "ppo": "optimizer"}


class TrainConfig(Config):
    """Everything a run needs; written resolved to ``<out>/config.json``."""

    task: str = Field(
        "cheetah-run",
        description="[backend:]task: dm_control domain-task (cheetah-run), gym:Hopper-v5, torchrl:<factory>",
    )
    method: str = Field("gorl-fm", description="a name from `gorl list`: ppo, gorl-fm, sac, gorl-sac-fm, ...")
    total_steps: int = Field(
        100_000, ge=1, description="env-step budget for training (refit data not counted)"
    )
    seed: int = Field(0, ge=0, description="seeds torch, the envs and everything else")
    backend: str | None = Field(
        None,
        description="an env backend from `gorl list` (dmc, warp, gym, torchrl, plug-ins); None: the task's "
        "prefix, else dmc",
    )
    env_options: dict[str, Any] = Field(
        default_factory=dict,
        description="the backend's options, checked by its options model (dmc: workers; warp: graph, "
        "nconmax, njmax; gym: make_kwargs; torchrl: kwargs)",
    )
    device: str = Field("cpu", description="torch device of the networks (and of the warp env)")
    scale: Literal["auto", "cpu", "paper"] = Field(
        "auto",
        description="the method's settings: cpu (sample-efficient, few envs) or paper (official, GPU "
        "scale); auto: paper on a CUDA device, cpu otherwise",
    )
    optimizer_preset: str | None = Field(None, description="optimizer preset; None: the method's")
    optimizer: dict[str, Any] = Field(
        default_factory=dict, description="optimizer config fields on top of the preset (alias: ppo)"
    )
    schedule: dict[str, Any] = Field(
        default_factory=dict, description="ScheduleConfig fields on top of the method's"
    )
    encoder: dict[str, Any] = Field(default_factory=dict, description="the encoder's config options")
    episode_length: int | None = Field(
        None, ge=1, description="training episode length; None: the task's 1000"
    )
    eval_every: int = Field(50_000, ge=1, description="evaluate every this many env steps (and at the end)")
    eval_envs: int = Field(8, ge=1, description="parallel deterministic evaluation episodes")
    eval_episode_length: int | None = Field(
        None, ge=1, description="None: full episodes of the task's length"
    )
    checkpoint_every: int = Field(1, ge=1, description="write a checkpoint every this many iterations")
    checkpoint_every_steps: int = Field(
        20_000,
        ge=0,
        description="and at most once per this many env steps (0: no limit); a SAC checkpoint holds its "
        "replay buffer. Stage ends and refits always write one",
    )
    progress: bool = Field(True, description="show a progress bar")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None leaves torch's default")
    plot: bool = Field(True, description="write learning_curve.png into the run directory (needs matplotlib)")
    loggers: list[Literal["tensorboard", "wandb"]] = Field(
        default_factory=list,
        description="also send every metrics.jsonl record to these: tensorboard (<run>/tensorboard/, needs "
        "gorl[tensorboard]), wandb (offline, <run>/wandb/, needs gorl[wandb]); none by default",
    )

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in RENAMED):
            data = dict(data)
            for old, new in RENAMED.items():
                if old in data:
                    if new in data and data[new] not in (None, {}):
                        raise ValueError(f"give {new} or its old name {old}, not both")
                    data[new] = data.pop(old)
        return data

    @property
    def resolved_scale(self) -> Literal["cpu", "paper"]:
        """``scale`` with ``auto`` decided by the device."""
        if self.scale != "auto":
            return self.scale
        return "paper" if self.device.startswith("cuda") else "cpu"


@dataclass(frozen=True)
class RunPlan:
    """A ``TrainConfig`` resolved into validated parts."""

    method: methods.MethodSpec
    optimizer_name: str
    optimizer: Any  # the optimizer's config model instance
    schedule: ScheduleConfig
    encoder_name: str
    encoder_options: dict[str, Any]

    def dump(self) -> dict[str, Any]:
        """JSON-friendly form for ``config.json``."""
        return {
            "optimizer_name": self.optimizer_name,
            "optimizer": self.optimizer.model_dump(),
            "schedule": self.schedule.model_dump(),
            "encoder_name": self.encoder_name,
            "encoder": self.encoder_options,
        }


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra`` key by key: nested dicts merge, other values replace."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve(config: TrainConfig, *, check_files: bool = True) -> RunPlan:
    """Validates every nested part of ``config``; raises ``ValueError``/``ValidationError`` naming the
    field, or ``RegistryError`` for an unknown name, before anything is built.

    ``check_files``: also require the files the config reads (``schedule.initial_decoder_from``) to
    exist (``FileNotFoundError``). A benchmark suite expands its runs with ``False``: its runs may read
    files that another suite's runs write later; the ``Trainer`` always checks (and reads) them before
    it builds an env.
    """
    envs.check(config.task, config.backend, config.env_options)  # task, backend, options: builds nothing
    spec = methods.get(config.method, config.resolved_scale)
    opt_spec = registry.spec(spec.optimizer)
    preset = config.optimizer_preset or spec.preset
    try:
        opt_config = opt_spec.resolve(preset, {**spec.optimizer_overrides, **config.optimizer})
    except ValueError as e:
        raise ValueError(f"optimizer ({spec.optimizer}, preset {preset}): {e}") from e
    schedule = ScheduleConfig.model_validate(merge(spec.schedule, config.schedule))
    for k, overrides in enumerate(schedule.stage_overrides):
        opt_spec.check_overrides(opt_config, overrides, f"schedule.stage_overrides[{k}]")
    decoders.REGISTRY.get(schedule.initial_decoder)
    snapshot = schedule.initial_decoder_from
    if check_files and snapshot is not None and not Path(snapshot).is_file():
        raise FileNotFoundError(
            f"schedule.initial_decoder_from: no decoder snapshot at {snapshot} (a "
            "<run>/decoders/stage<k>.pt file, written by a run that fits decoders)"
        )
    # the name and the options of the decoder they configure, checked on a small instance
    try:
        decoders.make(schedule.options_for, obs_dim=2, action_dim=2, **schedule.decoder_options)
    except (ValueError, TypeError) as e:
        raise ValueError(f"schedule.decoder_options for {schedule.options_for!r}: {e}") from e
    encoder_options = {**spec.encoder_options, **config.encoder}  # the run's options over the method's
    try:
        probe = encoders.make(spec.encoder, obs_dim=2, latent_dim=2, **encoder_options)
    except (ValueError, TypeError) as e:
        raise ValueError(f"encoder options for {spec.encoder!r}: {e}") from e
    options = getattr(probe, "config", None)  # every option, defaults included, where the encoder has a model
    if isinstance(options, BaseModel):
        encoder_options = options.model_dump()
    return RunPlan(spec, spec.optimizer, opt_config, schedule, spec.encoder, encoder_options)
