"""TwoTimescale: GoRL's stage 0 is its baseline's run; refit records carry fidelity and returns."""

import pytest

from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig


@pytest.mark.parametrize(("method", "baseline"), [("gorl-fm", "ppo"), ("gorl-diff", "ppo")])
def test_stage_zero_is_the_baseline_run_up_to_the_first_refit(tmp_path, numbers, method, baseline):
    # GoRL with two stages of 320 steps against its baseline run for 320 steps, same seed: every
    # iteration and evaluation before the refit must agree exactly
    gorl = tiny_run(method, schedule={**tiny_run(method)["schedule"], "stage_fractions": [0.5, 0.5]})
    Trainer(TrainConfig(**gorl), tmp_path / "gorl").run()
    Trainer(TrainConfig(**tiny_run(baseline, total_steps=320)), tmp_path / "base").run()
    base = numbers(tmp_path / "base")
    ours = [r for r in numbers(tmp_path / "gorl") if r["env_steps"] <= 320 and r["kind"] != "refit"]
    assert len(base) == 5 and [r["kind"] for r in base].count("eval") == 1
    assert ours == base
    refit = next(r for r in numbers(tmp_path / "gorl") if r["kind"] == "refit")
    assert refit["env_steps"] == 320 and refit["stage"] == 1


def test_a_refit_record_has_fidelity_and_both_policies_returns(tmp_path, numbers):
    Trainer(TrainConfig(**tiny_run("gorl-fm")), tmp_path).run()
    refits = [r for r in numbers(tmp_path) if r["kind"] == "refit"]
    assert len(refits) == 3
    for r in refits:
        assert r["fidelity_spread_ratio"] > 0 and r["fidelity_mean_error"] >= 0
        assert r["fidelity_energy_distance"] >= 0 and r["fidelity_det_error"] >= 0
        assert {"return_data_det", "return_data_stoch", "return_refit_det", "return_refit_stoch"} <= set(r)
        assert r["pairs"] == 256


@pytest.mark.parametrize("from_best", [True, False])
def test_a_refit_records_which_of_its_stages_evaluations_gave_the_data(tmp_path, numbers, from_best):
    # an evaluation every iteration, so a stage has several; the record names the data encoder's
    # evaluation by how many of the stage's evaluations came after it, and its return
    run = tiny_run("gorl-fm", eval_every=80)
    run["schedule"] = {**run["schedule"], "data_from_best": from_best}
    Trainer(TrainConfig(**run), tmp_path).run()
    records = numbers(tmp_path)
    refits = [r for r in records if r["kind"] == "refit"]
    assert len(refits) == 3
    stages = []
    for refit in refits:
        stage = [
            r["return_mean"] for r in records if r["kind"] == "eval" and r["stage"] == refit["stage"] - 1
        ]

        stages.append(stage)
        pick = stage.index(max(stage)) if from_best else len(stage) - 1
        assert refit["data_evals_after"] == len(stage) - 1 - pick
        assert refit["return_before_refit"] == stage[pick]
    assert [len(s) for s in stages] == [3, 3, 1]  # stage ends 213 / 427 / 533 in iterations of 80 steps


def test_fidelity_measures_leave_the_training_stream_alone(tmp_path, numbers):
    # the same run with and without the fresh episodes, and with another number of actions per held-out
    # state, trains to the same numbers (the held-out states themselves are collected by the optimiser,
    # so their count does change the env's trajectory)
    with_f = tiny_run("gorl-fm")
    without = tiny_run("gorl-fm")
    without["schedule"] = {**without["schedule"], "fidelity_episodes": 0, "fidelity_samples": 4}
    Trainer(TrainConfig(**with_f), tmp_path / "a").run()
    Trainer(TrainConfig(**without), tmp_path / "b").run()

    def training(path):
        return [r for r in numbers(path) if r["kind"] != "refit"]

    assert training(tmp_path / "a") == training(tmp_path / "b")


