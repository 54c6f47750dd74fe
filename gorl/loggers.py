"""Optional metrics loggers fed from the same stream as ``metrics.jsonl``.

Every record the ``Trainer`` appends to ``metrics.jsonl`` (one dict with ``kind``, ``stage``,
``env_steps``, the wall-clock fields and the record's numbers) also goes to each ``MetricsSink`` the
run's ``TrainConfig.loggers`` names:

* ``tensorboard``: ``torch.utils.tensorboard.SummaryWriter`` into ``<run>/tensorboard/``; every number
  of a record is a scalar ``<kind>/<key>`` at global step ``env_steps``.
* ``wandb``: Weights & Biases in offline mode only (``<run>/wandb/``; ``wandb sync`` uploads it later);
  every number is logged as ``<kind>/<key>`` against the metric ``env_steps``.

Neither package is a dependency of gorl: they are imported when a sink opens, and ``make`` raises
``MissingLoggerPackage`` at once (at ``Trainer`` construction) when the package of a requested logger is
missing, naming the pip extra (``pip install 'gorl[tensorboard]'``). Sinks open lazily, on their first
record, so building a ``Trainer`` (or ``Trainer.load``) writes nothing.

A resumed run logs to the same place: the TensorBoard sink appends a new event file to the same
directory (records after the checkpoint are written a second time, at the same steps; TensorBoard shows
both), and the W&B sink reopens the same run id (kept in ``<run>/wandb_run_id``) with ``resume="allow"``.

``FACTORIES`` maps a logger name to ``factory(out, config) -> MetricsSink``; tests replace entries.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gorl.checkpoint import atomic_write_text

SKIPPED_KEYS = frozenset({"kind", "env_steps"})


@runtime_checkable
class MetricsSink(Protocol):
    """Receives every metrics record of a run, in the order ``metrics.jsonl`` holds them."""

    def write(self, record: dict[str, Any]) -> None:
        """Takes one record: a JSON-friendly dict with at least ``kind`` and ``env_steps``."""
        ...

    def close(self) -> None:
        """Flushes and releases what the sink holds; a later ``write`` may open it again."""
        ...


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The record's numbers as ``{"<kind>/<key>": value}`` (strings, lists, ``None`` and the
    ``kind``/``env_steps`` fields left out; booleans become 0/1)."""
    kind = record.get("kind", "record")
    out: dict[str, float] = {}
    for key, value in record.items():
        if key in SKIPPED_KEYS or not isinstance(value, (int, float)):
            continue
        out[f"{kind}/{key}"] = float(value)
    return out


class MissingLoggerPackage(ImportError):
    """A logger was asked for whose package is not installed."""


def require(package: str, extra: str, logger: str) -> None:
    """Raises ``MissingLoggerPackage`` naming the pip extra when ``package`` is not importable."""
    if importlib.util.find_spec(package) is None:
        raise MissingLoggerPackage(
            f"loggers: {logger!r} needs the {package} package, which is not installed; "
            f"install it with: pip install 'gorl[{extra}]' (or leave {logger!r} out of loggers)"
        )


class TensorBoardSink:
    """Scalars ``<kind>/<key>`` at global step ``env_steps`` into ``<out>/tensorboard/``.

    Args:
        out: the run directory.
    """

    def __init__(self, out: Path) -> None:
        require("tensorboard", "tensorboard", "tensorboard")
        self.dir = Path(out) / "tensorboard"
        self._writer: Any = None

    def write(self, record: dict[str, Any]) -> None:
        """Adds every number of ``record`` as a scalar."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.dir))
        step = int(record.get("env_steps", 0))
        for tag, value in scalars(record).items():
            self._writer.add_scalar(tag, value, global_step=step)

    def close(self) -> None:
        """Flushes and closes the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class WandbSink:
    """Weights & Biases, offline: ``wandb.init(mode="offline", dir=<out>, project="gorl",
    name=<out's name>, config=<TrainConfig dump>)``, then ``wandb.log`` per record.

    Args:
        out: the run directory.
        config: the run's ``TrainConfig`` dump (``model_dump()``).
    """

    def __init__(self, out: Path, config: dict[str, Any]) -> None:
        require("wandb", "wandb", "wandb")
        self.out, self.config = Path(out), config
        self._run: Any = None

    def _run_id(self) -> str:
        """The run's W&B id, kept in ``<out>/wandb_run_id`` so that a resumed run continues it."""
        path = self.out / "wandb_run_id"
        if path.exists():
            return path.read_text().strip()
        run_id = uuid.uuid4().hex[:16]
        atomic_write_text(path, run_id + "\n")
        return run_id

    def write(self, record: dict[str, Any]) -> None:
        """Logs every number of ``record`` with ``env_steps`` as its x-axis."""
        if self._run is None:
            import wandb

            self._run = wandb.init(
                mode="offline",
                dir=str(self.out),
                project="gorl",
                name=self.out.name,
                config=self.config,
                id=self._run_id(),
                resume="allow",
            )
            self._run.define_metric("env_steps")
            self._run.define_metric("*", step_metric="env_steps")
        self._run.log({"env_steps": int(record.get("env_steps", 0)), **scalars(record)})

    def close(self) -> None:
        """Finishes the offline run (its files stay under ``<out>/wandb/``)."""
        if self._run is not None:
            self._run.finish()
            self._run = None


FACTORIES: dict[str, Callable[[Path, Any], MetricsSink]] = {
    "tensorboard": lambda out, config: TensorBoardSink(out),
    "wandb": lambda out, config: WandbSink(out, config.model_dump()),
}


def make(name: str, out: Path, config: Any) -> MetricsSink:
    """The sink ``name`` for the run in ``out`` with ``config`` (a ``TrainConfig``).

    Raises:
        MissingLoggerPackage: its package is missing (an ``ImportError`` naming the pip extra).
        ValueError: an unknown name.
    """
    if name not in FACTORIES:
        raise ValueError(f"loggers: unknown logger {name!r}; known: {sorted(FACTORIES)}")
    return FACTORIES[name](Path(out), config)
