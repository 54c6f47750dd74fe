"""SIGTERM and Ctrl-C: a run checkpoints at its next iteration and stops, and resume continues it to the
same numbers as a run that never stopped; a second Ctrl-C stops at once."""

import json
import os
import signal

import pytest
import torch

import gorl.twotimescale.schedule as schedule_mod
from gorl.checkpoint import load_checkpoint
from gorl.cli import main
from gorl.stop import RunStopped, StopRequest
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig

TINY = tiny_run()  # 80 env steps per iteration, 640 in all


def signalling(original, nth, signum, calls):
    """``original``, which sends this process ``signum`` during its ``nth`` call (before it returns)."""

    def call(*a, **k):
        calls["n"] += 1
        if calls["n"] == nth:
            os.kill(os.getpid(), signum)
        return original(*a, **k)

    return call


# stage ends at 213, 427, 533 and 640 env steps; a refit before stages 1-3 (at 240, 480 and 560 steps)
@pytest.mark.parametrize(
    ("during", "nth", "signum", "stopped_at", "phase", "refits"),
    [
        ("iteration", 2, signal.SIGTERM, 160, "encoder", 0),  # mid-stage: the 3rd iteration does not start
        ("iteration", 3, signal.SIGTERM, 240, "refit", 0),  # the stage's last: its refit does not start
        ("refit", 2, signal.SIGINT, 480, "encoder", 2),  # the refit finishes, the stage does not start
    ],
)
def test_a_signal_stops_the_run_with_a_checkpoint_and_resume_gives_the_same_numbers(
    tmp_path, monkeypatch, numbers, during, nth, signum, stopped_at, phase, refits
):
    ref = Trainer(TrainConfig(**TINY), tmp_path / "ref").run()
    trainer = Trainer(TrainConfig(**TINY), tmp_path / "b")
    calls = {"n": 0}
    if during == "iteration":
        sending = signalling(trainer.learner.iterate, nth, signum, calls)
        monkeypatch.setattr(trainer.learner, "iterate", sending)
    else:
        sending = signalling(schedule_mod.fit_decoder, nth, signum, calls)
        monkeypatch.setattr(schedule_mod, "fit_decoder", sending)
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    with pytest.raises(RunStopped, match=f"{signal.Signals(signum).name} received.*gorl train --resume"):
        trainer.run()
    monkeypatch.undo()
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before  # given back
    ckpt = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ckpt["optimizer"]["rollout"]["env_steps"] == stopped_at
    assert ckpt["schedule_state"]["phase"] == phase
    assert not (tmp_path / "b" / "summary.json").exists()
    written = numbers(tmp_path / "b")
    assert [r["env_steps"] for r in written if r["kind"] == "iteration"][-1] == stopped_at
    assert sum(r["kind"] == "refit" for r in written) == refits
    torch.manual_seed(12345)  # the checkpoint restores the RNG state
    resumed = Trainer.resume(tmp_path / "b", progress=False).run()
    assert resumed["final_return"] == ref["final_return"] and resumed["best_return"] == ref["best_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")


def test_a_signal_while_the_run_is_being_built_stops_it_at_its_first_iteration(tmp_path, numbers):
    # gorl bench holds a request around each run's whole process: a stop that arrives before the run's
    # own request is entered (while torch imports, the envs are built) must not be lost
    with StopRequest() as outer:
        trainer = Trainer(TrainConfig(**TINY), tmp_path / "b")
        os.kill(os.getpid(), signal.SIGTERM)
        assert outer.signum == signal.SIGTERM
        with pytest.raises(RunStopped, match=r"SIGTERM received.* at 0 env steps"):
            trainer.run()
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["optimizer"]["rollout"]["env_steps"] == 0
    with StopRequest():  # an outer request that got no signal stops nothing
        Trainer.resume(tmp_path / "b", progress=False).run()
    Trainer(TrainConfig(**TINY), tmp_path / "ref").run()
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")


def test_a_second_ctrl_c_stops_at_once_and_a_second_sigterm_is_ignored(capsys):
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signum == signal.SIGINT
        os.kill(os.getpid(), signal.SIGTERM)  # a bench's SIGTERM after the terminal's Ctrl-C: still stopping
        assert stop.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt) as info:
            os.kill(os.getpid(), signal.SIGINT)
        assert not isinstance(info.value, RunStopped)
    assert "SIGINT received; the run stops with a checkpoint" in capsys.readouterr().err


def test_gorl_train_says_how_to_resume_and_exits_with_the_signals_code(tmp_path, monkeypatch, capsys):
    import gorl.algos as algos

    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY))
    make, calls = algos.make, {"n": 0}

    def make_signalling(*a, **k):
        learner = make(*a, **k)
        learner.iterate = signalling(learner.iterate, 2, signal.SIGTERM, calls)  # type: ignore[method-assign]
        return learner

    monkeypatch.setattr(algos, "make", make_signalling)
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert f"stopped at 160 env steps with a checkpoint; continue it with: gorl train --resume {out}" in err
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text())["env_steps"] == 640
