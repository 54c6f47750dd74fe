"""A run directory's own files: ``config.json`` (what resume and load rebuild a run from) and
``metrics.jsonl`` (appended record by record, cut back to its checkpointed size on resume).

The layout of a run directory is in ``gorl.train``'s docstring; the checkpoint's file format is
``gorl.checkpoint``'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gorl import loggers
from gorl.checkpoint import CheckpointError, atomic_write_json, load_checkpoint
from gorl.train_config import RunPlan, TrainConfig

FORMAT = 3  # 2: before the schedule moved to gorl.twotimescale (its state and decoder names changed)


def write_config(out: Path, config: TrainConfig, plan: RunPlan) -> None:
    """``out/config.json``: the TrainConfig and the plan it resolved to, atomically."""
    atomic_write_json(out / "config.json", {"train": config.model_dump(), "format": FORMAT, **plan.dump()})


def read_config(out: Path, changes: dict[str, Any] | None = None) -> TrainConfig:
    """The run's config as it started (``changes`` applied), read from ``out/config.json``."""
    cfg_path = out / "config.json"
    if not cfg_path.exists():
        raise CheckpointError(f"{out} is not a run directory (no config.json)")
    saved = json.loads(cfg_path.read_text())
    # the settings the run resolved to when it started, pinned: a later gorl may change a method's or
    # a preset's defaults, and the checkpoint holds networks and state of the old settings
    pinned = {k: saved[k] for k in ("optimizer", "schedule", "encoder") if k in saved}
    return TrainConfig(**{**saved["train"], **pinned, **(changes or {})})


def read_run(
    out: Path, changes: dict[str, Any], checkpoint: Path | None = None
) -> tuple[TrainConfig, dict[str, Any]]:
    """The run's config (``changes`` applied) and checkpoint (``out/checkpoint.pt``, or ``checkpoint``),
    read from ``out`` without writing."""
    config = read_config(out, changes)
    path = out / "checkpoint.pt" if checkpoint is None else checkpoint
    ckpt = load_checkpoint(path)
    check_format(ckpt, path, out / "config.json")
    return config, ckpt


def check_format(ckpt: dict[str, Any], path: Path, config_path: Path) -> None:
    """Raises CheckpointError unless ``ckpt`` (read from ``path``) has this gorl's format."""
    if ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} has format {ckpt.get('format')}, written by an earlier gorl; this version reads "
            f"format {FORMAT} only. Start a new run with the settings in the 'train' section of "
            f"{config_path}, or finish it with the gorl that started it"
        )


class MetricsLog:
    """``metrics.jsonl``, one JSON line per record, each also passed to the run's loggers.

    ``size`` is the file's length in bytes as this run wrote it; a checkpoint stores it, and ``truncate``
    cuts the file back to it on resume (the lines after the checkpoint are written again).
    """

    def __init__(self, path: Path, sinks: list[loggers.MetricsSink]) -> None:
        self.path, self.sinks, self.size = path, sinks, 0

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        with open(self.path, "ab") as f:
            f.write(line)
        self.size += len(line)
        for sink in self.sinks:  # the same stream, record by record
            sink.write(record)

    def truncate(self) -> None:
        """Drops what follows the first ``size`` bytes; loggers are not rewound (TensorBoard gets those
        records a second time)."""
        if self.path.exists():
            with open(self.path, "r+b") as f:
                f.truncate(self.size)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
