"""Every registered optimiser passes the LatentOptimizer conformance check (small configs)."""

import pytest

import gorl.algos as algos
from gorl.testing import check_latent_optimizer

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


def test_the_check_fails_an_optimizer_that_forgets_its_env_steps():
    from gorl.algos.ppo import PPOConfig, PPOLatentOptimizer

    class Forgetful:
        """PPO whose state_dict drops the rollout (env, normaliser, step count)."""

        def __init__(self, env, policy, config):
            self.inner = PPOLatentOptimizer(env, policy, config)

        env_steps = property(lambda self: self.inner.env_steps)

        def bind(self, policy, overrides=None):
            self.inner.bind(policy, overrides)

        def normalize(self, obs):
            return self.inner.normalize(obs)

        def iterate(self):
            return self.inner.iterate()

        def decoder_data(self, max_pairs):
            return self.inner.decoder_data(max_pairs)

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
