"""One run of a bench in this process, and what both engines (``runner``'s local processes and
``ray_engine``'s Ray tasks) share: the run's record, its files, and how a stopping bench waits.

Below ``runner`` and ``ray_engine``, importing neither.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from gorl.bench.suite import RunSpec
from gorl.checkpoint import atomic_write_json

RETURNED_FILES = ("config.json", "metrics.jsonl", "summary.json", "failed.json")
STOP_GRACE_S = 300.0  # how long a stopping bench waits for its runs' checkpoints (a refit may be under way)


def execute(
    config: dict[str, Any], run_dir: str, threads: int, keep_checkpoint: bool = True
) -> dict[str, Any]:
    """Trains, resumes or skips one run in this process; never raises: a failure is recorded in
    ``failed.json`` and returned. Returns the run's summary, stop or failure record, with ``status``.

    A ``StopRequest`` covers the whole call, imports included: a SIGTERM or SIGINT (a local bench's
    stop, a Ray cancel) that arrives while the run is still being built stops it at its first iteration
    with a checkpoint (``gorl.stop``). Without it, such a signal ended the run mid-setup or, once in this
    repository's tests (a Ray cancel), was lost while the run trained on to its end."""
    from gorl.stop import RunStopped, StopRequest

    out = Path(run_dir)
    summary_path, failed = out / "summary.json", out / "failed.json"
    record: dict[str, Any] = {"run_dir": run_dir}
    if summary_path.exists():
        return {**record, **json.loads(summary_path.read_text()), "status": "done"}
    with StopRequest():
        import torch

        from gorl.train import Trainer
        from gorl.train_config import TrainConfig

        torch.set_num_threads(threads)
        try:
            failed.unlink(missing_ok=True)
            if (out / "checkpoint.pt").exists():
                trainer = Trainer.resume(out, progress=False, threads=threads)
            else:
                for stale in ("metrics.jsonl", "config.json", "error.json"):  # killed before a checkpoint
                    (out / stale).unlink(missing_ok=True)
                cfg = TrainConfig.model_validate({**config, "progress": False, "threads": threads})
                trainer = Trainer(cfg, out)
            summary = trainer.run()
            if not keep_checkpoint:
                (out / "checkpoint.pt").unlink(missing_ok=True)
            return {**record, **summary, "status": "done"}
        except RunStopped as e:  # the bench is stopping: the checkpoint is written, the next bench resumes
            return {**record, "status": "stopped", "env_steps": e.env_steps, "signum": e.signum}
        except Exception as e:  # recorded; the other runs go on
            record |= {
                "task": config.get("task"),
                "method": config.get("method"),
                "seed": config.get("seed"),
                "status": "failed",
                "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}",
            }
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_json(failed, record)
            return record


def execute_and_return_files(
    config: dict[str, Any], run_dir: str, threads: int, keep_checkpoint: bool
) -> dict[str, Any]:
    """``execute``, plus the run's small files as bytes (what a Ray task sends back to the driver)."""
    record = execute(config, run_dir, threads, keep_checkpoint)
    out = Path(run_dir)
    files = {name: (out / name).read_bytes() for name in RETURNED_FILES if (out / name).exists()}
    return {"record": record, "files": files}


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While entered (in the main thread), SIGTERM raises KeyboardInterrupt: a kill of the bench stops
    its runs the way Ctrl-C does."""

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # signal handlers live there only
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stopped_record(d: Path, signum: int | None = None) -> dict[str, Any] | None:
    """The record of a run that stopped with a checkpoint to resume from and no summary yet (a local
    run's process that exited with 128 + SIGTERM or SIGINT, a Ray task cancelled); None if it has none."""
    if not (d / "checkpoint.pt").exists() or (d / "summary.json").exists():
        return None
    return {"run_dir": str(d), "status": "stopped", "signum": signum}


def wait_for_stop(count: int, what: str, wait: Callable[[float], None], stream: TextIO) -> None:
    """Says that ``count`` runs are stopping and calls ``wait(deadline)`` (a ``time.monotonic`` time
    ``STOP_GRACE_S`` seconds ahead) to wait for their checkpoints; a second interrupt ends the wait."""
    if not count:
        return
    print(
        f"stopping {count} {what} a checkpoint after its iteration (or refit) under way, up to "
        f"{STOP_GRACE_S:.0f} s; Ctrl-C again ends them now",
        file=stream,
        flush=True,
    )
    with suppress(KeyboardInterrupt):
        wait(time.monotonic() + STOP_GRACE_S)


def record_from_dir(spec: RunSpec, d: Path, why: str) -> dict[str, Any]:
    """The run's summary or failure record from its directory (writing one if it has neither)."""
    if (d / "summary.json").exists():
        return {**json.loads((d / "summary.json").read_text()), "status": "done", "run_dir": str(d)}
    if not (d / "failed.json").exists():
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            d / "failed.json",
            {
                "task": spec.task,
                "method": spec.config.method,
                "seed": spec.seed,
                "status": "failed",
                "error": why,
            },
        )
    return {**json.loads((d / "failed.json").read_text()), "status": "failed"}
