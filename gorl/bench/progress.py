"""``gorl bench``'s progress lines: runs done, running, queued (submitted, not yet started: a local
bench's runs beyond ``--parallel``, Ray tasks waiting for CPUs), failed and stopped, and how far each
running run is. A stopped run (one that got SIGTERM or SIGINT on its own, or a Ray task cancelled) wrote its
checkpoint and resumes on the next bench: it is not a failure.

A run's state is read from its own ``metrics.jsonl`` (the driver shares no memory with the runs, and on
Ray it may run elsewhere). For the first ``SETTLE_S`` seconds after a launch that file still holds what
the run wrote before it was cut off (the run trims it back to its checkpoint as it resumes, or deletes
it when it has none), so a just-launched run shows as ``resuming from its checkpoint`` or ``starting``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gorl.bench.suite import RunSpec

SETTLE_S = 30.0  # seconds a launched run takes to trim or delete its old metrics (it builds envs first)


@dataclass
class Progress:
    """Counts and latest returns, printed as one line whenever something changes (or every minute)."""

    total: int
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    done: int = 0
    failed: int = 0
    stopped: int = 0
    last: str = ""
    _printed: float = 0.0
    _launched: dict[Path, tuple[float, str]] = field(default_factory=dict)

    def launched(self, run_dir: Path) -> None:
        """Notes that the run in ``run_dir`` was just started (its old metrics are not its state yet)."""
        state = "resuming from its checkpoint" if (run_dir / "checkpoint.pt").exists() else "starting"
        self._launched[run_dir] = (time.monotonic(), state)

    def finished(self, spec: RunSpec, record: dict[str, Any]) -> None:
        if record.get("status") == "done":
            self.done += 1
            final = record.get("final_return")
            self.last = f"{spec.name} final {final:.1f}" if final is not None else f"{spec.name} done"
        elif record.get("status") == "stopped":
            self.stopped += 1
            steps = record.get("env_steps")
            at = f" at {steps:,} env steps" if isinstance(steps, int) else ""
            self.last = f"{spec.name} stopped{at} with a checkpoint (resumes on the next bench)"
        else:
            self.failed += 1
            first = (str(record.get("error") or "").splitlines() or ["no error recorded"])[0]
            self.last = f"{spec.name} FAILED: {first[:120]}"

    def show(self, running: list[tuple[RunSpec, Path]], force: bool = False, queued: int = 0) -> None:
        """Prints the line (at most once a minute unless ``force``): ``running`` the runs that have
        started and not finished, ``queued`` how many more wait to start."""
        now = time.monotonic()
        if not force and now - self._printed < 60:
            return
        self._printed = now
        latest = "; ".join(f"{s.name} {self._status(s, d, now)}" for s, d in running[:4])
        if len(running) > 4:
            latest += f"; +{len(running) - 4} more"
        line = (
            f"[{time.strftime('%H:%M:%S')}] {self.done}/{self.total} done, {len(running)} running, "
            + (f"{queued} queued, " if queued else "")
            + f"{self.failed} failed"
            + (f", {self.stopped} stopped" if self.stopped else "")
            + (f" | last: {self.last}" if self.last else "")
            + (f" | running: {latest}" if latest else "")
        )
        print(line, file=self.stream, flush=True)

    def _status(self, spec: RunSpec, run_dir: Path, now: float) -> str:
        at, state = self._launched.get(run_dir, (-SETTLE_S, ""))
        return state if now - at < SETTLE_S else run_status(run_dir, spec.config.total_steps)


def run_status(run_dir: Path, total_steps: int, window_s: float = 600.0) -> str:
    """What a running run has done, from its ``metrics.jsonl``: ``ret R @ S`` (its last evaluation, or
    ``no evaluation yet``), then ``N/T steps`` with the rate over its last ``window_s`` seconds of run
    time (``total_wall_time``, which counts across resumes) and the time that rate leaves to
    ``total_steps``; ``starting`` before the first line."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return "starting"
    last_eval, its = None, []
    with open(path, "rb") as f:
        for line in f:
            if b'"kind": "eval"' in line:
                last_eval = line
            elif b'"kind": "iteration"' in line:
                its.append(line)
    text = "no evaluation yet"
    if last_eval is not None:
        r = json.loads(last_eval)
        text = f"ret {r['return_mean']:.1f} @ {r['env_steps']:,}"
    if not its:
        return text
    last = json.loads(its[-1])
    steps, wall = last["env_steps"], last["total_wall_time"]
    text += f", {steps:,}/{total_steps:,} steps"
    first = next((r for r in map(json.loads, its) if r["total_wall_time"] >= wall - window_s), last)
    if wall > first["total_wall_time"] and steps > first["env_steps"]:
        rate = (steps - first["env_steps"]) / (wall - first["total_wall_time"])
        left = max(total_steps - steps, 0) / rate
        text += (
            f" ({rate:,.0f}/s, {left / 3600:.1f} h left)"
            if left >= 3600
            else f" ({rate:,.0f}/s, {left / 60:.0f} min left)"
        )
    return text
