"""SAC's cross-field rules on a resolved run, checked by ``gorl.train_config.resolve`` before anything is
built (registered with the optimiser: ``register("sac", ..., validate=validate)``)."""

from __future__ import annotations

from typing import Any

import gorl.decoders as decoders


def validate(plan: Any) -> None:
    """Refuses ``regularizer='action_entropy'`` in any stage whose decoder has weights.

    The squashed action's entropy is known in closed form only when ``a = squash(z)``: the identity
    decoder (``trainable = False``). Stage 0 acts through ``schedule.initial_decoder``; stages 1 on
    through ``schedule.decoder`` when one is fitted. The regulariser of stage k is the stage override's,
    or the optimiser config's.

    Args:
        plan: the ``gorl.train_config.RunPlan`` (``plan.optimizer`` a ``SACConfig``, ``plan.schedule``).

    Raises:
        ValueError: naming the regulariser's field and the schedule field that conflicts with it.
    """
    schedule = plan.schedule
    advice = "use regularizer 'kl' or 'entropy' there (GoRL(SAC)'s stages after the first refit use 'kl')"
    stages = max(len(schedule.stage_fractions), len(schedule.stage_overrides))
    for stage in range(stages):
        override = schedule.at(schedule.stage_overrides, stage)
        if override.get("regularizer", plan.optimizer.regularizer) != "action_entropy":
            continue
        where = (
            f"schedule.stage_overrides[{stage}].regularizer"
            if "regularizer" in override
            else "optimizer.regularizer"
        )
        if stage > 0 and schedule.decoder is not None:
            raise ValueError(
                f"{where}='action_entropy' in stage {stage} needs the identity decoder (the squashed "
                f"action's density is known only then), but schedule.decoder={schedule.decoder!r} is fitted "
                f"from stage 1 on: {advice}, or set schedule.decoder=null for one decoder throughout"
            )
        if stage == 0:
            options = schedule.decoder_options if schedule.initial_decoder_from is None else {}
            if schedule.decoder is not None and schedule.options_for != schedule.initial_decoder:
                options = {}
            probe = decoders.make(schedule.initial_decoder, obs_dim=2, action_dim=2, **options)
            if probe.trainable:
                raise ValueError(
                    f"{where}='action_entropy' needs the identity decoder (the squashed action's density "
                    f"is known only then), but schedule.initial_decoder={schedule.initial_decoder!r} has "
                    f"weights: {advice}"
                )
