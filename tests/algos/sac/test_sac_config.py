"""SACConfig: defaults, presets, bounds and the registry entry."""

import pytest
from pydantic import ValidationError

import gorl.algos as algos
from gorl.algos.sac import PRESETS, SACConfig, SACLatentOptimizer, preset
from gorl.algos.sac.validate import validate


def test_defaults_are_the_cpu_setting():
    c = SACConfig()
    assert (c.num_envs, c.batch_size, c.utd_ratio, c.gamma, c.polyak) == (2, 256, 1.0, 0.99, 0.995)
    assert (c.actor_lr, c.critic_lr, c.alpha_lr) == (3e-4, 3e-4, 3e-4)
    assert c.critic_hidden == [256, 256] and not c.normalize_observations


def test_paper_preset_follows_playground_brax_sac():
    c = preset("paper")
    assert (c.num_envs, c.batch_size, c.gamma, c.actor_lr, c.critic_lr) == (128, 512, 0.99, 1e-3, 1e-3)
    assert c.utd_ratio * c.num_envs == 8  # 8 updates per batched step of 128 envs
    assert c.critic_layer_norm and c.normalize_observations
    with pytest.raises(ValueError, match=r"unknown SAC preset 'fast'.*cpu, paper"):
        preset("fast")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"gamma": 1.5}, "gamma"),
        ({"polyak": 1.0}, "polyak"),
        ({"batch_size": 0}, "batch_size"),
        ({"utd_ratio": 0}, "utd_ratio"),
        ({"actor_lr": -1}, "actor_lr"),
        ({"critic_input": "state"}, "critic_input"),
        ({"regularizer": "tsallis"}, "regularizer"),
        ({"critic_hidden": [0]}, "critic_hidden"),
        ({"steps_per_iteration": 999}, "steps_per_iteration"),
        ({"buffer_size": 10}, "buffer_size"),
        ({"learning_rate": 1e-3}, "learning_rate"),
    ],
)
def test_bad_values_name_the_field(kw, field):
    with pytest.raises(ValidationError, match=field):
        SACConfig(**kw)


def test_mutable_fields_are_fields():
    assert set(SACConfig.model_fields) >= SACConfig.MUTABLE
    assert not {"num_envs", "buffer_size", "critic_hidden", "critic_input"} & SACConfig.MUTABLE


def test_registered_as_sac_and_its_presets_resolve_alike_through_the_registry():
    entry = algos.spec("sac")
    assert entry.build is SACLatentOptimizer and entry.config is SACConfig and entry.validate is validate
    for name in PRESETS:  # the registry's resolve (what runs use) and the module's preset() agree
        assert entry.resolve(name, {"gamma": 0.9}) == preset(name, gamma=0.9)


def test_prior_entropy_target_is_for_the_latent_entropy_only():
    assert SACConfig(regularizer="entropy", target_entropy="prior").target_entropy == "prior"
    for regularizer in ("kl", "action_entropy"):
        with pytest.raises(ValidationError, match=r"target_entropy=.prior.*regularizer=.entropy."):
            SACConfig(regularizer=regularizer, target_entropy="prior")
