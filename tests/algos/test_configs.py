import pytest
from pydantic import ValidationError

from gorl import methods
from gorl.algos.ppo import PPOConfig, preset
from gorl.registry import RegistryError
from gorl.twotimescale import ScheduleConfig


def test_ppo_defaults_lay_out_the_official_iteration():
    c = PPOConfig()
    # Brax's layout: 32 minibatches of 1024 segments of 30 steps = 983,040 env steps, which gorl's
    # rollout layout gives as 2048 envs x 480 steps in segments of 30
    assert c.steps_per_iteration == 32 * 1024 * 30
    assert c.minibatch_size == 1024 * 30 and c.rollout_length // c.unroll_length == 16


def test_presets():
    assert preset("playground").clip_epsilon == 0.3
    assert preset("paper-ppo").lr == 3e-4
    assert preset("cpu").steps_per_iteration == 8 * 256
    assert preset("cpu").minibatch_size == 64
    with pytest.raises(ValueError, match=r"unknown PPO preset 'fast'.*playground"):
        preset("fast")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"gamma": 1.5}, "gamma"),
        ({"clip_epsilon": 0}, "clip_epsilon"),
        ({"num_envs": 0}, "num_envs"),
        ({"rollout_length": 31}, "unroll_length"),
        ({"grad_clip": "per_layer"}, "grad_clip"),
        ({"lr": -1}, "lr"),
        ({"learning_rate": 1e-3}, "learning_rate"),
        ({"critic_hidden": [0]}, "critic_hidden"),
    ],
)
def test_bad_ppo_values_name_the_field(kw, field):
    with pytest.raises(ValidationError, match=field):
        PPOConfig(**kw)


def test_schedule_stage_ends_follow_the_official_60_60_30_30():
    s = ScheduleConfig()
    assert s.stage_ends(180_000_000) == [60_000_000, 120_000_000, 150_000_000, 180_000_000]
    assert s.at(s.stage_overrides, 3) == {}
    fm = ScheduleConfig(**methods.get("gorl-fm", "paper").schedule)
    assert fm.at(fm.stage_overrides, 3) == {"clip_epsilon": 0.3, "penalty_coef": 1e-3}
    with pytest.raises(ValidationError, match="sum to 1"):
        ScheduleConfig(stage_fractions=[0.5, 0.4])


def test_methods_by_name():
    assert methods.get("ppo").schedule["decoder"] is None
    assert methods.get("ppo", "paper").preset == "playground" and methods.get("ppo").preset == "cpu"
    assert methods.get("gorl-fm").schedule["decoder"] == "flow"
    assert methods.get("gorl-flow").schedule["decoder"] == "flow"
    assert methods.get("gorl-diff", "paper").schedule["reset_encoder"] == [False]  # the official diffusion
    assert "reset_encoder" not in methods.get("gorl-diff").schedule  # cpu: reset, as coupled pairs need
    # cpu refit data: one action per state over 16,384 states for both decoders (more distinct states)
    assert methods.get("gorl-diff").schedule["actions_per_state"] == 1
    assert methods.get("gorl-fm").schedule["actions_per_state"] == 1
    assert "actions_per_state" not in methods.get("gorl-diff", "paper").schedule  # the paper's 1, independent
    assert methods.get("gorl-sac-fm").optimizer == "sac"
    assert methods.get("gorl-sac-diff").schedule["decoder"] == "diffusion"
    assert {"ppo", "sac", "gorl-fm", "gorl-diff", "gorl-sac-fm", "gorl-sac-diff"} <= set(methods.names())
    with pytest.raises(RegistryError, match="unknown method 'gorl-vae'"):
        methods.get("gorl-vae")
    with pytest.raises(RegistryError, match="unknown method 'gorl-identity'"):
        methods.get("gorl-identity")  # the identity is stage 0's decoder, not a refit target


def test_cpu_ppo_and_sac_settings_and_a_runs_options_override_the_methods():
    from gorl.train_config import TrainConfig, resolve

    plan = resolve(TrainConfig(method="ppo"))
    assert plan.optimizer.critic_init == "orthogonal" and plan.optimizer.adam_eps == 1e-5
    assert plan.optimizer.num_envs == 8 and plan.optimizer.rollout_length == 256  # the cpu layout
    assert plan.encoder_options["hidden"] == [32] * 4 and plan.encoder_options["init"] == "orthogonal"
    assert plan.encoder_options["init_head_gain"] == 1.0 and not plan.optimizer.anneal_lr
    mine = resolve(TrainConfig(method="ppo", encoder={"hidden": [64, 64], "init": "default"}))
    assert mine.encoder_options["hidden"] == [64, 64] and mine.encoder_options["init"] == "default"
    assert mine.encoder_options["init_head_gain"] == 1.0  # the method's, where the run says nothing
    fm = resolve(TrainConfig(method="gorl-fm"))  # GoRL's stage 0 is ppo, setting for setting
    assert fm.encoder_options == plan.encoder_options
    assert fm.optimizer == plan.optimizer
    for method in ("sac", "gorl-sac-fm"):  # SAC's actor: TorchRL's SAC recipe network
        sac = resolve(TrainConfig(method=method))
        assert sac.encoder_options["hidden"] == [256, 256] and sac.encoder_options["activation"] == "relu"


def test_gorl_sac_refits_fit_longer_than_gorl_ppo_and_a_run_can_override_it():
    # docs/sac.md, "The refit's budget": a near-deterministic SAC policy needs the longer fit
    from gorl.train_config import TrainConfig, resolve

    sac = resolve(TrainConfig(method="gorl-sac-fm")).schedule.fit
    ppo = resolve(TrainConfig(method="gorl-fm")).schedule.fit
    assert (sac.steps, sac.lr) == (8_000, 1e-3) and (ppo.steps, ppo.lr) == (2_000, 1e-3)
    mine = resolve(TrainConfig(method="gorl-sac-fm", schedule={"fit": {"steps": 100}})).schedule.fit
    assert mine.steps == 100


def test_a_run_directory_from_before_raw_action_clip_moved_still_loads():
    # config.json of older runs holds the optimiser's raw_action_clip (3.0); another value names its new home
    from gorl.algos.ppo.config import PPOConfig
    from gorl.algos.sac.config import SACConfig

    for cls in (PPOConfig, SACConfig):
        assert "raw_action_clip" not in cls.model_validate({"raw_action_clip": 3.0}).model_dump()
        with pytest.raises(ValueError, match=r"schedule\.raw_action_clip"):
            cls.model_validate({"raw_action_clip": 1.0})
