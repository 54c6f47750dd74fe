"""GoRL's two-timescale method as one object: encoder stages alternating with decoder refits.

``TwoTimescale`` owns what makes a run GoRL rather than plain PPO or SAC:

* the stage plan: where each stage ends, each stage's optimiser overrides;
* where the run is: ``stage`` and ``phase`` (``"encoder"``: training the encoder of ``stage``;
  ``"refit"``: the refit before ``stage`` is due), checkpointed with ``state_dict``;
* which encoder the refit data comes from: the stage's best-evaluated one (``data_from_best``) or the
  last;
* the refit: fresh on-policy states from the optimiser, pairs drawn as the config says
  (``gorl.twotimescale.pairs``), the fit (``gorl.twotimescale.fit``), the pairing with the new decoder,
  the encoder reset to the prior, and the optimiser told of the new decoder
  (``LatentOptimizer.bind(..., new_decoder=True)``);
* its record: fit figures, fidelity of the refitted policy to the data policy on held-out states, and
  both policies' returns on the same fresh episodes (``gorl.twotimescale.fidelity``), and how far the
  observation normaliser's moments moved since the previous refit;
* what the refitted decoder reads: observations normalised with the running statistics, or with those
  of its refit (``decoder_observations``), the moments kept in this object's state.

The Trainer keeps I/O, evaluation, checkpoints and the loop; it asks this object what to do next.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

from gorl.algos.running_norm import Renormalize, RunningNorm, moment_drift
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.latent_policy import AnchoredLatentPolicy
from gorl.interfaces.optimizer import LatentOptimizer, ObservationNormalizing
from gorl.interfaces.policy import ActingPolicy
from gorl.twotimescale.config import ScheduleConfig
from gorl.twotimescale.fidelity import action_fidelity
from gorl.twotimescale.fit import fit_decoder
from gorl.twotimescale.pairs import RefitPairs, draw_pairs, policy_spread

Phase = Literal["encoder", "refit"]
# returns (num_episodes,) of a policy on the refit's fresh episodes; the bool: deterministic
EpisodeReturns = Callable[[ActingPolicy, bool], Tensor]


class TwoTimescale:
    """The schedule of one run; see the module docstring.

    Args:
        config: the validated ``ScheduleConfig``.
        total_steps: the run's env-step budget.
        new_decoder: builds a freshly initialised decoder of ``config.decoder`` (on the run's device).
        seed: the run's seed (fits and pair draws are seeded from it and the stage).
    """

    def __init__(
        self,
        config: ScheduleConfig,
        total_steps: int,
        new_decoder: Callable[[], GenerativeDecoder],
        seed: int,
    ) -> None:
        self.config, self.seed, self._new_decoder = config, seed, new_decoder
        self.ends = config.stage_ends(total_steps)
        self.stage, self.phase = 0, "encoder"
        self.best_encoder: dict[str, Any] | None = None  # the stage's best-evaluated encoder
        self.stage_returns: list[float] = []  # the stage's evaluation returns so far
        self._couples: bool | None = None  # the fitted decoder's couples trait, read at the first refit
        # the observation normaliser's (mean, var) at the last refit (CPU, float64); None before one
        self.refit_moments: tuple[Tensor, Tensor] | None = None

    # -- the plan --------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the last stage has ended."""
        return self.stage >= len(self.ends)

    def stage_end(self, stage: int | None = None) -> int:
        """The env-step count at which ``stage`` (default: the current one) ends."""
        return self.ends[min(self.stage if stage is None else stage, len(self.ends) - 1)]

    def overrides(self, stage: int | None = None) -> dict[str, Any]:
        """The optimiser overrides of ``stage`` (default: the current one)."""
        return dict(self.config.at(self.config.stage_overrides, self.stage if stage is None else stage))

    def bind(self, learner: LatentOptimizer, policy: ActingPolicy, *, new_decoder: bool = False) -> None:
        """Binds ``learner`` to ``policy`` with the current stage's overrides and end."""
        stage = min(self.stage, len(self.ends) - 1)
        learner.bind(policy, self.overrides(stage), self.stage_end(stage), new_decoder=new_decoder)

    # -- stage bookkeeping -----------------------------------------------------------------------
    def observe(self, policy: ActingPolicy, return_mean: float) -> None:
        """Records an evaluation of the current stage's encoder (keeps a copy of the best one)."""
        if not self.stage_returns or return_mean > max(self.stage_returns):
            self.best_encoder = copy.deepcopy(policy.encoder.state_dict())
        self.stage_returns.append(return_mean)

    def end_stage(self) -> None:
        """The current stage reached its end: the refit before the next one is due."""
        self.stage += 1
        self.phase = "refit"

    # -- the decoder phase -----------------------------------------------------------------------
    def refit(
        self,
        learner: LatentOptimizer,
        policy: ActingPolicy,
        *,
        episodes: EpisodeReturns | None = None,
        progress: bool = False,
    ) -> tuple[ActingPolicy, dict[str, Any] | None]:
        """The decoder phase before the current stage; returns the policy to train and its record.

        Without a decoder to fit (``config.decoder`` None) the policy is returned as it is, rebound for
        the new stage, with no record.
        """
        cfg, stage = self.config, self.stage
        returns_before = list(self.stage_returns)
        if cfg.data_from_best and self.best_encoder is not None:
            policy.encoder.load_state_dict(self.best_encoder)
        self.best_encoder, self.stage_returns = None, []
        self.phase = "encoder"
        if cfg.decoder is None:
            self.bind(learner, policy)
            return policy, None
        t0 = time.perf_counter()
        coupled = cfg.pairing == "coupled" or (cfg.pairing == "auto" and self._decoder_couples())
        pairs, held_out = self._pairs(learner, policy, coupled)
        data_policy = copy.deepcopy(policy)  # as the data came from it (the fit may train its decoder)
        decoder = policy.decoder if stage > 1 and not cfg.reinit_decoder else self._new_decoder()
        decoder.requires_grad_(True)
        fit_cfg = cfg.fit.model_copy(update={"seed": self.seed * 1000 + stage, "progress": progress})
        report = fit_decoder(decoder, pairs.obs, pairs.action, fit_cfg, noise=pairs.noise)
        decoder.requires_grad_(False)
        if cfg.at(cfg.reset_encoder, stage):
            self._reset_encoder(data_policy, policy, pairs.obs)
        record: dict[str, Any] = {
            "kind": "refit",
            "stage": stage,
            "pairs": len(pairs),
            "pairing": "coupled" if coupled else "independent",
            "data_and_fit_wall_time": time.perf_counter() - t0,
            **report.summary(),
        }
        norm = self._observation_norm(learner)
        if norm is not None:  # the decoder was fitted on observations under these moments
            if self.refit_moments is not None:
                record |= moment_drift(*self.refit_moments, norm.mean, norm.var, norm.eps)
            self.refit_moments = (norm.mean.detach().cpu().clone(), norm.var.detach().cpu().clone())
        refitted = self._paired(policy, decoder, norm)
        record |= self._fidelity(data_policy, refitted, held_out, episodes)
        if returns_before:  # the data encoder's evaluation: its stage's best (the first of equals), or last
            last = len(returns_before) - 1
            pick = returns_before.index(max(returns_before)) if cfg.data_from_best else last
            record["return_before_refit"] = returns_before[pick]
            # how many of the stage's evaluations came after the data encoder's: the updates a best-encoder
            # refit threw away (0: the stage's last encoder)
            record["data_evals_after"] = last - pick
        record["seconds"] = time.perf_counter() - t0
        self.bind(learner, refitted, new_decoder=True)
        return refitted, record

    def check(self, learner: LatentOptimizer) -> None:
        """Raises TypeError now, before anything runs, where the refits could not work with ``learner``
        (``decoder_observations="frozen"`` with an optimiser that does not expose its normaliser)."""
        self._observation_norm(learner)

    def restore(self, policy: ActingPolicy, learner: LatentOptimizer) -> ActingPolicy:
        """``policy`` (its decoder's weights loaded from a checkpoint) reading the observations its
        decoder was fitted on; call after ``load_state_dict``, before ``bind``. Unchanged unless a
        refitted decoder reads frozen observations."""
        if self.config.decoder_observations != "frozen" or self.refit_moments is None:
            return policy
        return self._paired(policy, policy.decoder, self._observation_norm(learner))

    def _observation_norm(self, learner: LatentOptimizer) -> RunningNorm | None:
        """The learner's running normaliser (None when it normalises nothing); with
        ``decoder_observations="frozen"`` a learner must expose it."""
        if isinstance(learner, ObservationNormalizing):
            norm: RunningNorm | None = learner.observation_norm
            return norm
        if self.config.decoder_observations == "frozen":
            raise TypeError(
                f"decoder_observations='frozen' needs an optimiser that exposes its observation "
                f"normaliser (observation_norm); {type(learner).__name__} does not: use 'running'"
            )
        return None

    def _paired(
        self, policy: ActingPolicy, decoder: GenerativeDecoder, norm: RunningNorm | None
    ) -> ActingPolicy:
        """``policy``'s encoder with ``decoder``, which reads observations under the last refit's
        moments when ``decoder_observations`` is frozen (and observations are normalised)."""
        if (
            self.config.decoder_observations == "frozen"
            and norm is not None
            and self.refit_moments is not None
        ):
            return policy.with_decoder(decoder, decoder_obs=Renormalize(norm, *self.refit_moments))
        return policy.with_decoder(decoder)

    def _reset_encoder(self, data_policy: ActingPolicy, policy: ActingPolicy, obs: Tensor) -> None:
        """Returns ``policy``'s encoder to the prior as ``config.encoder_reset`` says; anchored: with loc
        gain 1 / the data policy's spread per action dim (its mean when latent and action dims differ),
        measured on up to 1,024 refit states under a seeded generator."""
        how, encoder = self.config.encoder_reset, policy.encoder
        if how != "anchored":
            encoder.reset_to_prior(keep_features=how == "keep_features")
            return
        if not isinstance(encoder, AnchoredLatentPolicy):
            raise TypeError(
                f"encoder_reset='anchored' needs an encoder with anchor_to_prior(gain); "
                f"{type(encoder).__name__} has none: use 'fresh' or 'keep_features'"
            )
        gen = torch.Generator(device=obs.device).manual_seed(self.seed * 1000 + self.stage + 900)
        spread = policy_spread(
            data_policy, obs[:1024], generator=gen, raw_action_clip=self.config.raw_action_clip
        )
        if spread.shape[-1] != encoder.latent_dim:
            spread = spread.mean().expand(encoder.latent_dim)
        encoder.anchor_to_prior(1.0 / spread.clamp_min(1e-3))

    def _decoder_couples(self) -> bool:
        """The fitted decoder's ``couples`` trait, read once from a probe built under a forked RNG (so
        that the run's random stream is the same whatever the pairing)."""
        if self._couples is None:
            with torch.random.fork_rng(devices=[]):
                self._couples = bool(self._new_decoder().couples)
        return self._couples

    def _pairs(
        self, learner: LatentOptimizer, policy: ActingPolicy, coupled: bool
    ) -> tuple[RefitPairs, Tensor | None]:
        """The fit's pairs, and the held-out states for the fidelity measures (None when off)."""
        cfg = self.config
        n_states = -(-cfg.decoder_pairs // cfg.actions_per_state)  # ceil
        obs, act = learner.decoder_data(n_states + cfg.fidelity_states)
        held_out = obs[n_states:] if cfg.fidelity_states > 0 and obs.shape[0] > n_states else None
        obs, act = obs[:n_states], act[:n_states]
        if cfg.actions_per_state == 1 and not coupled:
            return RefitPairs(obs, act.clamp(-cfg.raw_action_clip, cfg.raw_action_clip)), held_out
        gen = torch.Generator(device=obs.device).manual_seed(self.seed * 1000 + self.stage + 500)
        pairs = draw_pairs(
            policy,
            obs,
            cfg.actions_per_state,
            coupled=coupled,
            raw_action_clip=cfg.raw_action_clip,
            generator=gen,
        )
        return pairs, held_out

    def _fidelity(
        self,
        data_policy: ActingPolicy,
        refitted: ActingPolicy,
        held_out: Tensor | None,
        episodes: EpisodeReturns | None,
    ) -> dict[str, Any]:
        cfg, out = self.config, dict[str, Any]()
        with torch.random.fork_rng(devices=[]):  # measuring leaves the run's random stream alone
            torch.manual_seed(self.seed * 1000 + self.stage + 700)
            if held_out is not None:
                out |= action_fidelity(data_policy, refitted, held_out, cfg.fidelity_samples).record()
            if episodes is not None and cfg.fidelity_episodes > 0:
                for name, pol in (("data", data_policy), ("refit", refitted)):
                    for mode, det in (("det", True), ("stoch", False)):
                        out[f"return_{name}_{mode}"] = float(episodes(pol, det).mean())
                if out["return_data_det"] > 0:
                    out["return_kept_det"] = out["return_refit_det"] / out["return_data_det"]
        return out

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Stage, phase, the stage's evaluation bookkeeping and the last refit's observation moments."""
        return {
            "stage": self.stage,
            "phase": self.phase,
            "best_encoder": self.best_encoder,
            "stage_returns": list(self.stage_returns),
            "refit_moments": self.refit_moments,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict``."""
        self.stage, self.phase = int(state["stage"]), state["phase"]
        self.best_encoder = state["best_encoder"]
        self.stage_returns = list(state["stage_returns"])
        moments = state.get("refit_moments")  # absent from checkpoints written before it was kept
        self.refit_moments = None if moments is None else (moments[0], moments[1])
