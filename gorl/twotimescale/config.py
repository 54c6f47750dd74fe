"""``ScheduleConfig``: GoRL's stages, its refits and their data, as one validated config.

Stages end at fractions of the env-step budget (default 1/3, 1/3, 1/6, 1/6: the official 60/60/30/30M
of 180M). Stage 0 trains the encoder with the initial decoder (the identity, or a snapshot); each later
stage starts with a refit (``gorl.twotimescale.schedule``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from gorl.config import Config
from gorl.twotimescale.fit import FitConfig


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
    encoder_reset: Literal["fresh", "keep_features", "anchored"] = Field(
        "fresh",
        description="how a reset encoder returns to the prior: fresh hidden layers (official); the last "
        "stage's hidden layers kept under a zeroed output layer (keep_features); or the whole network kept "
        "and a frozen copy of it subtracted, loc scaled by 1 / the data policy's spread per dim (anchored: "
        "the encoder's step moves the action as far as in stage 0; needs an encoder with anchor_to_prior)",
    )
    reinit_decoder: bool = Field(True, description="refit each decoder from fresh weights (official)")
    stage_overrides: list[dict[str, Any]] = Field(
        default_factory=_no_overrides,
        description="optimizer config overrides at stage k (last value repeats); only fields the optimizer "
        "marks mutable (methods set them: official FM clip 0.15 then 0.3, penalty 5e-4 then 1e-3)",
    )
    pairing: Literal["independent", "coupled", "auto"] = Field(
        "independent",
        description="independent: each action with fresh noise drawn by the decoder's loss (the paper); "
        "coupled: each action with the standardised latent (z - mu(s)) / sigma(s) that produced it, still "
        "N(0, I) in distribution (needs a decoder whose couples trait is True; docs/gorl.md); auto: coupled "
        "when the fitted decoder couples, independent otherwise",
    )
    actions_per_state: int = Field(
        1,
        ge=1,
        le=256,
        description="actions drawn from the data policy (encoder and old decoder, no env step) at each "
        "refit state; 1 with independent pairs: the actions the rollout took",
    )
    raw_action_clip: float = Field(
        3.0, gt=0.0, description="decoder targets: unsquashed actions clipped to +-this (official 3)"
    )
    fidelity_states: int = Field(
        64,
        ge=0,
        description="refit states held out of the fit, on which the refitted policy is compared with the "
        "data policy (mean error, spread ratio, energy distance); 0: no comparison",
    )
    fidelity_samples: int = Field(256, ge=2, description="actions per held-out state for the comparison")
    fidelity_episodes: int = Field(
        16,
        ge=0,
        description="fresh episodes on which the data policy and the refitted policy are both run, "
        "deterministic and stochastic, at every refit; 0: none",
    )
    decoder_observations: Literal["running", "frozen"] = Field(
        "running",
        description="the observations a refitted decoder reads: normalised with the running statistics, "
        "which keep moving after its refit (the official code), or with those of its refit, frozen "
        "(gorl.algos.running_norm.Renormalize; the encoder and critic keep the running ones)",
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
