"""``gorl bench --engine ray``: each run a Ray task; results gathered into the results directory.

Tasks write into ``DIR`` directly (a shared filesystem on a cluster) and also return their small files,
which the driver writes where they are missing. A bench stopped by SIGTERM or Ctrl-C cancels its tasks
without force: Ray delivers that as SIGINT to a running task, whose run writes its checkpoint after the
iteration under way and returns (``gorl.stop``), so the next bench resumes it.

Progress tells running tasks from queued ones: Ray starts a task only when its CPUs are free, so of the
tasks submitted at once most may wait. Each task, as it starts, puts its run directory on a Ray queue
(an actor holding no CPU) that the driver reads; until then its run counts as queued.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

from gorl.bench.execute import (
    execute_and_return_files,
    record_from_dir,
    sigterm_interrupts,
    stopped_record,
    wait_for_stop,
)
from gorl.bench.progress import Progress
from gorl.bench.suite import RunSpec
from gorl.checkpoint import atomic_write_bytes


def run_on_ray(
    todo: list[RunSpec],
    out: Path,
    threads: int,
    gpus: float,
    address: str | None,
    keep: bool,
    progress: Progress,
) -> list[dict[str, Any]]:
    """Each run a Ray task (``threads`` CPUs, ``gpus`` GPUs); results gathered into ``out``."""
    try:
        import ray
    except ImportError as e:
        raise RuntimeError("--engine ray needs Ray: pip install 'gorl[cluster]'") from e
    initialized = False  # by this call: it shuts Ray down again
    if not ray.is_initialized():
        if address is None:
            # a local Ray would start its workers at nice 15: on a busy machine they then wait behind every
            # other process (90 s to import torch here, against 6.5 s); gorl's runs are the work
            os.environ.setdefault("RAY_worker_niceness", "0")
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        initialized = True
    try:
        from ray.util.queue import Queue

        started_queue = Queue(actor_options={"num_cpus": 0})  # run directories of tasks that began
        task = ray.remote(num_cpus=threads, num_gpus=gpus, max_retries=0)(run_task)
        key = {id(s): str(s.directory(out).resolve()) for s in todo}  # what a task says when it begins
        refs = {task.remote(s.config.model_dump(), key[id(s)], threads, keep, started_queue): s for s in todo}
        records: list[dict[str, Any]] = []
        started: set[str] = set()
        with sigterm_interrupts():
            try:
                while refs:
                    ready, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_S)
                    began = _drain(started_queue) - started
                    started |= began
                    for spec in refs.values():
                        if key[id(spec)] in began:
                            progress.launched(spec.directory(out))
                    for ref in ready:
                        spec = refs.pop(ref)
                        record = _collect(ray, ref, spec, out)
                        records.append(record)
                        progress.finished(spec, record)
                    running = [(s, s.directory(out)) for s in refs.values() if key[id(s)] in started]
                    progress.show(running, force=bool(ready or began), queued=len(refs) - len(running))
            except KeyboardInterrupt:
                _stop_ray(ray, refs, out, progress.stream)
                print("interrupted: run the same command again to resume", file=progress.stream, flush=True)
                raise
            finally:
                with suppress(Exception):
                    started_queue.shutdown()
        return records
    finally:
        if initialized:
            ray.shutdown()


POLL_S = 5.0  # how often the driver looks for tasks that began (and prints at most once a minute)


def run_task(
    config: dict[str, Any], run_dir: str, threads: int, keep_checkpoint: bool, started: Any
) -> dict[str, Any]:
    """The Ray task: says it began (``started``: a ``ray.util.queue.Queue``), then
    ``execute_and_return_files``."""
    with suppress(Exception):  # the progress line is not worth a run
        started.put(run_dir)
    return execute_and_return_files(config, run_dir, threads, keep_checkpoint)


def _drain(queue: Any) -> set[str]:
    """Every item waiting in ``queue``, without blocking."""
    items: set[str] = set()
    with suppress(Exception):  # ray.util.queue.Empty, or the queue gone with a stopping Ray
        while not queue.empty():
            items.add(queue.get_nowait())
    return items


def _collect(ray: Any, ref: Any, spec: RunSpec, out: Path) -> dict[str, Any]:
    """A finished Ray task's record, its files written back (``_write_back``). A task cancelled from
    outside (not by this bench) is stopped if its run has a checkpoint to resume from."""
    d = spec.directory(out)
    try:
        return _write_back(ray.get(ref), d)
    except Exception as e:  # the task itself died (worker crash, node lost) or was cancelled
        stopped = isinstance(e, ray.exceptions.TaskCancelledError) and stopped_record(d)
        return stopped or record_from_dir(spec, d, f"the Ray task failed: {type(e).__name__}: {e}")


def _write_back(result: dict[str, Any], d: Path) -> dict[str, Any]:
    """Writes a Ray task's returned files into its run directory where they are missing or differ (the
    driver's machine may not share the workers' filesystem); returns the task's record."""
    d.mkdir(parents=True, exist_ok=True)
    for name, data in result["files"].items():
        path = d / name
        if not path.exists() or path.read_bytes() != data:
            atomic_write_bytes(path, data)
    return dict(result["record"])


def _stop_ray(ray: Any, refs: dict[Any, RunSpec], out: Path, stream: TextIO) -> None:
    """Cancels every task (Ray raises KeyboardInterrupt in a running one, through its SIGINT handler:
    the run checkpoints after its iteration and returns, ``gorl.stop``; a task not yet started never
    starts), waits for them (``wait_for_stop``) and writes back what they return; then, or on a second
    interrupt, force-cancels what is left."""
    for ref in refs:
        ray.cancel(ref, force=False)

    def gather(deadline: float) -> None:
        while refs and time.monotonic() < deadline:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            for ref in ready:
                d = refs.pop(ref).directory(out)
                with suppress(Exception):  # cancelled before it began, or before its run could checkpoint
                    _write_back(ray.get(ref), d)

    wait_for_stop(len(refs), "Ray task(s): a running one writes", gather, stream)
    for ref in refs:
        ray.cancel(ref, force=True)
