"""The run configuration of ``gorl train``: one pydantic model, every field documented.

``TrainConfig`` holds what the user chose; ``resolve(config)`` turns it into a ``RunPlan`` of typed,
validated parts (the optimiser's config model, the schedule with every stage override checked, the
encoder and decoder options, the optimiser's own cross-field rules) before anything is built, so a typo
anywhere fails at once and names the field. ``provenance(config)`` lists every effective setting with the
layer it came from (what ``gorl train --dry-run`` prints).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field

import gorl.decoders as decoders
import gorl.encoders as encoders
import gorl.envs as envs
from gorl import methods
from gorl.algos import registry
from gorl.config import Config
from gorl.interfaces.latent_policy import AnchoredLatentPolicy
from gorl.twotimescale import ScheduleConfig


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
        default_factory=dict, description="optimizer config fields on top of the preset"
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
    keep_checkpoints: list[int] = Field(
        default_factory=list,
        description="also keep the checkpoint at the first iteration at or past each of these env-step "
        "counts, as checkpoints/steps-<n>.pt: a GoRL run with the same stage 0 starts its first refit from "
        "it (stage0_from; gorl bench sets both for a suite's share_stage0)",
    )
    stage0_from: str | None = Field(
        None,
        description="the run directory of this GoRL run's baseline (same task, seed, budget and stage-0 "
        "settings) that kept a checkpoint at this run's first refit: the run starts there, with the "
        "baseline's metrics up to it, instead of training stage 0 again (gorl.stage0)",
    )
    progress: bool = Field(True, description="show a progress bar")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None leaves torch's default")
    plot: bool = Field(True, description="write learning_curve.png into the run directory (needs matplotlib)")
    loggers: list[Literal["tensorboard", "wandb"]] = Field(
        default_factory=list,
        description="also send every metrics.jsonl record to these: tensorboard (<run>/tensorboard/, needs "
        "gorl[tensorboard]), wandb (offline, <run>/wandb/, needs gorl[wandb]); none by default",
    )

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
    field, or ``RegistryError`` for an unknown name, before anything is built. Leaves torch's global random
    state as it found it (the probe decoders and encoders it builds draw their weights under a fork).

    ``check_files``: also require the files the config reads (``schedule.initial_decoder_from``) to
    exist (``FileNotFoundError``). A benchmark suite expands its runs with ``False``: its runs may read
    files that another suite's runs write later; the ``Trainer`` always checks (and reads) them before
    it builds an env.
    """
    with torch.random.fork_rng(devices=[]):
        return _resolve(config, check_files)


def _resolve(config: TrainConfig, check_files: bool) -> RunPlan:
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
        probe_decoder = decoders.make(
            schedule.options_for, obs_dim=2, action_dim=2, **schedule.decoder_options
        )
    except (ValueError, TypeError) as e:
        raise ValueError(f"schedule.decoder_options for {schedule.options_for!r}: {e}") from e
    if schedule.pairing == "coupled" and schedule.decoder is not None and not probe_decoder.couples:
        raise ValueError(
            f"schedule.pairing='coupled' needs a decoder that couples, but {schedule.decoder!r} has "
            "couples=False (its loss takes no noise): use pairing 'auto' or 'independent'"
        )
    encoder_options = {**spec.encoder_options, **config.encoder}  # the run's options over the method's
    try:
        probe = encoders.make(spec.encoder, obs_dim=2, latent_dim=2, **encoder_options)
    except (ValueError, TypeError) as e:
        raise ValueError(f"encoder options for {spec.encoder!r}: {e}") from e
    if schedule.encoder_reset == "anchored" and not isinstance(probe, AnchoredLatentPolicy):
        raise ValueError(
            f"schedule.encoder_reset='anchored' needs an encoder with anchor_to_prior, and {spec.encoder!r} "
            "has none: use 'fresh' or 'keep_features'"
        )
    options = getattr(probe, "config", None)  # every option, defaults included, where the encoder has a model
    if isinstance(options, BaseModel):
        encoder_options = options.model_dump()
    plan = RunPlan(spec, spec.optimizer, opt_config, schedule, spec.encoder, encoder_options)
    if opt_spec.validate is not None:  # the optimiser's rules across fields and parts
        opt_spec.validate(plan)
    from gorl import stage0  # it reads run directories through this module

    stage0.check_config(config, plan, check_files=check_files)
    return plan


