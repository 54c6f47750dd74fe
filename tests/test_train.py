"""End-to-end runs on a tiny budget: run directory, resume bit-identity, non-finite guards, CLI."""

import json

import pytest
import torch

from gorl.algos.guards import NonFiniteError
from gorl.checkpoint import load_checkpoint
from gorl.cli import main, parse_sets
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig, resolve

# 4 envs x 20 steps (two GAE segments of 10) = 80 env steps per iteration; 4 stages over 640 steps.
TINY = tiny_run()


def test_a_run_writes_its_directory(tmp_path, numbers):
    summary = Trainer(TrainConfig(**TINY), tmp_path).run()
    assert summary["env_steps"] == 640
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["train"]["method"] == "gorl-fm" and cfg["schedule"]["decoder"] == "flow"
    assert cfg["optimizer_name"] == "ppo" and cfg["optimizer"]["rollout_length"] == 20
    kinds = [r["kind"] for r in numbers(tmp_path)]
    assert kinds.count("iteration") == 8 and kinds.count("refit") == 3 and kinds.count("eval") == 2
    refits = [r for r in numbers(tmp_path) if r["kind"] == "refit"]
    assert all(r["fit_steps"] == 20 and r["pairs"] == 256 for r in refits)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["optimizer"]["rollout"]["env_steps"] == 640 and ckpt["schedule_state"]["stage"] == 4
    assert json.loads((tmp_path / "summary.json").read_text())["final_return"] == summary["final_return"]


@pytest.mark.parametrize(("kill_at", "nth"), [("iteration", 5), ("refit", 2)])
def test_a_killed_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, resume_check, numbers, kill_at, nth):
    kill_and_resume = resume_check
    ref = Trainer(TrainConfig(**TINY), tmp_path / "ref").run()
    # dies inside the 5th iteration (stage 2) or inside the second decoder refit
    resumed = kill_and_resume(TrainConfig(**TINY), tmp_path / "b", monkeypatch, kill_at=kill_at, nth=nth)
    assert resumed["final_return"] == ref["final_return"]
    assert resumed["best_return"] == ref["best_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")


def test_a_nan_in_observations_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(TrainConfig(**TINY), tmp_path)
    original = trainer.env.step_and_maybe_reset
    calls = {"n": 0}

    def poisoned(td):
        calls["n"] += 1
        stepped, root = original(td)
        if calls["n"] == 45:  # 20 steps (2 unrolls of 10) per iteration: step 45 is in the 3rd
            root["observation"][1, 3] = float("nan")
        return stepped, root

    monkeypatch.setattr(trainer.env, "step_and_maybe_reset", poisoned)
    with pytest.raises(NonFiniteError, match="observations collected in iteration 2"):
        trainer.run()
    err = json.loads((tmp_path / "error.json").read_text())
    assert err["where"].startswith("observations")
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")  # intact and loadable: the state after 2 iterations
    assert ckpt["optimizer"]["rollout"]["env_steps"] == 160


def test_a_nan_in_the_loss_is_named(tmp_path, monkeypatch):
    trainer = Trainer(TrainConfig(**TINY), tmp_path)
    monkeypatch.setattr(trainer.policy.encoder, "prior_penalty", lambda obs: torch.tensor(float("nan")))
    with pytest.raises(NonFiniteError, match="the PPO loss"):
        trainer.run()
    assert json.loads((tmp_path / "error.json").read_text())["where"].startswith("the PPO loss")


