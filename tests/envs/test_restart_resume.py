"""Resume on a backend that cannot snapshot its episodes (``exact_resume`` False): the episodes restart,
deterministically, and everything else (optimiser, normaliser, RNGs, counters) continues exactly."""

from __future__ import annotations

import contextlib
import shutil

import torch

from gorl.checkpoint import load_checkpoint
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig


class Killed(Exception):
    pass


def _killed_run(out, monkeypatch, nth: int = 5) -> None:
    trainer = Trainer(TrainConfig(**tiny_run("ppo", task="torchrl:toy")), out)
    assert trainer.env.exact_resume is False
    original, calls = trainer.learner.iterate, {"n": 0}

    def dying():
        calls["n"] += 1
        if calls["n"] == nth:
            raise Killed
        return original()

    monkeypatch.setattr(trainer.learner, "iterate", dying)
    with contextlib.suppress(Killed):
        trainer.run()
    monkeypatch.undo()


def test_a_restart_backend_resumes_everything_but_its_episodes(tmp_path, monkeypatch, numbers):
    _killed_run(tmp_path / "a", monkeypatch)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    ckpt = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    resumed = Trainer.resume(tmp_path / "a")
    state = resumed.learner.state_dict()
    for key in ("critic", "optim"):  # the optimiser's own state, bit for bit
        assert str(state[key]) == str(ckpt["optimizer"][key])
    rollout, saved = state["rollout"], ckpt["optimizer"]["rollout"]
    assert rollout["env_steps"] == saved["env_steps"] == 320
    assert all(torch.equal(rollout["norm"][k], saved["norm"][k]) for k in saved["norm"])
    assert rollout["td"] is None  # the episode in progress is dropped: the next collect resets
    assert torch.equal(rollout["ep_return"], torch.zeros_like(saved["ep_return"]))
    first = resumed.run()
    second = Trainer.resume(tmp_path / "b").run()  # restarts are seeded: the same numbers again
    assert numbers(tmp_path / "a") == numbers(tmp_path / "b")
    assert first["final_return"] == second["final_return"] and first["env_steps"] == 640


def test_evaluations_of_a_restart_backend_start_from_the_same_episodes(tmp_path):
    trainer = Trainer(TrainConfig(**tiny_run("ppo", task="torchrl:toy")), tmp_path)
    assert torch.equal(trainer.eval_returns(), trainer.eval_returns())
