import os

import pytest
import torch

# See gorl/__init__.py: nothing renders, and MUJOCO_GL=egl plus a later triton import segfaults.
os.environ["MUJOCO_GL"] = "disable"
# One thread: deterministic, and small ops were ~20x slower with two threads on a busy 2-core machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts on one torch thread, whatever an earlier one set (a Trainer sets its own)."""
    torch.set_num_threads(1)


def run_numbers(out):
    """Every metrics line of the run in ``out`` without its wall-clock fields."""
    import json

    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "wall" not in k and k != "seconds"} for r in lines]


class Killed(Exception):
    """Raised inside a run to kill it."""


def kill_and_resume(config, out, monkeypatch, *, kill_at, nth):
    """Runs ``config`` in ``out`` until it dies inside its ``nth`` iteration (``kill_at="iteration"``)
    or ``nth`` decoder fit (``"refit"``), then resumes it in a fresh Trainer from a scrambled RNG state;
    returns the resumed run's summary."""
    import gorl.twotimescale.schedule as schedule_mod
    from gorl.train import Trainer

    trainer = Trainer(config, out)
    calls = {"n": 0}

    def dying(original):
        def call(*a, **k):
            calls["n"] += 1
            if calls["n"] == nth:
                raise Killed
            return original(*a, **k)

        return call

    if kill_at == "iteration":
        monkeypatch.setattr(trainer.learner, "iterate", dying(trainer.learner.iterate))
    else:
        monkeypatch.setattr(schedule_mod, "fit_decoder", dying(schedule_mod.fit_decoder))
    try:
        trainer.run()
    except Killed:
        pass
    else:
        raise AssertionError("the run was not killed")
    monkeypatch.undo()
    torch.manual_seed(12345)  # a different process state must not matter: the checkpoint restores it
    return Trainer.resume(out).run()


@pytest.fixture
def resume_check():
    """``kill_and_resume`` for resume tests."""
    return kill_and_resume


@pytest.fixture
def numbers():
    """``run_numbers``: a run's metrics lines without wall-clock fields."""
    return run_numbers
