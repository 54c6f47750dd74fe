"""TorchRL's ``SACLoss`` built from an optimiser's parts: the checked reference of ``losses.sac_losses``.

gorl's update computes SAC's losses on plain tensors (``losses.py``, ``critic.py``); this module wires
the same encoder, decoder, critic weights, targets and alpha into TorchRL's ``SACLoss`` (v2, TD(0), twin
critics vmapped by TorchRL) with the actor distribution ``networks.LatentSample``, so that a test can
check that both give the same losses and gradients on one batch and the same noise
(``tests/algos/sac/test_sac_losses.py``). It is not on the training path.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict
from torchrl.objectives import SACLoss, ValueEstimators

from gorl.algos.sac.critic import TwinCritic
from gorl.algos.sac.losses import Batch
from gorl.algos.sac.networks import DecodeSquash, q_network, sac_actor
from gorl.interfaces.keys import ACTION, DONE, LATENT, NEXT, OBSERVATION, REWARD, TERMINATED


def _linear_index(layer: int, layer_norm: bool) -> int:
    """Index in ``ConcatMLP.net`` of hidden layer ``layer``'s Linear (Linear[, LayerNorm], ReLU)."""
    return layer * (3 if layer_norm else 2)


def twin_to_sacloss(twin: TwinCritic, params: TensorDict) -> None:
    """Copies ``twin``'s stacked weights into SACLoss's (vmapped) critic parameters ``params``."""
    with torch.no_grad():
        for i, (w, b, norm) in enumerate(twin.layers()):
            j = str(_linear_index(i, twin.layer_norm))
            params["module", "net", j, "weight"].copy_(w)
            params["module", "net", j, "bias"].copy_(b)
            if norm is not None:
                k = str(_linear_index(i, twin.layer_norm) + 1)
                params["module", "net", k, "weight"].copy_(norm[0])
                params["module", "net", k, "bias"].copy_(norm[1])


def sacloss_grads(twin: TwinCritic, params: TensorDict) -> list[torch.Tensor | None]:
    """The gradients of SACLoss's critic ``params`` in ``twin``'s parameter order."""
    out: list[torch.Tensor | None] = []
    for i, (_, _, norm) in enumerate(twin.layers()):
        j = str(_linear_index(i, twin.layer_norm))
        names = [(j, "weight"), (j, "bias")]
        if norm is not None:
            k = str(_linear_index(i, twin.layer_norm) + 1)
            names += [(k, "weight"), (k, "bias")]
        out += [params["module", "net", m, n].grad for m, n in names]
    return out


def batch_tensordict(batch: Batch, x_key: str) -> TensorDict:
    """``batch`` as the TensorDict SACLoss reads (``x_key``: LATENT or ACTION)."""
    n = batch.obs.shape[0]
    terminated = batch.terminated.bool().reshape(n, 1)
    return TensorDict(
        {
            OBSERVATION: batch.obs,
            x_key: batch.x,
            NEXT: {
                OBSERVATION: batch.next_obs,
                REWARD: batch.reward.reshape(n, 1),
                DONE: terminated,
                TERMINATED: terminated,
            },
        },
        batch_size=[n],
    )


def torchrl_sac_loss(opt: Any) -> SACLoss:
    """``SACLoss`` over ``opt``'s bound policy (the encoder's own parameters), with copies of its
    critics, targets and log alpha; ``x_key`` is ``opt``'s critic input."""
    c, policy = opt.config, opt.policy
    encoder = policy.encoder
    kl = c.regularizer == "kl"
    bounds = (policy.action_low, policy.action_high) if c.regularizer == "action_entropy" else None
    if c.critic_input == "latent":
        x_key, x_dim = LATENT, encoder.latent_dim
        actor = sac_actor(encoder, LATENT, None, relative_to_prior=kl, squash_bounds=bounds)
    else:
        x_key, x_dim = ACTION, policy.action_low.shape[-1]
        decode = DecodeSquash(policy.decode, policy.action_low, policy.action_high)
        actor = sac_actor(encoder, ACTION, decode, relative_to_prior=kl, squash_bounds=bounds)
    q = q_network(encoder.obs_dim, x_key, x_dim, c.critic_hidden, c.critic_layer_norm)
    loss = SACLoss(
        actor,
        q,
        num_qvalue_nets=2,
        loss_function=c.loss_function,
        alpha_init=float(opt.log_alpha.detach().exp()),
        target_entropy=opt.target_entropy,
        delay_qvalue=True,
    )
    loss.make_value_estimator(ValueEstimators.TD0, gamma=c.gamma)
    twin_to_sacloss(opt.critic, loss.qvalue_network_params)
    twin_to_sacloss(opt.critic_target, loss.target_qvalue_network_params)
    with torch.no_grad():
        loss.log_alpha.copy_(opt.log_alpha)
    return loss