def test_cli_sets_and_errors(tmp_path, capsys):
    assert parse_sets(["optimizer.lr=3e-4", "seed=2", "schedule.fit.steps=5"]) == {
        "optimizer": {"lr": 3e-4},
        "seed": 2,
        "schedule": {"fit": {"steps": 5}},
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_sets(["optimizer.lr"])
    assert main(["train", "--task", "cheetah-run", "--set", "eval_envs=0", "--out", str(tmp_path / "x")]) == 1
    assert "eval_envs" in capsys.readouterr().err
    assert main(["train", "--method", "gorl-vae", "--out", str(tmp_path / "y")]) == 1
    assert "unknown method 'gorl-vae'" in capsys.readouterr().err
    assert main(["train", "--task", "cheetah-sprint", "--out", str(tmp_path / "z")]) == 1
    assert "cheetah-sprint" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 1
    assert "not a run directory" in capsys.readouterr().err


def test_cli_trains_and_resumes_a_finished_run(tmp_path, capsys):
    cfg = tmp_path / "tiny.json"
    # ppo fits no decoder: options for one would configure its identity decoder, which takes none
    cfg.write_text(json.dumps({**TINY, "method": "ppo", "total_steps": 160, "schedule": {}}))
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert "results:" in capsys.readouterr().out
    assert main(["train", "--config", str(cfg), "--out", str(out)]) == 1  # refuses to overwrite
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0  # already finished: nothing to do
    assert json.loads((out / "summary.json").read_text())["env_steps"] == 160


def test_resume_refuses_config_changes(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--set", "total_steps=5"]) == 1
    assert "cannot change it" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["ppo", "fpo", "dppo"])
def test_the_warp_backend_trains_through_the_same_trainer(tmp_path, numbers, method):
    pytest.importorskip("mujoco_warp")
    cfg = {**TINY, "method": method, "schedule": {}, "backend": "warp", "total_steps": 160, "eval_every": 160}
    summary = Trainer(TrainConfig(**cfg), tmp_path).run()
    assert summary["env_steps"] == 160
    iterations = [r for r in numbers(tmp_path) if r["kind"] == "iteration"]
    assert len(iterations) == 2 and all(r["kl_approx"] == r["kl_approx"] for r in iterations)  # not NaN
    assert summary["final_return"] is not None and 0.0 < summary["final_return"] <= 50.0  # 50-step episodes


def test_a_typo_anywhere_fails_before_any_env_is_built(tmp_path, monkeypatch):
    import gorl.train as train_mod

    def no_env(*a, **k):
        raise AssertionError("an env was built before the config was validated")

    monkeypatch.setattr(train_mod, "make_env", no_env)
    bad = [
        ({"schedule": {**TINY["schedule"], "stage_overrides": [{"clip_epsilom": 0.2}]}}, "clip_epsilom"),
        (
            {"schedule": {**TINY["schedule"], "stage_overrides": [{}, {"num_envs": 8}]}},
            "may not change num_envs",
        ),
        ({"schedule": {**TINY["schedule"], "stage_overrides": [{"clip_epsilon": 2.0}]}}, "clip_epsilon"),
        ({"schedule": {**TINY["schedule"], "decoder_options": {"hiden": [8]}}}, "hiden"),
        ({"optimizer": {**TINY["optimizer"], "rollout_length": 15}}, "multiple of unroll_length"),
        ({"encoder": {"hidden": [0]}}, "hidden"),
        ({"method": "gorl-sac-vae"}, "unknown method"),
    ]
    for change, message in bad:
        with pytest.raises(Exception, match=message):
            Trainer(TrainConfig(**{**TINY, **change}), tmp_path)


def test_resuming_a_checkpoint_of_another_format_says_why_not(tmp_path, capsys):
    from gorl.checkpoint import save_checkpoint

    (tmp_path / "config.json").write_text(json.dumps({"train": {**TINY}}))
    save_checkpoint(tmp_path / "checkpoint.pt", {"format": 1})
    assert main(["train", "--resume", str(tmp_path)]) == 1
    assert "format 1" in capsys.readouterr().err


def test_checkpoints_every_n_env_steps(tmp_path, monkeypatch):
    trainer = Trainer(
        TrainConfig(**{**TINY, "method": "ppo", "schedule": {}, "checkpoint_every_steps": 160}), tmp_path
    )
    written = []
    original = trainer._checkpoint

    def spy():
        written.append(trainer.env_steps)
        original()

    monkeypatch.setattr(trainer, "_checkpoint", spy)
    trainer.run()
    assert written == [160, 320, 480, 640]  # every 160 steps, and at the end of the (single) stage


def test_load_rebuilds_a_run_without_writing_into_it(tmp_path):
    out = tmp_path / "run"
    Trainer(
        TrainConfig(**{**TINY, "method": "ppo", "schedule": {}, "total_steps": 160, "plot": False}), out
    ).run()
    with open(out / "metrics.jsonl", "ab") as f:  # a line past the checkpoint, as a running run has
        f.write(b'{"kind": "iteration", "env_steps": 240}\n')
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    trainer = Trainer.load(out, progress=False)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()} == before
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert trainer.env_steps == 160 and trainer.evals == ckpt["evals"]
    state = trainer.policy.encoder.state_dict()
    assert all(torch.equal(state[k], v) for k, v in ckpt["encoder"].items())
    with pytest.raises(RuntimeError, match="loaded read-only"):
        trainer.run()
    Trainer.resume(out)  # resume, by contrast, cuts metrics.jsonl back to the checkpoint
    assert b"240" not in (out / "metrics.jsonl").read_bytes()


def test_resume_keeps_the_settings_the_run_started_with(tmp_path, monkeypatch):
    """A method whose defaults change between releases: the resumed run keeps its resolved settings."""
    import gorl.methods as methods

    Trainer(TrainConfig(**TINY), tmp_path).run()

    def changed_get(name, scale="cpu"):
        spec = methods._gorl_ppo("flow", scale)
        return methods.MethodSpec(
            spec.optimizer,
            spec.preset,
            {**spec.optimizer_overrides, "critic_activation": "tanh"},  # would load, and train otherwise
            spec.encoder,
            {"hidden": [4]},
            spec.schedule,
        )

    monkeypatch.setattr(methods, "get", changed_get)  # gorl-fm is built by methods.get
    saved = json.loads((tmp_path / "config.json").read_text())
    fresh = resolve(TrainConfig(**saved["train"]))  # the same config resolved today: the new defaults
    assert fresh.optimizer.critic_activation == "tanh" and fresh.encoder_options["hidden"] == [4]
    trainer = Trainer.resume(tmp_path)  # loads the checkpoint: an encoder of hidden [4] would not
    assert trainer.plan.optimizer.critic_activation == saved["optimizer"]["critic_activation"] == "silu"
    assert trainer.plan.encoder_options == saved["encoder"] and saved["encoder"]["hidden"] == [32] * 4