def test_coupled_pairs_with_a_decoder_that_cannot_couple_are_refused_before_anything_runs():
    import torch
    from torch import nn

    import gorl.decoders as D
    from gorl.train_config import resolve

    @D.register("test-nocouple")
    class NoCouple(nn.Module):
        trainable, couples = True, False

        def __init__(self, *, obs_dim, action_dim, latent_dim=None):
            super().__init__()
            self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, action_dim
            self.w = nn.Parameter(torch.zeros(action_dim))

        def decode(self, obs, z):
            return z + self.w

        def loss(self, obs, action, generator=None, noise=None):
            return (self.w - action).pow(2).mean()

        def reset_parameters(self):
            nn.init.zeros_(self.w)

    try:
        with pytest.raises(ValueError, match="pairing='coupled' needs a decoder that couples"):
            resolve(TrainConfig(method="gorl-test-nocouple", schedule={"pairing": "coupled"}))
        plan = resolve(TrainConfig(method="gorl-test-nocouple"))  # the cpu default, auto, is accepted
        assert plan.schedule.pairing == "auto"
    finally:
        D.REGISTRY.remove("test-nocouple")


def test_gorl_sac_stage_zero_is_the_sac_run_up_to_the_first_refit(tmp_path, numbers):
    # 2 envs x 20 steps per iteration; GoRL(SAC) in two stages of 160 steps against sac for 160 steps
    opt = {"num_envs": 2, "steps_per_iteration": 40, "warmup_steps": 24, "batch_size": 16,
           "buffer_size": 1000, "critic_hidden": [32]}  # fmt: skip
    common = {"task": "cheetah-run", "episode_length": 50, "eval_every": 80, "eval_envs": 2,
              "progress": False, "plot": False, "checkpoint_every_steps": 0, "optimizer": opt}  # fmt: skip
    refits = {**tiny_run()["schedule"], "stage_fractions": [0.5, 0.5]}
    Trainer(
        TrainConfig(**common, method="gorl-sac-fm", total_steps=320, schedule=refits), tmp_path / "g"
    ).run()
    Trainer(TrainConfig(**common, method="sac", total_steps=160), tmp_path / "s").run()
    base = numbers(tmp_path / "s")
    ours = [r for r in numbers(tmp_path / "g") if r["env_steps"] <= 160 and r["kind"] != "refit"]
    assert [r["kind"] for r in base].count("iteration") == 4 and ours == base


def test_without_reinit_the_fidelity_compares_against_the_decoder_before_its_refit(tmp_path, numbers):
    # reinit_decoder off trains the stage's decoder in place from stage 2 on; the data policy of the
    # comparison must be the one the data came from, not the refitted decoder itself (which would give a
    # perfect, meaningless score)
    run = tiny_run("gorl-fm")
    run["schedule"] = {**run["schedule"], "reinit_decoder": False, "reset_encoder": [False]}
    Trainer(TrainConfig(**run), tmp_path).run()
    later = [r for r in numbers(tmp_path) if r["kind"] == "refit" and r["stage"] > 1]
    # the same encoder and a decoder compared with itself would give a deterministic error of exactly 0
    assert later and all(r["fidelity_det_error"] > 0 for r in later)


def _anchored(**schedule):
    run = tiny_run("gorl-fm")
    run["schedule"] = {**run["schedule"], "encoder_reset": "anchored", **schedule}
    return run


