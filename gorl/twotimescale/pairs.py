"""The decoder phase's training data: (state, action) pairs, and for coupled pairs the noise of each.

The states are fresh on-policy states the optimiser collected with the current stochastic policy
(``LatentOptimizer.decoder_data``). The actions come one of two ways:

* ``actions_per_state == 1`` and independent pairs: the actions the rollout took (the paper's data).
* otherwise: ``actions_per_state`` draws per state from the data policy itself, the frozen encoder and
  the old decoder, ``eps ~ N(0, I)``, ``z = mu(s) + sigma(s) * eps``, ``a = g_old(s, z)``. No env step is
  spent: the policy is known, so it can be asked for as many actions at a state as the fit needs.

Coupled pairs keep ``eps`` with its action. ``eps`` is N(0, I) whatever the encoder, so a decoder fitted
to map ``(s, eps) -> a`` keeps the prior as its input distribution, while its target is a deterministic
function of its input: ``g_new(s, eps) ~ g_old(s, mu(s) + sigma(s) * eps)``, which an ODE or DDIM
sampler with straight, non-crossing paths can reproduce in few steps. With the encoder reset to the
prior afterwards, the refitted policy's deterministic action ``g_new(s, 0)`` is the data policy's
``g_old(s, mu(s))``, the action evaluations measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gorl.interfaces.policy import ActingPolicy


@dataclass(frozen=True)
class RefitPairs:
    """Decoder training data: ``obs (M, obs_dim)`` (normalised as the policy sees them), unsquashed
    ``action (M, action_dim)``, and for coupled pairs ``noise (M, latent_dim)`` (else None)."""

    obs: Tensor
    action: Tensor
    noise: Tensor | None = None

    def __len__(self) -> int:
        return int(self.obs.shape[0])


@torch.no_grad()
def draw_pairs(
    policy: ActingPolicy,
    obs: Tensor,
    actions_per_state: int,
    *,
    coupled: bool,
    raw_action_clip: float,
    generator: torch.Generator,
) -> RefitPairs:
    """``actions_per_state`` actions per state of ``obs (M, obs_dim)`` from ``policy`` (encoder and
    decoder as they are); returns ``M * actions_per_state`` pairs, state-major, actions clipped to
    ``+-raw_action_clip``, with their standardised noise when ``coupled``."""
    k = actions_per_state
    states = obs.repeat_interleave(k, dim=0)
    loc, scale = policy.encoder.loc_scale(states)
    eps = torch.randn(loc.shape, generator=generator, device=generator.device).to(loc.device, loc.dtype)
    action = policy.decode(states, loc + scale * eps).clamp(-raw_action_clip, raw_action_clip)
    return RefitPairs(states, action, eps if coupled else None)


@torch.no_grad()
def policy_spread(
    policy: ActingPolicy, obs: Tensor, *, generator: torch.Generator, raw_action_clip: float, draws: int = 16
) -> Tensor:
    """The policy's spread per action dim ``(action_dim,)``: the std of ``draws`` unsquashed actions at
    each state of ``obs (M, obs_dim)``, averaged over the states."""
    pairs = draw_pairs(
        policy, obs, draws, coupled=False, raw_action_clip=raw_action_clip, generator=generator
    )
    return pairs.action.reshape(obs.shape[0], draws, -1).std(dim=1).mean(dim=0)
