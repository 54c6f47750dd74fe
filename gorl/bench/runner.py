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

import multiprocessing as mp
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gorl.bench.execute import (
    execute,
    record_from_dir,
    sigterm_interrupts,
    stopped_record,
    wait_for_stop,
)
from gorl.bench.progress import Progress
from gorl.bench.suite import RunSpec, Suite, select_runs
from gorl.checkpoint import atomic_write_json

STOP_EXIT_CODES = (128 + signal.SIGINT, 128 + signal.SIGTERM)  # a run process's exit after a clean stop


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
    # every config validated before anything runs; linked runs read their baselines' runs in ``out``
    every = suite.runs()
    chosen = select_runs(every, only)
    specs = [s.placed(out) for s in chosen]
    unlinked = {b.name for a, b in zip(chosen, specs, strict=True) if a.stage0_source != b.stage0_source}
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
                # the runs the report expects (seeds may differ by task and entry), not just --only's
                "runs": [s.name for s in every],
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
        # (a run that resumes from its own checkpoint is past its stage 0 either way)
        if own := sum(s.name in unlinked and not (s.directory(out) / "checkpoint.pt").exists() for s in todo):
            print(
                f"share_stage0: {own} of the runs to do train their own stage 0 (their baseline's run "
                "has no checkpoint kept at their first refit and will not write one)",
                file=progress.stream,
                flush=True,
            )
        if engine == "local":
            records += _local(todo, out, parallel, threads, keep_checkpoints, progress)
        else:
            from gorl.bench.ray_engine import run_on_ray

            # runs that take their stage 0 from another run of the suite go in a second wave (on a
            # cluster they read the baseline's kept checkpoint from the shared results directory)
            for wave in ([s for s in todo if s.stage0_source is None], [s for s in todo if s.stage0_source]):
                if wave:
                    records += run_on_ray(
                        wave, out, threads, suite.gpus_per_run, address, keep_checkpoints, progress
                    )
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
                while (spec := _next(pending, running, out)) is not None and len(running) < parallel:
                    pending.remove(spec)
                    d = spec.directory(out)
                    args = (spec.config.model_dump(), str(d), threads, keep)
                    p = ctx.Process(target=_process_main, args=args, daemon=True)
                    p.start()
                    progress.launched(d)
                    running.append((spec, d, p))
                    progress.show([(s, x) for s, x, _ in running], force=True, queued=len(pending))
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
                    progress.show([(s, x) for s, x, _ in running], force=True, queued=len(pending))
                progress.show([(s, x) for s, x, _ in running], queued=len(pending))
        except KeyboardInterrupt:
            _stop(running, progress.stream)
            print("interrupted: run the same command again to resume", file=progress.stream, flush=True)
            raise
    return records


def _next(pending: list[RunSpec], running: list[tuple[RunSpec, Path, Any]], out: Path) -> RunSpec | None:
    """The first pending run that can start: one that takes its stage 0 from a baseline's run waits
    while that run is pending or running and has not yet kept its checkpoint (a run that has a
    checkpoint of its own resumes from it; a baseline that is not in this bench lets it start and fail
    with the reason)."""
    busy = {s.name for s in pending} | {s.name for s, _, _ in running}
    for spec in pending:
        if (
            spec.stage0_ready(out)
            or (spec.directory(out) / "checkpoint.pt").exists()
            or spec.baseline_name not in busy
        ):
            return spec
    return None


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
