"""The decoders of one run: built by registry name with the schedule's options on the run's device,
stage 0's from a snapshot or fresh, and each refit's written to ``<out>/decoders/stage<k>.pt``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import gorl.decoders as decoders
from gorl.decoders import snapshot
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.twotimescale.config import ScheduleConfig


def read_initial(schedule: ScheduleConfig) -> dict[str, Any] | None:
    """The decoder snapshot ``schedule.initial_decoder_from`` names, checked against the schedule (before
    any env is built); None when there is none."""
    path = schedule.initial_decoder_from
    return None if path is None else snapshot.read_initial(path, schedule.initial_decoder)


class RunDecoders:
    """Builds a run's decoders for ``obs_dim`` observations and ``action_dim`` actions on ``device``;
    ``initial_snapshot`` is ``read_initial(schedule)``."""

    def __init__(
        self,
        schedule: ScheduleConfig,
        initial_snapshot: dict[str, Any] | None,
        dims: tuple[int, int],
        device: torch.device,
        origin: dict[str, Any],
    ) -> None:
        self.schedule, self.initial_snapshot = schedule, initial_snapshot
        self.obs_dim, self.action_dim = dims
        self.device = device
        self.origin = origin  # task, method, seed: written into each snapshot

    def options(self, name: str) -> dict[str, Any]:
        """The options decoder ``name`` is built with (``decoder_options`` go to the decoder that is
        fitted, or to the initial one when none is)."""
        return dict(self.schedule.decoder_options) if name == self.schedule.options_for else {}

    def make(self, name: str | None) -> GenerativeDecoder:
        """A freshly initialised decoder ``name`` (what a refit fits); writes nothing."""
        if name is None:
            raise ValueError("make_decoder needs a decoder name; this schedule names none (schedule.decoder)")
        decoder = decoders.make(name, obs_dim=self.obs_dim, action_dim=self.action_dim, **self.options(name))
        return decoder.to(self.device)  # type: ignore[attr-defined, no-any-return]

    def initial(self) -> GenerativeDecoder:
        """Stage 0's decoder: the snapshot's (its weights loaded), or a fresh ``initial_decoder``."""
        if self.initial_snapshot is None:
            return self.make(self.schedule.initial_decoder)
        dims = (self.obs_dim, self.action_dim, self.action_dim)
        path = self.schedule.initial_decoder_from
        return snapshot.build_initial(self.initial_snapshot, path, dims, self.origin["task"], self.device)

    def write(self, out: Path, decoder: GenerativeDecoder, stage: int, env_steps: int) -> None:
        """Writes ``decoder``, the one the refit before ``stage`` fitted, to ``decoders/stage<k>.pt``,
        atomically."""
        name = self.schedule.decoder
        assert name is not None
        path = out / "decoders" / f"stage{stage}.pt"
        snapshot.write(
            path, decoder, name, self.options(name), **self.origin, stage=stage, env_steps=env_steps
        )