def test_an_anchored_reset_keeps_the_data_policy_and_trains_every_encoder_weight(tmp_path, numbers):
    import torch

    from gorl.twotimescale import ScheduleConfig

    trainer = Trainer(TrainConfig(**_anchored()), tmp_path)
    trainer.run()
    refits = [r for r in numbers(tmp_path) if r["kind"] == "refit"]
    assert len(refits) == 3 and all(r["fidelity_det_error"] >= 0 for r in refits)
    loc_scale = trainer.policy.encoder.loc_scale
    # anchored at the last refit with gain 1 / the data policy's spread (> 1 for a policy narrower than 1)
    assert loc_scale.anchor is not None and bool((loc_scale.gain > 0).all())
    assert not torch.equal(loc_scale.gain, torch.ones_like(loc_scale.gain))
    # the encoder's last stage trained the anchored net: its first layer differs from the anchor's copy
    assert not torch.equal(loc_scale.net[0].weight, loc_scale.anchor[0].weight)
    assert ScheduleConfig(encoder_reset="anchored").encoder_reset == "anchored"


def test_an_anchored_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, resume_check, numbers):
    ref = Trainer(TrainConfig(**_anchored()), tmp_path / "ref").run()
    resumed = resume_check(
        TrainConfig(**_anchored()), tmp_path / "b", monkeypatch, kill_at="iteration", nth=5
    )
    assert resumed["final_return"] == ref["final_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")


def test_anchoring_an_encoder_that_cannot_anchor_is_refused_before_anything_runs():
    from gorl.train_config import resolve

    # fpo's encoder is the parameter-free prior, which has no anchor_to_prior
    with pytest.raises(ValueError, match=r"encoder_reset='anchored'.*'prior'"):
        resolve(TrainConfig(method="fpo", schedule={"encoder_reset": "anchored"}))


@pytest.mark.parametrize("per_state", [1, 4])
def test_the_refit_clips_raw_actions_in_one_place(tmp_path, monkeypatch, per_state):
    # the optimiser hands over raw actions as drawn; the schedule's raw_action_clip bounds every fit target
    import gorl.twotimescale.schedule as sched

    seen = []
    fit = sched.fit_decoder

    def spy(decoder, obs, actions, config, noise=None):
        seen.append(actions.abs().max().item())
        return fit(decoder, obs, actions, config, noise=noise)

    monkeypatch.setattr(sched, "fit_decoder", spy)
    run = tiny_run("gorl-fm")
    run["schedule"] = {
        **run["schedule"],
        "actions_per_state": per_state,
        "pairing": "independent",
        "raw_action_clip": 0.05,
    }
    Trainer(TrainConfig(**run), tmp_path).run()
    assert len(seen) == 3 and max(seen) == pytest.approx(0.05)  # clipped (float32), and reached


def _frozen(**schedule):
    run = _anchored()
    run["schedule"] = {**run["schedule"], "decoder_observations": "frozen", **schedule}
    return run


def test_a_frozen_decoder_reads_the_observations_of_its_refit(tmp_path, numbers):
    import torch

    from gorl.algos.running_norm import Renormalize, RunningNorm

    trainer = Trainer(TrainConfig(**_frozen()), tmp_path)
    trainer.run()
    live = trainer.learner.observation_norm
    obs_map = trainer.policy.decoder_obs
    assert isinstance(obs_map, Renormalize) and obs_map.live is live  # follows the learner's norm
    then = RunningNorm(live.mean.shape[0], eps=live.eps)
    then.count.fill_(1.0)
    then.mean.copy_(trainer.timescale.refit_moments[0])
    then.m2.copy_(trainer.timescale.refit_moments[1])
    raw = torch.randn(6, live.mean.shape[0]) * 3
    assert not torch.allclose(live(raw), then(raw), atol=1e-3)  # the norm moved after the last refit
    z = torch.randn(6, trainer.policy.encoder.latent_dim)
    torch.testing.assert_close(
        trainer.policy.decode(live(raw), z), trainer.policy.decoder.decode(then(raw), z)
    )
    refits = [r for r in numbers(tmp_path) if r["kind"] == "refit"]
    assert "obs_drift_mean" not in refits[0]  # nothing to compare with at the first refit
    for r in refits[1:]:  # how far the norm moved over the stage before each later refit
        assert r["obs_drift_mean"] > 0 and 0 < r["obs_drift_std_min"] <= r["obs_drift_std_max"]


