"""The GoRL two-timescale schedule, written against the interfaces only.

Stage 0 trains the encoder with the identity decoder. Each later stage first refits the decoder on
fresh on-policy pairs from the current policy, with z ~ N(0, I) drawn by the decoder's own loss (never
from the encoder), then resets the encoder to the prior and trains it again with the new decoder frozen.
Stages end at fractions of the env-step budget (default 1/3, 1/3, 1/6, 1/6: the official 60/60/30/30M
of 180M). The schedule is a resumable state machine: ``ScheduleState`` says where it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from gorl.config import Config
from gorl.decoders.fit import FitConfig


class ScheduleConfig(Config):
    """Stages, refits and per-stage encoder settings."""

    stage_fractions: list[float] = Field(
        default=[1 / 3, 1 / 3, 1 / 6, 1 / 6],
        min_length=1,
        description="share of the budget per stage; sums to 1",
    )
    decoder: str | None = Field(
        "flow", description="decoder fitted from stage 1 on; None: identity throughout"
    )
    decoder_options: dict[str, Any] = Field(
        default_factory=dict, description="options of the decoder's config"
    )
    decoder_pairs: int = Field(65536, ge=16, description="on-policy (obs, action) pairs collected per refit")
    fit: FitConfig = Field(default_factory=lambda: FitConfig(), description="decoder training settings")
    reset_encoder: list[bool] = Field(
        default=[True],
        min_length=1,
        description="reset the encoder to the prior at stage k (last value repeats)",
    )
    reinit_decoder: bool = Field(True, description="refit each decoder from fresh weights (official)")
    stage_overrides: list[dict[str, Any]] = Field(
        default_factory=lambda: [
            {"clip_epsilon": 0.15, "penalty_coef": 5e-4},
            {"clip_epsilon": 0.3, "penalty_coef": 1e-3},
        ],
        description="optimizer config overrides at stage k (last value repeats); official FM: clip 0.15 "
        "then 0.3, penalty 5e-4 then 1e-3",
    )

    @model_validator(mode="after")
    def _fractions(self) -> ScheduleConfig:
        if any(f <= 0 for f in self.stage_fractions) or abs(sum(self.stage_fractions) - 1.0) > 1e-6:
            raise ValueError(f"stage_fractions must be positive and sum to 1, got {self.stage_fractions}")
        return self

    def at(self, values: list[Any], stage: int) -> Any:
        """``values[stage]``, the last value repeating."""
        return values[min(stage, len(values) - 1)]

    def stage_ends(self, total_steps: int) -> list[int]:
        """Cumulative env-step budget at which each stage ends."""
        ends, acc = [], 0.0
        for f in self.stage_fractions:
            acc += f
            ends.append(round(acc * total_steps))
        ends[-1] = total_steps
        return ends


@dataclass
class ScheduleState:
    """Where a run is: the stage and whether its decoder refit is still due."""

    stage: int = 0
    phase: Literal["refit", "encoder"] = "encoder"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for checkpoints."""
        return asdict(self)
