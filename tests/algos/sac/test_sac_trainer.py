"""GoRL(SAC) through the Trainer: a killed run resumes to the same numbers, in both critic modes."""

import pytest

from gorl.testing.tiny import tiny_sac_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig

# 2 envs x 20 steps per iteration, 4 stages over 320 env steps (three flow refits)
TINY = tiny_sac_run()


@pytest.mark.parametrize(
    ("critic_input", "kill_at", "nth"), [("action", "iteration", 6), ("latent", "refit", 2)]
)
def test_a_killed_sac_run_resumes_to_the_same_numbers(
    tmp_path, monkeypatch, resume_check, numbers, critic_input, kill_at, nth
):
    kill_and_resume = resume_check
    cfg = {**TINY, "optimizer": {**TINY["optimizer"], "critic_input": critic_input}}
    ref = Trainer(TrainConfig(**cfg), tmp_path / "ref").run()
    assert [r["kind"] for r in numbers(tmp_path / "ref")].count("refit") == 3
    # dies inside the 6th iteration (the last of stage 1, after the first refit) or the second refit
    resumed = kill_and_resume(TrainConfig(**cfg), tmp_path / "b", monkeypatch, kill_at=kill_at, nth=nth)
    assert resumed["final_return"] == ref["final_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")
