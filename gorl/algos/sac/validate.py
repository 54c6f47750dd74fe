"""SAC's cross-field rules on a resolved run, checked by ``gorl.train_config.resolve`` before anything is
built (registered with the optimiser: ``register("sac", ..., validate=validate)``)."""

from __future__ import annotations

from typing import Any

import gorl.decoders as decoders


def validate(plan: Any) -> None:
    """Refuses ``regularizer='action_entropy'`` unless every stage acts through a decoder without weights.

    The squashed action's entropy is known in closed form only when ``a = squash(z)``: the identity
    decoder (``trainable = False``). With a fitted decoder (``schedule.decoder`` not None) the first refit
    would fail inside ``bind``; with a trainable initial decoder, the first ``bind``.

    Args:
        plan: the ``gorl.train_config.RunPlan`` (``plan.optimizer`` a ``SACConfig``, ``plan.schedule``).

    Raises:
        ValueError: naming ``optimizer.regularizer`` and the schedule field that conflicts with it.
    """
    if plan.optimizer.regularizer != "action_entropy":
        return
    schedule = plan.schedule
    advice = "use optimizer.regularizer='kl' or 'entropy' (GoRL(SAC)'s default is 'kl')"
    if schedule.decoder is not None:
        raise ValueError(
            "optimizer.regularizer='action_entropy' needs the identity decoder in every stage (the squashed "
            f"action's density is known only then), but schedule.decoder={schedule.decoder!r} is fitted from "
            f"stage 1 on: {advice}, or set schedule.decoder=null for one decoder throughout"
        )
    options = schedule.decoder_options if schedule.initial_decoder_from is None else {}
    probe = decoders.make(schedule.initial_decoder, obs_dim=2, action_dim=2, **options)
    if getattr(probe, "trainable", True):
        raise ValueError(
            "optimizer.regularizer='action_entropy' needs the identity decoder (the squashed action's "
            f"density is known only then), but schedule.initial_decoder={schedule.initial_decoder!r} has "
            f"weights: {advice}"
        )
