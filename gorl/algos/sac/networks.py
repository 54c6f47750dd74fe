"""The critics and the actor of the TorchRL ``SACLoss`` reference (``reference.py``): the checked
reference of the plain-tensor update (``losses.py``, ``critic.py``), not on the training path.

Critic (twin, vmapped by SACLoss): ``Q(s, x) = MLP(concat(s, x))``, ``s (*B, obs_dim)``,
``x (*B, x_dim)`` -> ``(*B, 1)``, ReLU, optional LayerNorm after each hidden layer; ``x`` is the latent z
(``critic_input="latent"``, ``x_dim = latent_dim``) or the squashed action a (``"action"``,
``x_dim = action_dim``).

Actor (``sac_actor``): the encoder's own network ``s -> (loc, scale)`` with the distribution
``LatentSample``: one reparameterised draw ``z = loc + scale * eps``, eps ~ N(0, I), returned as z
(latent critic) or as ``a = squash(decode(s, z))`` (action critic), together with a score

    log N(z; loc, scale)                        (regularizer "entropy": -score estimates the entropy)
    log N(z; loc, scale) - log N(z; 0, I)       (regularizer "kl": score estimates KL(pi(.|s) || N(0, I)))
    log N(z; loc, scale) - sum log |d squash/dz| (regularizer "action_entropy", identity decoder only:
                                                 log pi(a|s) of a = squash(z), standard tanh-Gaussian SAC)

SACLoss weighs the score by alpha in the actor and target terms and tunes alpha on it, so everything
entropy-like acts on the latent. With the action critic, SACLoss evaluates Q(s, a) on the decoded draw:
the actor's gradient runs ``Q -> a -> squash -> decoder (frozen weights) -> z -> (loc, scale) ->
encoder``. The decoder is reached through a plain callable (``DecodeSquash`` over the policy's
``decode``), not a registered sub-module, so SACLoss never collects its weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from tensordict.nn import InteractionType, TensorDictModule
from torch import Size, Tensor, nn
from torch.distributions import Distribution
from torchrl.modules import ProbabilisticActor, ValueOperator

from gorl.interfaces.keys import LOC, OBSERVATION, SCALE
from gorl.interfaces.latent_policy import gaussian_log_prob
from gorl.squash import squash

_Shape = Size | list[int] | tuple[int, ...]

STATE_ACTION_VALUE = "state_action_value"


class ConcatMLP(nn.Module):
    """``(s (*B, obs_dim), x (*B, x_dim)) -> (*B, 1)``: an MLP on ``concat(s, x)``.

    Args:
        in_dim: ``obs_dim + x_dim``.
        hidden: hidden widths.
        layer_norm: LayerNorm after each hidden Linear, before the ReLU.
    """

    def __init__(self, in_dim: int, hidden: list[int], layer_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for width in hidden:
            layers.append(nn.Linear(last, width))
            if layer_norm:
                layers.append(nn.LayerNorm(width))
            layers.append(nn.ReLU())
            last = width
        layers.append(nn.Linear(last, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: Tensor, x: Tensor) -> Tensor:
        return self.net(torch.cat([obs, x], dim=-1))


def q_network(obs_dim: int, x_key: str, x_dim: int, hidden: list[int], layer_norm: bool) -> ValueOperator:
    """A critic ``(OBSERVATION, x_key) -> "state_action_value"`` for SACLoss."""
    return ValueOperator(
        ConcatMLP(obs_dim + x_dim, hidden, layer_norm),
        in_keys=[OBSERVATION, x_key],
        out_keys=[STATE_ACTION_VALUE],
    )


class DecodeSquash:
    """``(s, z) -> squash(decode(s, z))``; ``decode`` is the policy's (``ActingPolicy.decode``), held as a
    plain callable so that the decoder is not registered."""

    def __init__(self, decode: Callable[[Tensor, Tensor], Tensor], low: Tensor, high: Tensor) -> None:
        self.decode, self.low, self.high = decode, low, high

    def __call__(self, obs: Tensor, z: Tensor) -> Tensor:
        return squash(self.decode(obs, z), self.low, self.high)


class LatentSample(Distribution):
    """A reparameterised draw ``z ~ N(loc, diag(scale^2))``, returned as z or as ``decode(s, z)``.

    Args:
        loc, scale: ``(*B, latent_dim)``, scale > 0.
        obs: ``(*B, obs_dim)``, the decoder's condition.
        decode: ``(obs, z) -> action``, differentiable in z; None returns z itself.
        relative_to_prior: score draws by ``log N(z; loc, scale) - log N(z; 0, I)`` (a one-sample KL
            estimate) instead of ``log N(z; loc, scale)`` (a one-sample negative entropy).
        squash_bounds: ``(low, high)``: score by the density of ``squash(z)`` instead (change of variables
            through ``low + (tanh(z) + 1) (high - low) / 2``); only exact when the decoder is the identity.

    ``rsample_and_log_prob()`` returns ``(x (*S, *B, x_dim), score (*S, *B))`` for one draw; TorchRL's
    ``SACLoss`` calls exactly this for the actor, alpha and target terms. ``log_prob(x)`` is not defined:
    a decoded action does not determine its latent.
    """

    has_rsample = True
    arg_constraints: dict[str, Any] = {}  # noqa: RUF012 (torch's class attribute)

    def __init__(
        self,
        loc: Tensor,
        scale: Tensor,
        obs: Tensor,
        decode: Callable[[Tensor, Tensor], Tensor] | None = None,
        relative_to_prior: bool = False,
        squash_bounds: tuple[Tensor, Tensor] | None = None,
    ) -> None:
        self.loc, self.scale, self.obs, self.decode = loc, scale, obs, decode
        self.relative_to_prior, self.squash_bounds = relative_to_prior, squash_bounds
        super().__init__(batch_shape=loc.shape[:-1], event_shape=loc.shape[-1:], validate_args=False)

    def rsample_and_log_prob(self, sample_shape: _Shape = ()) -> tuple[Tensor, Tensor]:
        """One reparameterised draw: ``(x, score)`` (see the class docstring)."""
        shape = self._extended_shape(torch.Size(sample_shape))
        z = self.loc + self.scale * torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        score = gaussian_log_prob(z, self.loc, self.scale)
        if self.relative_to_prior:
            score = score - gaussian_log_prob(z, torch.zeros_like(z), torch.ones_like(z))
        if self.squash_bounds is not None:  # log |det d squash / dz|, with log(1 - tanh^2) written stably
            low, high = self.squash_bounds
            log_det = 2.0 * (math.log(2.0) - z - nn.functional.softplus(-2.0 * z)) + ((high - low) / 2).log()
            score = score - log_det.sum(-1)
        return self._out(z), score

    def rsample(self, sample_shape: _Shape = ()) -> Tensor:
        """A reparameterised draw of x."""
        return self.rsample_and_log_prob(sample_shape)[0]

    def sample(self, sample_shape: _Shape = ()) -> Tensor:
        """A draw of x without gradients."""
        with torch.no_grad():
            return self.rsample(sample_shape)

    @property
    def deterministic_sample(self) -> Tensor:
        """x at the mean latent."""
        return self._out(self.loc)

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError("LatentSample scores its own draws only: use rsample_and_log_prob()")

    def _out(self, z: Tensor) -> Tensor:
        if self.decode is None:
            return z
        obs = self.obs.expand(*z.shape[:-1], self.obs.shape[-1])
        return self.decode(obs, z)


def sac_actor(
    encoder: Any,
    out_key: str,
    decode: Callable[[Tensor, Tensor], Tensor] | None = None,
    relative_to_prior: bool = False,
    squash_bounds: tuple[Tensor, Tensor] | None = None,
) -> ProbabilisticActor:
    """OBSERVATION -> LOC, SCALE -> ``out_key`` via ``LatentSample`` on ``encoder.loc_scale`` (the
    encoder's own parameters, shared)."""
    module = TensorDictModule(encoder.loc_scale, in_keys=[OBSERVATION], out_keys=[LOC, SCALE])
    return ProbabilisticActor(
        module,
        in_keys={"loc": LOC, "scale": SCALE, "obs": OBSERVATION},
        out_keys=[out_key],
        distribution_class=LatentSample,
        distribution_kwargs={
            "decode": decode,
            "relative_to_prior": relative_to_prior,
            "squash_bounds": squash_bounds,
        },
        return_log_prob=False,
        log_prob_key=f"{out_key}_log_prob",
        default_interaction_type=InteractionType.RANDOM,
    )