def test_frozen_and_running_decoder_observations_agree_up_to_the_stage_after_the_refit(tmp_path, numbers):
    # at its refit the map is the identity: the two runs share stage 0 and the refit's record
    Trainer(TrainConfig(**_frozen()), tmp_path / "frozen").run()
    Trainer(TrainConfig(**_anchored()), tmp_path / "running").run()
    frozen, running = numbers(tmp_path / "frozen"), numbers(tmp_path / "running")
    first = next(i for i, r in enumerate(running) if r["kind"] == "refit")
    assert frozen[: first + 1] == running[: first + 1]
    assert frozen != running  # and differ once the norm has moved


@pytest.mark.parametrize("nth", [5, 8])
def test_a_frozen_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, resume_check, numbers, nth):
    ref = Trainer(TrainConfig(**_frozen()), tmp_path / "ref").run()
    resumed = resume_check(
        TrainConfig(**_frozen()), tmp_path / "b", monkeypatch, kill_at="iteration", nth=nth
    )
    assert resumed["final_return"] == ref["final_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")


def _tiny_sac(**schedule):
    opt = {"num_envs": 2, "steps_per_iteration": 40, "warmup_steps": 24, "batch_size": 16,
           "buffer_size": 1000, "critic_hidden": [32]}  # fmt: skip
    refits = {**tiny_run()["schedule"], "stage_fractions": [0.5, 0.25, 0.25], **schedule}
    return {"task": "cheetah-run", "episode_length": 50, "eval_every": 80, "eval_envs": 2, "progress": False,
            "plot": False, "checkpoint_every_steps": 0, "optimizer": opt, "method": "gorl-sac-fm",
            "total_steps": 320, "encoder": {"hidden": [32, 32]}, "schedule": refits}  # fmt: skip


def test_gorl_sac_anchors_its_encoder_and_reads_frozen_observations(
    tmp_path, monkeypatch, resume_check, numbers
):
    import torch

    from gorl.algos.running_norm import Renormalize

    run = _tiny_sac(encoder_reset="anchored", decoder_observations="frozen")
    run["optimizer"] |= {"normalize_observations": True}  # SAC's default normalises nothing: no map then
    config = TrainConfig(**run)
    trainer = Trainer(config, tmp_path / "ref")
    trainer.run()
    refits = [r for r in numbers(tmp_path / "ref") if r["kind"] == "refit"]
    assert len(refits) == 2 and all(r["fidelity_det_error"] >= 0 for r in refits)
    loc_scale = trainer.policy.encoder.loc_scale
    assert loc_scale.anchor is not None and not torch.equal(loc_scale.gain, torch.ones_like(loc_scale.gain))
    assert not torch.equal(loc_scale.net[0].weight, loc_scale.anchor[0].weight)  # SAC trained it
    assert isinstance(trainer.policy.decoder_obs, Renormalize)
    assert trainer.policy.decoder_obs.live is trainer.learner.observation_norm
    # killed in the iteration after the first refit (4 iterations of 40 steps per stage-0 half), resumed
    resumed = resume_check(config, tmp_path / "b", monkeypatch, kill_at="iteration", nth=6)
    assert numbers(tmp_path / "b") == numbers(tmp_path / "ref")
    assert resumed["final_return"] == trainer.evals[-1]["return_mean"]


def test_frozen_decoder_observations_need_an_optimiser_that_exposes_its_normaliser():
    from gorl.twotimescale import ScheduleConfig, TwoTimescale

    class Blind:  # an optimiser without observation_norm
        pass

    frozen = TwoTimescale(ScheduleConfig(decoder_observations="frozen"), 100, lambda: None, 0)
    with pytest.raises(TypeError, match=r"decoder_observations='frozen'.*observation_norm.*Blind"):
        frozen.check(Blind())  # type: ignore[arg-type]
    TwoTimescale(ScheduleConfig(), 100, lambda: None, 0).check(Blind())  # type: ignore[arg-type]
