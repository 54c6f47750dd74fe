"""Every registered optimiser passes the LatentOptimizer conformance check (small configs)."""

import pytest

import gorl.algos as algos
from gorl.algos.ppo import PPOConfig, PPOOptimizer
from gorl.testing import check_latent_optimizer, check_stage_overrides

# tiny, fast configurations per built-in optimiser; a plug-in is checked with its own defaults
SMALL = {
    "ppo": {"num_envs": 2, "rollout_length": 8, "unroll_length": 4, "num_minibatches": 2, "update_epochs": 1,
            "critic_hidden": [16]},
    "fpo": {"num_envs": 2, "rollout_length": 8, "unroll_length": 4, "num_minibatches": 2, "update_epochs": 1,
            "critic_hidden": [16], "draws": 4},
    "dppo": {"num_envs": 2, "rollout_length": 8, "unroll_length": 4, "num_minibatches": 2, "update_epochs": 1,
             "critic_hidden": [16]},
    "sac": {"num_envs": 2, "batch_size": 16, "warmup_steps": 8, "critic_hidden": [16],
            "steps_per_iteration": 40, "buffer_size": 1000},
}  # fmt: skip


@pytest.mark.parametrize("name", algos.names())
def test_registered_optimizers_conform(name):
    check_latent_optimizer(
        name, preset="cpu" if "cpu" in algos.spec(name).presets else None, overrides=SMALL.get(name)
    )


class WrappedPPO:
    """PPO behind a forwarding wrapper; each broken optimiser below changes one method of it."""

    def __init__(self, env, policy, config):
        self.inner = PPOOptimizer(env, policy, config)

    env_steps = property(lambda self: self.inner.env_steps)
    config = property(lambda self: self.inner.config)

    def bind(self, policy, overrides=None, stage_end=None, *, new_decoder=False):
        self.inner.bind(policy, overrides, stage_end, new_decoder=new_decoder)

    def normalize(self, obs):
        return self.inner.normalize(obs)

    def iterate(self):
        return self.inner.iterate()

    def decoder_data(self, max_pairs):
        return self.inner.decoder_data(max_pairs)

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)


def test_the_check_fails_an_optimizer_that_forgets_its_env_steps():
    class Forgetful(WrappedPPO):
        """PPO whose state_dict drops the rollout (env, normaliser, step count)."""

        def state_dict(self):
            return {k: v for k, v in self.inner.state_dict().items() if k != "rollout"}

        def load_state_dict(self, state):
            full = self.inner.state_dict()
            self.inner.load_state_dict({**state, "rollout": full["rollout"]})

    algos.register("forgetful-ppo", config=PPOConfig)(Forgetful)
    try:
        with pytest.raises(AssertionError, match=r"env_steps|differs"):
            check_latent_optimizer("forgetful-ppo", overrides=SMALL["ppo"])
    finally:
        algos.REGISTRY.remove("forgetful-ppo")


def _preset(name):
    return "cpu" if "cpu" in algos.spec(name).presets else None


@pytest.mark.parametrize("name", algos.names())
def test_a_stage_override_of_every_mutable_field_reaches_the_config_in_effect(name):
    checked = check_stage_overrides(name, preset=_preset(name), overrides=SMALL.get(name))
    assert set(checked) == algos.spec(name).config.MUTABLE
    # only what a config pins to a single value escapes (FPO and DPPO fix both coefficients at 0)
    pinned = {"entropy_coef", "penalty_coef"} if name in ("fpo", "dppo") else set()
    assert {k for k, v in checked.items() if v is None} == pinned


class TwoArgumentBind(WrappedPPO):
    """PPO whose bind takes (policy, overrides) only, as the check called it before the Trainer passed
    stage_end and new_decoder."""

    def bind(self, policy, overrides=None):
        self.inner.bind(policy, overrides)


def test_the_check_binds_as_the_trainer_does_so_a_two_argument_bind_fails():
    algos.register("two-arg-ppo", config=PPOConfig)(TwoArgumentBind)
    try:
        with pytest.raises(
            AssertionError, match=r"bind\(policy, overrides, stage_end\) failed as the Trainer"
        ):
            check_latent_optimizer("two-arg-ppo", overrides=SMALL["ppo"])
    finally:
        algos.REGISTRY.remove("two-arg-ppo")


class IgnoresOverrides(WrappedPPO):
    """Accepts the Trainer's bind but keeps its first config: stage overrides never take effect."""

    config = property(lambda self: self.inner.base_config)

    def bind(self, policy, overrides=None, stage_end=None, *, new_decoder=False):
        self.inner.bind(policy, overrides, stage_end)


def test_the_override_check_fails_an_optimizer_whose_config_ignores_the_override():
    algos.register("deaf-ppo", config=PPOConfig)(IgnoresOverrides)
    try:
        with pytest.raises(AssertionError, match=r"stage override anneal_lr=True .* differs"):
            check_stage_overrides("deaf-ppo", overrides=SMALL["ppo"])
    finally:
        algos.REGISTRY.remove("deaf-ppo")
