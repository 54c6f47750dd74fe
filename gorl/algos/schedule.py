"""The GoRL two-timescale schedule: stages, and the decoder refit between them.

Stage 0 trains the encoder with the initial decoder: the identity, or a decoder snapshot that another
run's refit wrote (``initial_decoder_from``; the decoder-stage study). Each later stage first refits the
decoder on fresh on-policy pairs from the current policy, with z ~ N(0, I) drawn by the decoder's own loss
(never from the encoder), then resets the encoder to the prior and trains it again with the new decoder
frozen.
Stages end at fractions of the env-step budget (default 1/3, 1/3, 1/6, 1/6: the official 60/60/30/30M
of 180M). The schedule is a resumable state machine: ``ScheduleState`` says where it is. ``refit``
is the decoder phase; it talks to the optimiser and the policy through their interfaces only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from gorl.algos.fit import FitConfig, fit_decoder
from gorl.config import Config
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.optimizer import LatentOptimizer


def _no_overrides() -> list[dict[str, Any]]:
    return [{}]


class ScheduleConfig(Config):
    """Stages, refits and per-stage encoder settings."""

    stage_fractions: list[float] = Field(
        default=[1 / 3, 1 / 3, 1 / 6, 1 / 6],
        min_length=1,
        description="share of the budget per stage; sums to 1",
    )
    initial_decoder: str = Field("identity", description="the decoder of stage 0")
    initial_decoder_from: str | None = Field(
        None,
        description="a decoder snapshot (<run>/decoders/stage<k>.pt, written by a run's refits) to start "
        "stage 0 with: built by the file's name and options, its weights loaded; initial_decoder must "
        "name the file's decoder. None: a freshly initialised initial_decoder",
    )
    decoder: str | None = Field(
        "flow", description="decoder fitted from stage 1 on; None: the initial decoder throughout"
    )
    decoder_options: dict[str, Any] = Field(
        default_factory=dict,
        description="options of the fitted decoder's config (of the initial decoder when none is fitted)",
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
        default_factory=_no_overrides,
        description="optimizer config overrides at stage k (last value repeats); only fields the optimizer "
        "marks mutable (methods set them: official FM clip 0.15 then 0.3, penalty 5e-4 then 1e-3)",
    )
    data_from_best: bool = Field(
        True,
        description="collect refit data with the stage's best-evaluated encoder (the official code restarts "
        "from its best checkpoint), not the last one",
    )

    @model_validator(mode="after")
    def _fractions(self) -> ScheduleConfig:
        if any(f <= 0 for f in self.stage_fractions) or abs(sum(self.stage_fractions) - 1.0) > 1e-6:
            raise ValueError(f"stage_fractions must be positive and sum to 1, got {self.stage_fractions}")
        if self.initial_decoder_from is not None:
            if not self.initial_decoder_from.strip():
                raise ValueError("initial_decoder_from must be a path to a decoder snapshot, or None")
            if self.decoder is None and self.decoder_options:
                raise ValueError(
                    "decoder_options configure the initial decoder when no decoder is fitted, but with "
                    "initial_decoder_from its options come from the snapshot file: leave decoder_options "
                    f"empty (got {self.decoder_options})"
                )
        return self

    @property
    def options_for(self) -> str:
        """The decoder that ``decoder_options`` configure."""
        return self.decoder if self.decoder is not None else self.initial_decoder

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


def refit(
    schedule: ScheduleConfig,
    learner: LatentOptimizer,
    policy: Any,
    stage: int,
    new_decoder: Callable[[], GenerativeDecoder],
    *,
    stage_end: int,
    seed: int,
    progress: bool,
) -> tuple[Any, dict[str, Any]]:
    """The decoder phase before ``stage``: fit a decoder on fresh on-policy pairs, pair it, rebind.

    ``policy`` is the composite the learner is bound to (its encoder is the one to collect with). The
    decoder is fitted on ``(normalised obs, raw action)`` pairs with z ~ N(0, I) drawn by its own loss
    (never the encoder's). Returns the new composite (bound to ``learner`` with the stage's overrides,
    the encoder reset to the prior where the schedule says so) and a log record.
    """
    t0 = time.perf_counter()
    assert schedule.decoder is not None
    obs, act = learner.decoder_data(schedule.decoder_pairs)
    # reinit_decoder off: keep refining the decoder fitted at stage 1
    decoder = policy.decoder if stage > 1 and not schedule.reinit_decoder else new_decoder()
    decoder.requires_grad_(True)
    fit_cfg = schedule.fit.model_copy(update={"seed": seed * 1000 + stage, "progress": progress})
    report = fit_decoder(decoder, obs, act, fit_cfg)
    policy = policy.with_decoder(decoder)
    if schedule.at(schedule.reset_encoder, stage):
        policy.encoder.reset_to_prior()
    learner.bind(policy, schedule.at(schedule.stage_overrides, stage), stage_end, new_decoder=True)
    record = {
        "kind": "refit",
        "stage": stage,
        "pairs": int(obs.shape[0]),
        "seconds": time.perf_counter() - t0,
        **report.summary(),
    }
    return policy, record
