"""A GoRL run's stage 0 taken from its baseline's run instead of trained again.

GoRL's stage 0 is its baseline's run, setting for setting (``gorl.methods``): with the same task, seed
and budget, the two runs are the same numbers up to GoRL's first refit
(``test_stage_zero_is_the_baseline_run_up_to_the_first_refit``). So a GoRL run need not train that
stretch: the baseline's run keeps a copy of its checkpoint where GoRL's stage 0 ends
(``TrainConfig.keep_checkpoints``), and the GoRL run (``TrainConfig.stage0_from``) starts from that copy
at its first refit, with the baseline's metrics up to there. Bit for bit, it is the run it would have
been (``test_a_run_from_its_baselines_stage_0_is_the_run_itself``); a paired benchmark costs one stage 0
per seed instead of one per method.

What must agree for that (``shared_settings``): everything a run's stage 0 depends on: the task, seed,
budget, env and evaluation settings, the encoder, the initial decoder, and the optimiser's config with
stage 0's overrides applied. An optimiser that anneals its learning rate to its stage's end cannot share:
the baseline's one stage ends at the budget, GoRL's stage 0 at its first refit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gorl.checkpoint import CheckpointError, load_checkpoint
from gorl.run_dir import check_format, read_config
from gorl.train_config import RunPlan, TrainConfig, flatten, resolve

KEPT_DIR = "checkpoints"
# TrainConfig fields that leave stage 0's numbers alone (or are compared resolved, through the plan)
_NOT_STAGE0 = frozenset(
    {
        "method",
        "scale",
        "optimizer_preset",
        "optimizer",
        "schedule",
        "encoder",
        "checkpoint_every",
        "checkpoint_every_steps",
        "keep_checkpoints",
        "stage0_from",
        "progress",
        "threads",
        "plot",
        "loggers",
    }
)


def kept_path(run_dir: str | Path, steps: int) -> Path:
    """Where a run keeps the copy of its checkpoint asked for at ``steps`` env steps."""
    return Path(run_dir) / KEPT_DIR / f"steps-{steps}.pt"


def will_keep(run_dir: str | Path, steps: int) -> bool:
    """True if the run in ``run_dir`` kept, or will keep, a checkpoint at ``steps``: it has the file, it
    has not started, or it started with ``steps`` in its ``keep_checkpoints`` and has not finished (a
    finished run without the file lost it: kept checkpoints are not committed with a suite's results)."""
    run_dir = Path(run_dir)
    if kept_path(run_dir, steps).is_file() or not (run_dir / "config.json").is_file():
        return True
    if (run_dir / "summary.json").is_file():
        return False
    return steps in read_config(run_dir).keep_checkpoints


def first_refit(plan: RunPlan, total_steps: int) -> int:
    """The env-step count at which the plan's stage 0 ends (its first refit)."""
    return plan.schedule.stage_ends(total_steps)[0]


def shared_settings(config: TrainConfig, plan: RunPlan) -> dict[str, Any]:
    """Everything the numbers of ``config``'s stage 0 depend on; two runs with equal settings train the
    same stage 0."""
    schedule = plan.schedule
    return {
        **{k: v for k, v in config.model_dump().items() if k not in _NOT_STAGE0},
        "optimizer_name": plan.optimizer_name,
        "optimizer": {**plan.optimizer.model_dump(), **schedule.at(schedule.stage_overrides, 0)},
        "encoder_name": plan.encoder_name,
        "encoder": plan.encoder_options,
        "initial_decoder": schedule.initial_decoder,
        "initial_decoder_from": schedule.initial_decoder_from,
    }


def check_config(config: TrainConfig, plan: RunPlan, *, check_files: bool) -> None:
    """``keep_checkpoints`` inside the budget; ``stage0_from`` only for a run with a refit, and (with
    ``check_files``) naming a run that kept a checkpoint at this run's first refit. Called by
    ``resolve``."""
    outside = [n for n in config.keep_checkpoints if not 0 < n < config.total_steps]
    if outside:
        raise ValueError(
            f"keep_checkpoints: {outside} outside the run's budget (1 to {config.total_steps - 1} env steps)"
        )
    if config.stage0_from is None:
        return
    _check_refits(config, plan, "stage0_from")
    first = first_refit(plan, config.total_steps)
    kept = kept_path(config.stage0_from, first)
    if check_files and not kept.is_file():
        raise FileNotFoundError(
            f"stage0_from: no checkpoint kept at this run's first refit ({kept}); its baseline run needs "
            f"keep_checkpoints: [{first}] from its start"
        )


def _check_refits(config: TrainConfig, plan: RunPlan, who: str) -> None:
    if plan.schedule.decoder is None or len(plan.schedule.stage_fractions) < 2:
        raise ValueError(f"{who}: {config.method} has no refit, so no stage 0 to take from another run")


def check_shareable(config: TrainConfig, plan: RunPlan, base: TrainConfig, base_plan: RunPlan) -> None:
    """Raises ValueError, naming each setting, unless ``config``'s stage 0 is ``base``'s run."""
    who = f"stage0_from: {config.method} cannot start from {base.method}'s run"
    _check_refits(config, plan, who)
    if len(base_plan.schedule.stage_fractions) != 1 or base_plan.schedule.decoder is not None:
        raise ValueError(f"{who}: {base.method} is not a one-stage run without refits")
    if getattr(plan.optimizer, "anneal_lr", False):
        raise ValueError(
            f"{who}: the optimiser anneals its learning rate to the stage's end, which is the budget for "
            f"{base.method} and the first refit for {config.method} (set optimizer.anneal_lr=false)"
        )
    ours, theirs = flatten(shared_settings(config, plan)), flatten(shared_settings(base, base_plan))
    differ = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if differ:
        raise ValueError(f"{who}: their stage 0 settings differ in {', '.join(differ)}")


def read_stage0(config: TrainConfig, plan: RunPlan) -> tuple[dict[str, Any], bytes]:
    """The baseline run's kept checkpoint at ``config``'s first refit and its metrics up to there, after
    checking that the two runs share stage 0. Raises ``CheckpointError`` (no such checkpoint, or an
    unreadable one) or ValueError (the runs differ)."""
    assert config.stage0_from is not None
    base_dir = Path(config.stage0_from)
    base = read_config(base_dir)
    check_shareable(config, plan, base, resolve(base, check_files=False))
    # the checkpoint's absence is refused earlier, by ``resolve`` (``check_config``)
    return read_kept(base_dir, first_refit(plan, config.total_steps), who="stage0_from: ")


def read_kept(run_dir: Path, steps: int, who: str = "") -> tuple[dict[str, Any], bytes]:
    """The checkpoint ``run_dir`` kept at ``steps`` env steps (its format checked) and the run's metrics up
    to it: what a run that continues from there starts with. Raises ``CheckpointError`` (an unreadable
    checkpoint, or metrics shorter than it says, the message prefixed with ``who``)."""
    path = kept_path(run_dir, steps)
    ckpt = load_checkpoint(path)
    check_format(ckpt, path, run_dir / "config.json")
    metrics = (run_dir / "metrics.jsonl").read_bytes()[: ckpt["metrics_bytes"]]
    if len(metrics) != ckpt["metrics_bytes"]:
        raise CheckpointError(f"{who}{run_dir}/metrics.jsonl is shorter than its checkpoint kept at {steps}")
    return ckpt, metrics
