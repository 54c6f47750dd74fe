"""PPO's critic initialisation and Adam eps options (TorchRL's PPO recipe: orthogonal gain 0.01, eps 1e-5)."""

import torch

from gorl.algos.ppo import PPOOptimizer, preset
from gorl.composite import CompositePolicy
from gorl.decoders import make as make_decoder
from gorl.encoders import make as make_encoder
from gorl.envs import make_env


def _learner(**fields):
    torch.manual_seed(0)
    env = make_env("cheetah-run", 2, seed=0, episode_length=20)
    policy = CompositePolicy(
        make_encoder("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim),
        make_decoder("identity", obs_dim=env.obs_dim, action_dim=env.action_dim),
    )
    config = preset("cpu", num_envs=2, rollout_length=16, unroll_length=16, num_minibatches=2, **fields)
    return PPOOptimizer(env, policy, config)


def test_orthogonal_critic_and_adam_eps():
    learner = _learner(critic_init="orthogonal", critic_init_gain=0.01, adam_eps=1e-5)
    linears = [m for m in learner.critic.modules() if isinstance(m, torch.nn.Linear)]
    for lin in linears:
        w = lin.weight / 0.01
        small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        assert torch.allclose(small, torch.eye(small.shape[0]), atol=1e-4)
        assert not lin.bias.any()
    assert all(g["eps"] == 1e-5 for g in learner.optim.param_groups)
    learner.iterate()  # trains
    learner.config = learner.config.model_copy(update={"reset_critic": True})
    learner.base_config = learner.config
    learner.bind(learner.policy)  # a reset keeps the init
    lin = next(m for m in learner.critic.modules() if isinstance(m, torch.nn.Linear))
    assert not lin.bias.any()


def test_the_default_critic_is_pytorchs_init():
    learner = _learner()
    lin = next(m for m in learner.critic.modules() if isinstance(m, torch.nn.Linear))
    assert lin.bias.abs().sum() > 0  # PyTorch's default draws biases too
    assert all(g["eps"] == 1e-8 for g in learner.optim.param_groups)