@dataclass(frozen=True)
class Setting:
    """One effective setting of a run and the layer that gave it its value.

    Attributes:
        path: dotted, as ``--set`` takes it (``optimizer.lr``, ``schedule.fit.steps``), or
            ``stage[k].optimizer.<field>`` for a stage override, ``decoder.<option>`` for the fitted
            decoder's options (``schedule.decoder_options`` with the decoder's defaults).
        value: the value the run uses.
        source: ``default`` (the config model's), ``preset <name>``, ``method <name>``, ``stage override``
            (with the layer that set ``schedule.stage_overrides``), or the user's layer (``given``).
    """

    path: str
    value: Any
    source: str


_SECTIONS = ("optimizer", "schedule", "encoder")  # TrainConfig's dict fields, resolved into the plan


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"fit": {"steps": 1}}`` -> ``{"fit.steps": 1}``; lists and empty dicts are leaves."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _find(path: str, layer: Mapping[str, Any]) -> str | None:
    """The key of flattened ``layer`` that sets ``path``: the path itself or a dict above it."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in layer:
            return key
    return None


def provenance(config: TrainConfig, given: Mapping[str, str] | None = None) -> list[Setting]:
    """Every effective setting of ``config``'s run and where it came from, in the order of the layers
    ``resolve`` applies: config defaults < optimizer preset < method < ``config`` < stage overrides.

    Args:
        config: the run's config (it is resolved, so an invalid one raises as ``resolve`` does).
        given: the user's layer of each path they set (``{"optimizer.lr": "--set", "task": "config file
            a.yaml"}``; a dict above the path counts too); a field ``config`` sets that ``given`` does not
            name is labelled ``config``.

    Returns:
        One ``Setting`` per leaf: the run's top-level fields, ``optimizer_preset``, every optimizer field,
        every schedule field (nested ``fit`` fields one by one), ``stage[k].optimizer.<field>`` for each
        stage override, the fitted decoder's options (``decoder.<option>``) and the encoder's options.
    """
    plan = resolve(config)
    spec, given = plan.method, dict(given or {})
    method = f"method {config.method}"

    def user(path: str) -> str:
        key = _find(path, given)
        return given[key] if key is not None else "config"

    rows = [
        Setting(name, getattr(config, name), user(name) if name in config.model_fields_set else "default")
        for name in TrainConfig.model_fields
        if name not in _SECTIONS and name != "optimizer_preset"
    ]
    preset = config.optimizer_preset or spec.preset
    rows.append(
        Setting("optimizer_preset", preset, user("optimizer_preset") if config.optimizer_preset else method)
    )

    def section(name: str, values: Mapping[str, Any], layers: list[tuple[str, Mapping[str, Any]]]) -> None:
        """Rows for ``values`` under ``name``: the last layer (flattened) that sets a path is its source."""
        flat_layers = [(label, flatten(layer)) for label, layer in layers]
        for path, value in flatten(values).items():
            source = "default"
            for label, layer in flat_layers:
                if _find(path, layer) is not None:
                    source = user(f"{name}.{path}") if label == "user" else label
            rows.append(Setting(f"{name}.{path}", value, source))

    presets = registry.spec(plan.optimizer_name).presets
    section(
        "optimizer",
        plan.optimizer.model_dump(),
        [
            (f"preset {preset}", presets.get(preset, {})),
            (method, spec.optimizer_overrides),
            ("user", config.optimizer),
        ],
    )
    schedule = plan.schedule
    section("schedule", schedule.model_dump(), [(method, spec.schedule), ("user", config.schedule)])
    override_source = next(r.source for r in rows if r.path == "schedule.stage_overrides")
    for k in range(len(schedule.stage_fractions)):
        for field, value in schedule.at(schedule.stage_overrides, k).items():
            rows.append(
                Setting(f"stage[{k}].optimizer.{field}", value, f"stage override ({override_source})")
            )
    if schedule.initial_decoder_from is None or schedule.decoder is not None:
        probe = decoders.make(schedule.options_for, obs_dim=2, action_dim=2, **schedule.decoder_options)
        options = getattr(probe, "config", None)
        if isinstance(options, BaseModel):
            set_by = [(method, flatten(spec.schedule)), ("user", flatten(config.schedule))]
            for path, value in flatten(options.model_dump()).items():
                source = "default"
                for label, layer in set_by:
                    if _find(f"decoder_options.{path}", layer) is not None:
                        source = user(f"schedule.decoder_options.{path}") if label == "user" else label
                rows.append(Setting(f"decoder.{path}", value, source))
    section("encoder", plan.encoder_options, [(method, spec.encoder_options), ("user", config.encoder)])
    return rows
