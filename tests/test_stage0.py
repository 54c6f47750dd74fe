"""A GoRL run's stage 0 taken from its baseline's run (gorl.stage0): the same run, bit for bit."""

import pytest
import torch

from gorl.checkpoint import load_checkpoint
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig, resolve

# two stages of 320 env steps (4 iterations of 80 each), evaluations at 320 and 640
HALVES = {**tiny_run()["schedule"], "stage_fractions": [0.5, 0.5]}
# SAC: 2 envs x 20 steps per iteration, two stages of 160 steps
SAC_OPT = {"num_envs": 2, "steps_per_iteration": 40, "warmup_steps": 24, "batch_size": 16,
           "buffer_size": 1000, "critic_hidden": [32]}  # fmt: skip
SAC = {"task": "cheetah-run", "episode_length": 50, "eval_every": 80, "eval_envs": 2, "progress": False,
       "plot": False, "checkpoint_every_steps": 0, "optimizer": SAC_OPT, "total_steps": 320}  # fmt: skip


def _weights(out):
    ckpt = load_checkpoint(out / "checkpoint.pt")
    return {f"{part}.{k}": v for part in ("encoder", "decoder") for k, v in ckpt[part].items()}


@pytest.mark.parametrize(
    ("base", "ours"),
    [
        (tiny_run("ppo"), tiny_run("gorl-fm", schedule=HALVES)),
        ({**SAC, "method": "sac"}, {**SAC, "method": "gorl-sac-fm", "schedule": HALVES}),
    ],
    ids=["gorl-fm-from-ppo", "gorl-sac-fm-from-sac"],
)
def test_a_run_from_its_baselines_stage_0_is_the_run_itself(tmp_path, numbers, base, ours):
    first = resolve(TrainConfig(**ours)).schedule.stage_ends(ours["total_steps"])[0]
    Trainer(TrainConfig(**{**base, "keep_checkpoints": [first]}), tmp_path / "base").run()
    assert (tmp_path / "base" / "checkpoints" / f"steps-{first}.pt").is_file()
    Trainer(TrainConfig(**ours), tmp_path / "whole").run()
    forked = Trainer(TrainConfig(**ours, stage0_from=str(tmp_path / "base")), tmp_path / "forked")
    forked.run()
    whole = numbers(tmp_path / "whole")
    assert [r["kind"] for r in whole].count("refit") == 1
    assert numbers(tmp_path / "forked") == whole  # stage 0's records copied, the rest trained again
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "forked")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # keeping a checkpoint changes nothing in the baseline's own run
    Trainer(TrainConfig(**base), tmp_path / "plain").run()
    assert numbers(tmp_path / "plain") == numbers(tmp_path / "base")


def test_a_run_stopped_after_taking_stage_0_resumes_from_its_own_checkpoint(tmp_path, numbers):
    base, ours = tiny_run("ppo", keep_checkpoints=[320]), tiny_run("gorl-fm", schedule=HALVES)
    Trainer(TrainConfig(**base), tmp_path / "base").run()
    Trainer(TrainConfig(**ours), tmp_path / "whole").run()
    forked = Trainer(TrainConfig(**ours, stage0_from=str(tmp_path / "base")), tmp_path / "forked")
    forked._refit = lambda: (_ for _ in ()).throw(RuntimeError("killed"))  # as its refit starts
    with pytest.raises(RuntimeError, match="killed"):
        forked.run()
    assert load_checkpoint(tmp_path / "forked" / "checkpoint.pt")["schedule_state"]["phase"] == "refit"
    Trainer.resume(tmp_path / "forked").run()
    assert numbers(tmp_path / "forked") == numbers(tmp_path / "whole")


def test_a_baseline_with_other_stage_0_settings_is_refused_naming_them(tmp_path):
    Trainer(TrainConfig(**tiny_run("ppo", keep_checkpoints=[320])), tmp_path / "base").run()
    ours = tiny_run("gorl-fm", schedule=HALVES, stage0_from=str(tmp_path / "base"), eval_envs=3)
    ours["optimizer"] = {**ours["optimizer"], "lr": 1e-4}
    with pytest.raises(ValueError, match=r"differ in eval_envs, optimizer\.lr"):
        Trainer(TrainConfig(**ours), tmp_path / "ours").run()
    assert not (tmp_path / "ours" / "metrics.jsonl").exists()


def test_a_missing_kept_checkpoint_and_a_run_without_refits_are_refused_before_anything_runs(tmp_path):
    Trainer(TrainConfig(**tiny_run("ppo")), tmp_path / "base").run()  # kept nothing
    ours = TrainConfig(**tiny_run("gorl-fm", schedule=HALVES, stage0_from=str(tmp_path / "base")))
    with pytest.raises(FileNotFoundError, match=r"no checkpoint kept at this run's first refit .*-320\.pt"):
        resolve(ours)
    resolve(ours, check_files=False)  # a suite validates before its baselines have run
    with pytest.raises(FileNotFoundError, match="keep_checkpoints: \\[320\\]"):
        Trainer(ours, tmp_path / "ours")
    assert not (tmp_path / "ours").exists()
    with pytest.raises(ValueError, match="ppo has no refit"):
        resolve(TrainConfig(**tiny_run("ppo", stage0_from=str(tmp_path / "base"))))
    with pytest.raises(ValueError, match=r"keep_checkpoints: \[640\] outside the run's budget"):
        resolve(TrainConfig(**tiny_run("ppo", keep_checkpoints=[320, 640])))
