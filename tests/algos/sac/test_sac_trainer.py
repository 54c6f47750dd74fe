"""GoRL(SAC) through the Trainer: a killed run resumes to the same numbers, in both critic modes."""

import json

import pytest
import torch

from gorl.train import Trainer
from gorl.train_config import TrainConfig

# 2 envs x 20 steps per iteration, 4 stages over 320 env steps (three flow refits)
TINY = {
    "task": "cheetah-run",
    "method": "gorl-sac-fm",
    "total_steps": 320,
    "episode_length": 50,
    "eval_every": 160,
    "eval_envs": 2,
    "progress": False,
    "plot": False,
    "optimizer": {
        "num_envs": 2,
        "steps_per_iteration": 40,
        "warmup_steps": 24,
        "batch_size": 16,
        "buffer_size": 1000,
        "critic_hidden": [32],
    },
    "schedule": {
        "decoder_pairs": 256,
        "fit": {"steps": 20, "batch_size": 64, "eval_every": 10},
        "decoder_options": {"hidden": [16, 16]},
    },
}


class _Kill(Exception):
    pass


def _numbers(out):
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "wall" not in k and k != "seconds"} for r in lines]


@pytest.mark.parametrize(("critic_input", "kill_at"), [("action", "iteration"), ("latent", "refit")])
def test_a_killed_sac_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, critic_input, kill_at):
    cfg = {**TINY, "optimizer": {**TINY["optimizer"], "critic_input": critic_input}}
    ref = Trainer(TrainConfig(**cfg), tmp_path / "ref").run()
    assert [r["kind"] for r in _numbers(tmp_path / "ref")].count("refit") == 3

    trainer = Trainer(TrainConfig(**cfg), tmp_path / "b")
    calls = {"n": 0}
    if kill_at == "iteration":  # dies inside the 6th iteration (the last of stage 1, after the first refit)
        original = trainer.learner.iterate

        def dying():
            calls["n"] += 1
            if calls["n"] == 6:
                raise _Kill
            return original()

        monkeypatch.setattr(trainer.learner, "iterate", dying)
    else:  # dies inside the second decoder refit
        import gorl.algos.schedule as schedule_mod

        original_fit = schedule_mod.fit_decoder

        def dying_fit(*a, **k):
            calls["n"] += 1
            if calls["n"] == 2:
                raise _Kill
            return original_fit(*a, **k)

        monkeypatch.setattr(schedule_mod, "fit_decoder", dying_fit)
    with pytest.raises(_Kill):
        trainer.run()
    monkeypatch.undo()
    torch.manual_seed(12345)  # the checkpoint restores every random state
    resumed = Trainer.resume(tmp_path / "b").run()
    assert resumed["final_return"] == ref["final_return"]
    assert _numbers(tmp_path / "b") == _numbers(tmp_path / "ref")
