"""resolve() refuses every bad combination before an env is built, naming the field; provenance() says
where each effective setting came from."""

import pytest

import gorl.train as train_mod
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig, provenance, resolve

TINY = tiny_run()


@pytest.fixture
def no_env(monkeypatch):
    """The Trainer fails the test if it builds an env: what it refuses, it refuses before that."""

    def refuse(*args, **kwargs):
        raise AssertionError("an env was built before the config was refused")

    monkeypatch.setattr(train_mod, "make_env", refuse)


def test_a_stage_override_of_a_field_the_optimizer_does_not_mark_mutable_is_refused(tmp_path, no_env):
    schedule = {**TINY["schedule"], "stage_overrides": [{}, {"critic_hidden": [8]}]}
    with pytest.raises(ValueError, match=r"stage_overrides\[1\].*may not change critic_hidden"):
        Trainer(TrainConfig(**{**TINY, "schedule": schedule}), tmp_path)


def test_fpos_own_mutable_fields_pass_resolve():
    # FPOConfig.MUTABLE adds ratio and log_ratio_clip to PPO's: resolve and the engine both accept them
    # (tests/algos/fpo/test_fpo.py shows the override reaching the ratio term)
    run = tiny_run("fpo", schedule={"stage_overrides": [{"ratio": "per_sample", "log_ratio_clip": 1.0}]})
    plan = resolve(TrainConfig(**run))
    assert plan.schedule.stage_overrides == [{"ratio": "per_sample", "log_ratio_clip": 1.0}]
    # and PPO, whose config has no ratio field, refuses the same override naming it
    bad = tiny_run("gorl-fm", schedule={**TINY["schedule"], "stage_overrides": [{"ratio": "per_sample"}]})
    with pytest.raises(ValueError, match="may not change ratio"):
        resolve(TrainConfig(**bad))


def test_sac_action_entropy_with_a_fitted_decoder_is_refused_before_an_env(tmp_path, no_env):
    cfg = TrainConfig(method="gorl-sac-fm", total_steps=1000, optimizer={"regularizer": "action_entropy"})
    with pytest.raises(ValueError, match=r"optimizer.regularizer='action_entropy'.*schedule.decoder='flow'"):
        Trainer(cfg, tmp_path)


def test_sac_action_entropy_with_a_trainable_initial_decoder_is_refused(tmp_path, no_env):
    cfg = TrainConfig(method="sac", total_steps=1000, schedule={"initial_decoder": "flow"})
    with pytest.raises(ValueError, match=r"regularizer='action_entropy'.*schedule.initial_decoder='flow'"):
        Trainer(cfg, tmp_path)


def test_sacs_rule_lets_gaussian_sac_and_gorl_sac_with_kl_through():
    assert resolve(TrainConfig(method="sac")).optimizer.regularizer == "action_entropy"  # identity decoder
    assert resolve(TrainConfig(method="gorl-sac-fm")).optimizer.regularizer == "kl"


def test_gorl_sacs_cpu_refit_couples_its_pairs_and_the_paper_scale_keeps_independent_ones():
    # docs/sac.md, "The refit's pairs": coupled pairs fit late SAC policies more faithfully
    cpu = resolve(TrainConfig(method="gorl-sac-fm")).schedule
    assert (cpu.pairing, cpu.actions_per_state, cpu.fit.steps, cpu.fit.lr) == ("auto", 1, 8000, 1e-3)
    assert resolve(TrainConfig(method="gorl-sac-fm", scale="paper")).schedule.pairing == "independent"


def test_the_old_section_names_are_not_config_fields():
    with pytest.raises(ValueError, match="ppo_preset"):
        TrainConfig(ppo_preset="paper")


def _rows(config, given=None):
    return {r.path: (r.value, r.source) for r in provenance(config, given)}


def test_provenance_names_the_layer_of_every_setting():
    config = TrainConfig(
        method="gorl-fm",
        seed=3,
        optimizer={"lr": 1e-4},
        schedule={"fit": {"steps": 100}, "stage_overrides": [{"clip_epsilon": 0.25}, {"penalty_coef": 2e-3}]},
        encoder={"hidden": [8, 8]},
    )
    rows = _rows(config, {"optimizer.lr": "--set", "seed": "--seed"})
    assert rows["seed"] == (3, "--seed")
    assert rows["task"] == ("cheetah-run", "default")
    assert rows["optimizer_preset"] == ("cpu", "method gorl-fm")
    assert rows["optimizer.lr"] == (1e-4, "--set")
    assert rows["optimizer.num_envs"] == (8, "preset cpu")  # PPO's cpu preset
    assert rows["optimizer.gae_lambda"] == (0.95, "default")  # PPOConfig's, set by no layer
    assert rows["schedule.decoder"] == ("flow", "method gorl-fm")
    assert rows["schedule.fit.steps"] == (100, "config")  # in the config, not in given
    assert rows["schedule.fit.batch_size"] == (1024, "method gorl-fm")  # a nested dict merges field by field
    assert rows["schedule.fit.lr"] == (1e-3, "method gorl-fm")
    assert rows["schedule.fit.grad_clip"] == (None, "default")
    # four stages, the last override repeating
    assert rows["stage[0].optimizer.clip_epsilon"] == (0.25, "stage override (config)")
    assert [rows[f"stage[{k}].optimizer.penalty_coef"][0] for k in (1, 2, 3)] == [2e-3] * 3
    assert rows["decoder.steps"] == (10, "default")  # the flow's options, defaults included
    assert rows["encoder.hidden"] == ([8, 8], "config")
    assert rows["encoder.activation"] == ("silu", "default")


def test_provenance_of_a_method_and_an_explicit_preset():
    rows = _rows(
        TrainConfig(method="ppo", optimizer_preset="playground"), {"optimizer_preset": "config file a.yaml"}
    )
    assert rows["optimizer_preset"] == ("playground", "config file a.yaml")
    assert rows["optimizer.clip_epsilon"] == (0.3, "preset playground")
    assert rows["optimizer.critic_init"] == ("orthogonal", "method ppo")  # CPU_PPO on top of the preset
    assert rows["encoder.init"] == ("orthogonal", "method ppo")
    assert not any(p.startswith("decoder.") for p in rows)  # the identity decoder has no options


def test_resolve_leaves_the_global_random_state_alone():
    # resolve builds probe decoders and encoders; a script that resolves a config after restoring a run's
    # random state (benchmarks/stage_learning.py) must not see its stream move
    import torch

    torch.manual_seed(7)
    before = torch.get_rng_state()
    resolve(TrainConfig(method="gorl-fm"))
    assert torch.equal(torch.get_rng_state(), before)
