"""``gorl bench``: runs a suite, resumably, on local processes or on Ray; then writes the report.

Layout of a results directory::

    DIR/suite.json                       the suite as run (budgets per task)
    DIR/runs/<task>/<label>/s<seed>/     one Trainer run directory per run (config.json,
                                         metrics.jsonl, summary.json, checkpoint.pt, learning_curve.png)
    DIR/runs/.../failed.json             what stopped a failed run (it is retried on the next bench)
    DIR/report.md, table.csv, ...        ``gorl report`` (written at the end of every bench)

Every run is a library-level ``Trainer`` in its own process (a crash or a NaN in one run cannot take
the others down). A run with ``summary.json`` is done and skipped; one with a checkpoint resumes from
it; one killed before its first checkpoint starts again. A bench stopped by SIGTERM or Ctrl-C stops
its runs the same way (each checkpoints after its iteration under way, ``gorl.stop``; a local run gets
SIGTERM, a Ray task a cancel, which Ray delivers as SIGINT), so running the same command again loses
nothing and repeats nothing finished; a SIGKILL loses at most one checkpoint interval per running run.
A run stopped on its own (``kill PID`` of one run, a Ray task cancelled) is recorded as stopped, not
failed, and resumes on the next bench.

Engines: ``local`` keeps ``parallel`` processes busy, each with ``threads`` torch threads (default: the
machine's cores split between them); ``ray`` submits each run as a Ray task declaring ``threads`` CPUs
and the suite's ``gpus_per_run`` GPUs, to the cluster at ``address`` (or a local Ray it starts). Ray
tasks write into ``DIR`` directly (a shared filesystem on a cluster) and also return their small files
(config, metrics, summary, failure), which the driver writes where they are missing, so the table is
complete on the driver's machine even without one.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gorl.bench.progress import Progress
from gorl.bench.suite import RunSpec, Suite, select_runs
from gorl.checkpoint import atomic_write_json

RETURNED_FILES = ("config.json", "metrics.jsonl", "summary.json", "failed.json")
STOP_EXIT_CODES = (128 + signal.SIGINT, 128 + signal.SIGTERM)  # a run process's exit after a clean stop
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


def _process_main(config: dict[str, Any], run_dir: str, threads: int, keep_checkpoint: bool) -> None:
    # the run's own output (warnings, tracebacks) goes to its directory, not over the progress lines
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(run_dir) / "stdout.log", "a") as log:
        sys.stdout = sys.stderr = log
        record = execute(config, run_dir, threads, keep_checkpoint)
    if record["status"] == "stopped":  # the exit code tells the bench it stopped with a checkpoint
        sys.exit(128 + record["signum"])


@dataclass
class BenchResult:
    """What a bench did: the directory, and the records of every run (done, failed, stopped, skipped)."""

    out: Path
    records: list[dict[str, Any]]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") not in ("done", "stopped")]

    @property
    def stopped(self) -> list[dict[str, Any]]:
        """Runs that stopped with a checkpoint on a signal of their own; the next bench resumes them."""
        return [r for r in self.records if r.get("status") == "stopped"]


class _Lock:
    """``DIR/.bench.lock`` with this process's pid: two benches on one directory would run runs twice."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".bench.lock"

    def __enter__(self) -> _Lock:
        if self.path.exists():
            try:
                pid = int(self.path.read_text().strip())
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, PermissionError):
                pass  # a stale lock from a killed bench
            else:
                if pid != os.getpid():
                    raise RuntimeError(f"another gorl bench (pid {pid}) is running in {self.path.parent}")
        self.path.write_text(str(os.getpid()))
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def bench(
    suite: Suite,
    out: str | Path,
    *,
    engine: str = "local",
    parallel: int = 1,
    threads: int | None = None,
    address: str | None = None,
    keep_checkpoints: bool = True,
    report: bool = True,
    only: list[str] | None = None,
    stream: TextIO | None = None,
) -> BenchResult:
    """Runs every run of ``suite`` not yet done into ``out``; see the module docstring.

    Args:
        suite: the validated suite.
        out: the results directory (created).
        engine: ``local`` (processes on this machine) or ``ray``.
        parallel: local runs at a time.
        threads: torch threads per run (and CPUs declared to Ray); None: cores // parallel, at least 1.
        address: the Ray cluster (``ray.init(address=...)``); None starts a local Ray.
        keep_checkpoints: keep each finished run's last checkpoint (``gorl plot actions`` reads it).
        report: write the report at the end.
        only: run only the runs whose ``task/label/s<seed>`` matches one of these shell patterns
            (``walker-walk/sac/*``, ``*/*/s1``); a pattern that matches no run is an error. The report
            still covers every run in ``out``.
        stream: where progress lines go (stdout by default).
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"unknown engine {engine!r}; use 'local' or 'ray'")
    if parallel < 1:
        raise ValueError(f"parallel must be >= 1, got {parallel}")
    out = Path(out)
    specs = select_runs(suite.runs(), only)  # every config validated before anything runs
    if engine == "local" and any(s.config.device.startswith("cuda") for s in specs):
        import torch

        if not torch.cuda.is_available():  # on Ray the driver may have no GPU while the workers do
            raise ValueError(
                f"suite {suite.name!r} runs on CUDA (device: cuda), but this machine has no CUDA device; "
                "run it on a GPU machine or with --engine ray on a cluster with GPUs"
            )
    threads = threads or max(1, (os.cpu_count() or 1) // (parallel if engine == "local" else 1))
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(specs), stream or sys.stdout)
    with _Lock(out):
        atomic_write_json(
            out / "suite.json",
            {
                **suite.model_dump(),
                "total_steps": {t: suite.steps(t) for t in suite.tasks},
                "methods": [m.label for m in suite.methods],
                "method_entries": [m.model_dump() for m in suite.methods],
            },
        )
        todo = [s for s in specs if not (s.directory(out) / "summary.json").exists()]
        records = [execute({}, str(s.directory(out)), 1) for s in specs if s not in todo]
        progress.done = len(records)
        print(
            f"[{time.strftime('%H:%M:%S')}] {suite.name}: {len(specs)} runs, {len(records)} already done, "
            f"{len(todo)} to run ({engine}, {threads} thread(s) per run) -> {out}",
            file=progress.stream,
            flush=True,
        )
        if engine == "local":
            records += _local(todo, out, parallel, threads, keep_checkpoints, progress)
        else:
            from gorl.bench.ray_engine import run_on_ray

            records += run_on_ray(todo, out, threads, suite.gpus_per_run, address, keep_checkpoints, progress)
        progress.show([], force=True)
    if report:
        from gorl.report import REFERENCE, write_report

        path = write_report(out, reference=REFERENCE)  # shown only where the suite is the paper's setting
        print(f"report: {path}", file=progress.stream, flush=True)
    return BenchResult(out, records)


def _local(
    todo: list[RunSpec], out: Path, parallel: int, threads: int, keep: bool, progress: Progress
) -> list[dict[str, Any]]:
    """Keeps ``parallel`` spawned processes busy; a process that dies without a record is a failure."""
    ctx = mp.get_context("spawn")
    pending: list[RunSpec] = list(todo)
    running: list[tuple[RunSpec, Path, Any]] = []
    records: list[dict[str, Any]] = []
    with sigterm_interrupts():
        try:
            while pending or running:
                while pending and len(running) < parallel:
                    spec = pending.pop(0)
                    d = spec.directory(out)
                    args = (spec.config.model_dump(), str(d), threads, keep)
                    p = ctx.Process(target=_process_main, args=args, daemon=True)
                    p.start()
                    progress.launched(d)
                    running.append((spec, d, p))
                    progress.show([(s, x) for s, x, _ in running], force=True)
                time.sleep(0.5)
                for item in list(running):
                    spec, d, p = item
                    if p.is_alive():
                        continue
                    p.join()
                    running.remove(item)
                    stopped = p.exitcode in STOP_EXIT_CODES and stopped_record(d, p.exitcode - 128)
                    record = stopped or record_from_dir(
                        spec, d, f"the run's process died with exit code {p.exitcode}"
                    )
                    records.append(record)
                    progress.finished(spec, record)
                    progress.show([(s, x) for s, x, _ in running], force=True)
                progress.show([(s, x) for s, x, _ in running])
        except KeyboardInterrupt:
            _stop(running, progress.stream)
            print("interrupted: run the same command again to resume", file=progress.stream, flush=True)
            raise
    return records


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


def _stop(running: list[tuple[RunSpec, Path, Any]], stream: TextIO) -> None:
    """Sends each running run SIGTERM (it checkpoints at its next iteration and exits, ``gorl.stop``),
    waits up to ``STOP_GRACE_S`` seconds for them, then kills what is left; a second interrupt kills
    at once."""
    for _, _, p in running:
        p.terminate()

    def join(deadline: float) -> None:
        for _, _, p in running:
            p.join(max(0.0, deadline - time.monotonic()))

    wait_for_stop(len(running), "run(s): each writes", join, stream)
    for _, _, p in running:
        if p.is_alive():
            p.kill()


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
