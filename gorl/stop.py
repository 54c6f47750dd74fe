"""Stopping a run cleanly: SIGTERM or Ctrl-C makes it write a checkpoint and stop at its next iteration.

A batch scheduler's time limit (SLURM sends SIGTERM, or any signal ``--signal`` names, before it kills
a job), ``kill PID`` and a first Ctrl-C all stop a ``Trainer.run`` the same way: the iteration under way
(or the decoder refit) finishes, a checkpoint is written, and ``run`` raises ``RunStopped``. A second
Ctrl-C stops at once, without that checkpoint (the run's last regular checkpoint stays). The checkpoint
is taken where the loop would take a regular one, so ``Trainer.resume`` then continues the run exactly
as if it had not stopped.

A request entered while another is (``gorl bench`` holds one around each run's whole process, so
that a stop arriving while the run is still being built is not lost) takes over a signal the outer
one already got. Signal handlers can only be set in the main thread; a ``Trainer.run`` in another
thread keeps the process's handlers (there, KeyboardInterrupt stops the run where it is, as before).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunStopped(KeyboardInterrupt):
    """A run stopped on a signal after writing its checkpoint; ``Trainer.resume(out)`` continues it.

    A ``KeyboardInterrupt``: code that catches ``Exception`` around a run does not swallow it.
    """

    def __init__(self, out: Path, env_steps: int, signum: int) -> None:
        self.out, self.env_steps, self.signum = out, env_steps, signum
        super().__init__(
            f"{signal.Signals(signum).name} received: the run in {out} stopped at {env_steps:,} env steps "
            f"with a checkpoint; continue it with: gorl train --resume {out}"
        )


class StopRequest:
    """While entered (main thread only), SIGINT and SIGTERM set ``signum`` instead of ending the process;
    a second SIGINT raises KeyboardInterrupt at once. The previous handlers come back on exit."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.signum: int | None = None
        self.stream = stream
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        self.signum = None  # a request is for one run: a Trainer run again after a stop starts afresh
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
            # entered inside another request (a bench's worker around a run): a signal that one got
            # while the run was being built stops the run at its first iteration
            for handler in self._previous.values():
                outer = getattr(handler, "__self__", None)
                if isinstance(outer, StopRequest) and outer.signum is not None:
                    self.signum = outer.signum
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return  # already stopping (a bench sends SIGTERM after the terminal's Ctrl-C reached the run)
        self.signum = signum
        print(
            f"gorl: {signal.Signals(signum).name} received; the run stops with a checkpoint after the "
            "iteration (or refit) under way. Ctrl-C again stops it now, without one.",
            file=self.stream or sys.stderr,
            flush=True,
        )
