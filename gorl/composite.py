"""CompositePolicy: any LatentPolicy paired with any GenerativeDecoder.

pi(a | s) = integral of pi_theta(z | s) g_phi(a | s, z) dz, run as a TorchRL TensorDict module:

    OBSERVATION -> [encoder.actor] -> LOC, SCALE, LATENT, LATENT_LOG_PROB
    (OBSERVATION, LATENT) -> [decoder.decode] -> RAW_ACTION -> [squash] -> ACTION

It owns no math: the encoder samples, the decoder decodes, ``gorl.squash.squash`` maps into the bounds.
The decoder reads ``latent.detach()``: no gradient path from the action back into the encoder, which is
optimised in latent space only (``ClipPPOLoss(policy.encoder.actor, critic)`` computes ratios on LATENT).
Under ``torchrl.envs.utils.set_exploration_type(ExplorationType.DETERMINISTIC)`` the latent is the
encoder's mean (evaluation).
"""

from __future__ import annotations

import torch
from tensordict.nn import TensorDictModule, TensorDictSequential
from torch import Tensor, nn

from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.keys import ACTION, LATENT, OBSERVATION, RAW_ACTION
from gorl.interfaces.latent_policy import LatentPolicy, gaussian_log_prob
from gorl.squash import squash


class _DecodeSquash(nn.Module):
    """(obs, z) -> (raw_action, action): forwards to the decoder, then to ``squash``."""

    low: Tensor
    high: Tensor

    def __init__(self, decoder: GenerativeDecoder, low: Tensor, high: Tensor) -> None:
        super().__init__()
        self.decoder = decoder
        self.register_buffer("low", low)
        self.register_buffer("high", high)

    def forward(self, obs: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        raw = self.decoder.decode(obs, z.detach())
        return raw, squash(raw, self.low, self.high)


class CompositePolicy(TensorDictSequential):
    """Pairs an encoder with a decoder; see the module docstring.

    Args:
        encoder: a ``LatentPolicy`` (e.g. ``gorl.encoders.make("gaussian", ...)``).
        decoder: a ``GenerativeDecoder`` (e.g. ``gorl.decoders.make("flow", ...)``).
        action_low, action_high: the env's action bounds, broadcastable to ``(action_dim,)``.
    """

    def __init__(
        self,
        encoder: LatentPolicy,
        decoder: GenerativeDecoder,
        action_low: Tensor | float = -1.0,
        action_high: Tensor | float = 1.0,
    ) -> None:
        for name, part, proto in (
            ("encoder", encoder, LatentPolicy),
            ("decoder", decoder, GenerativeDecoder),
        ):
            if not isinstance(part, proto):
                raise TypeError(f"{name} is a {type(part).__name__}, which lacks part of {proto.__name__}")
        if encoder.latent_dim != decoder.latent_dim:
            raise ValueError(
                f"encoder latent_dim={encoder.latent_dim} differs from "
                f"decoder latent_dim={decoder.latent_dim}"
            )
        if encoder.obs_dim != decoder.obs_dim:
            raise ValueError(
                f"encoder obs_dim={encoder.obs_dim} differs from decoder obs_dim={decoder.obs_dim}"
            )
        low = torch.as_tensor(action_low, dtype=torch.float32).expand(decoder.action_dim).clone()
        high = torch.as_tensor(action_high, dtype=torch.float32).expand(decoder.action_dim).clone()
        if not bool((low < high).all()):
            raise ValueError(f"action_low must be below action_high elementwise, got {low} and {high}")
        decode = TensorDictModule(
            _DecodeSquash(decoder, low, high), in_keys=[OBSERVATION, LATENT], out_keys=[RAW_ACTION, ACTION]
        )
        super().__init__(encoder.actor, decode)
        self.encoder = encoder
        self.decoder = decoder

    @property
    def action_low(self) -> Tensor:
        """Lower action bounds ``(action_dim,)``."""
        return self.module[1].module.low

    @property
    def action_high(self) -> Tensor:
        """Upper action bounds ``(action_dim,)``."""
        return self.module[1].module.high

    def act(self, obs: Tensor, *, deterministic: bool = False) -> dict[str, Tensor]:
        """The rollout's fast path on plain tensors (no TensorDict), same math as ``forward``.

        obs ``(*B, obs_dim)`` (already normalised) -> ``latent``, ``log_prob`` ``(*B,)``, ``raw_action``
        and ``action``. ``deterministic`` takes the mean latent (evaluation).
        """
        loc, scale = self.encoder.loc_scale(obs)
        z = loc if deterministic else loc + scale * torch.randn_like(loc)
        raw = self.decoder.decode(obs, z.detach())
        return {
            "latent": z,
            "log_prob": gaussian_log_prob(z, loc, scale),
            "raw_action": raw,
            "action": squash(raw, self.action_low, self.action_high),
        }

    def with_decoder(self, decoder: GenerativeDecoder) -> CompositePolicy:
        """A new composite sharing this encoder, paired with ``decoder``."""
        return CompositePolicy(self.encoder, decoder, self.action_low.clone(), self.action_high.clone())

    def __repr__(self) -> str:
        return (
            f"CompositePolicy(encoder={type(self.encoder).__name__}, decoder={type(self.decoder).__name__})"
        )
