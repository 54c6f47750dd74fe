"""The plain-tensor SAC losses against TorchRL's SACLoss (the reference kept in gorl.algos.sac.reference):
same losses and same gradients on a fixed batch with the same noise, for every critic input and
regulariser the methods use; and the twin critic against two separate MLPs."""

from typing import Any

import pytest
import torch
from test_sac_optimizer import build  # pytest puts this folder on sys.path (rootdir-less test dirs)

from gorl.algos.sac.critic import TwinCritic
from gorl.algos.sac.networks import ConcatMLP
from gorl.algos.sac.reference import batch_tensordict, sacloss_grads, torchrl_sac_loss
from gorl.interfaces.keys import ACTION, LATENT

CASES: dict[str, dict[str, Any]] = {
    # the sac method: identity decoder, alpha on the squashed action's entropy
    "sac": {"decoder": "identity", "regularizer": "action_entropy", "penalty_coef": 0.0},
    # gorl-sac-fm: the action critic through the flow, alpha on the KL to the prior
    "gorl-sac-fm": {"decoder": "flow"},
    "latent-entropy-layernorm": {
        "decoder": "flow",
        "critic_input": "latent",
        "regularizer": "entropy",
        "critic_layer_norm": True,
        "critic_hidden": [32, 24],
    },
    "smooth-l1-diffusion": {"decoder": "diffusion", "loss_function": "smooth_l1", "target_kl": 2.5},
}


@pytest.mark.parametrize("case", list(CASES))
def test_losses_and_gradients_match_torchrl_sacloss(case):
    _, policy, opt = build(**CASES[case])
    opt.iterate()  # trained critics, targets that lag them, alpha moved off its start
    batch = opt.batches(1)[0]
    batch = type(batch)(batch.obs, batch.x, batch.reward, batch.next_obs, torch.tensor([0.0] * 15 + [1.0]))
    ref_loss = torchrl_sac_loss(opt)
    assert not torch.equal(opt.critic.params[0], opt.critic_target.params[0])  # a real target

    enc = [p for p in policy.encoder.parameters() if p.requires_grad]
    for p in (*enc, *opt.critic.parameters(), opt.log_alpha):
        p.grad = None  # the last update's
    torch.manual_seed(7)
    ours = opt.losses(batch)
    (ours.loss_actor + ours.loss_qvalue + ours.loss_alpha).backward()
    our_grads = [p.grad.clone() for p in (*enc, *opt.critic.parameters(), opt.log_alpha)]
    for p in enc:
        p.grad = None

    torch.manual_seed(7)
    x_key = LATENT if opt.config.critic_input == "latent" else ACTION
    ref = ref_loss(batch_tensordict(batch, x_key))
    (ref["loss_actor"] + ref["loss_qvalue"] + ref["loss_alpha"]).backward()
    ref_grads = [p.grad for p in enc] + sacloss_grads(opt.critic, ref_loss.qvalue_network_params)
    ref_grads.append(ref_loss.log_alpha.grad)

    for name in ("loss_actor", "loss_qvalue", "loss_alpha", "alpha", "entropy"):
        assert torch.allclose(getattr(ours, name), ref[name], rtol=1e-5, atol=1e-6), name
    assert len(our_grads) == len(ref_grads)
    for i, (a, b) in enumerate(zip(our_grads, ref_grads, strict=True)):
        assert b is not None and torch.allclose(a, b, rtol=1e-4, atol=1e-6), i
    # q_policy is min_i Q_i at the actor's draw: alpha * mean(score) - loss_actor
    assert torch.allclose(ours.q_policy, -ours.alpha * ours.entropy - ours.loss_actor.detach(), atol=1e-4)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_twin_critic_is_two_separate_mlps(layer_norm):
    torch.manual_seed(0)
    twin = TwinCritic(7, [16, 8], layer_norm)
    with torch.no_grad():
        for p in twin.parameters():  # LayerNorm's affine off its (1, 0) start, so it is exercised
            p.add_(0.1 * torch.randn_like(p))
    obs, x = torch.randn(5, 4), torch.randn(5, 3)
    q = twin(obs, x)
    assert q.shape == (2, 5)
    for m in range(2):
        single = ConcatMLP(7, [16, 8], layer_norm)
        linears = [mod for mod in single.net if isinstance(mod, torch.nn.Linear)]
        norms = [mod for mod in single.net if isinstance(mod, torch.nn.LayerNorm)]
        with torch.no_grad():
            for i, (w, b, norm) in enumerate(twin.layers()):
                linears[i].weight.copy_(w[m])
                linears[i].bias.copy_(b[m])
                if norm is not None:
                    norms[i].weight.copy_(norm[0][m])
                    norms[i].bias.copy_(norm[1][m])
        assert torch.allclose(q[m], single(obs, x).squeeze(-1), atol=1e-6)
