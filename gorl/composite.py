"""CompositePolicy: any LatentPolicy paired with any GenerativeDecoder.

pi(a | s) = integral of pi_theta(z | s) g_phi(a | s, z) dz, run as a TorchRL TensorDict module:

    OBSERVATION -> [encoder.actor] -> LOC, SCALE, LATENT, LATENT_LOG_PROB
    (OBSERVATION, LATENT) -> [decoder_obs] -> [decoder.decode] -> RAW_ACTION -> [squash] -> ACTION

``decoder_obs`` (optional, identity by default) maps the observation as the encoder sees it to the one
the decoder was fitted on: ``gorl.algos.running_norm.Renormalize`` keeps a refitted decoder on the
normaliser's statistics of its refit while the encoder follows the running ones
(``ScheduleConfig.decoder_observations``). Every caller decodes through ``decode``.

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
    """(obs, z) -> (raw_action, action): maps obs (``obs_map``), forwards to the decoder, then to
    ``squash``."""

    low: Tensor
    high: Tensor

    def __init__(
        self, decoder: GenerativeDecoder, low: Tensor, high: Tensor, obs_map: nn.Module | None
    ) -> None:
        super().__init__()
        self.decoder = decoder
        self.obs_map = obs_map
        self.register_buffer("low", low)
        self.register_buffer("high", high)

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        return self.decoder.decode(obs if self.obs_map is None else self.obs_map(obs), z)

    def forward(self, obs: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        raw = self.decode(obs, z.detach())
        return raw, squash(raw, self.low, self.high)


class CompositePolicy(TensorDictSequential):
    """Pairs an encoder with a decoder; see the module docstring.

    Args:
        encoder: a ``LatentPolicy`` (e.g. ``gorl.encoders.make("gaussian", ...)``).
        decoder: a ``GenerativeDecoder`` (e.g. ``gorl.decoders.make("flow", ...)``).
        action_low, action_high: the env's action bounds, broadcastable to ``(action_dim,)``.
        decoder_obs: a module mapping ``(*B, obs_dim)`` observations as the encoder sees them to those
            the decoder reads (None: the same).
    """

    def __init__(
        self,
        encoder: LatentPolicy,
        decoder: GenerativeDecoder,
        action_low: Tensor | float = -1.0,
        action_high: Tensor | float = 1.0,
        *,
        decoder_obs: nn.Module | None = None,
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
            _DecodeSquash(decoder, low, high, decoder_obs),
            in_keys=[OBSERVATION, LATENT],
            out_keys=[RAW_ACTION, ACTION],
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

    @property
    def decoder_obs(self) -> nn.Module | None:
        """The map from the encoder's observations to the decoder's (None: the same)."""
        obs_map: nn.Module | None = self.module[1].module.obs_map
        return obs_map

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        """The unsquashed action ``(*B, action_dim)`` of latent ``z`` at ``obs`` (as the encoder sees it):
        the decoder at ``decoder_obs(obs)``. Gradients flow to ``z`` (frozen decoders stay frozen)."""
        raw: Tensor = self.module[1].module.decode(obs, z)
        return raw

    def act(self, obs: Tensor, *, deterministic: bool = False) -> dict[str, Tensor]:
        """The rollout's fast path on plain tensors (no TensorDict), same math as ``forward``.

        obs ``(*B, obs_dim)`` (already normalised) -> ``latent``, ``log_prob`` ``(*B,)``, ``raw_action``
        and ``action``. ``deterministic`` takes the mean latent (evaluation).
        """
        loc, scale = self.encoder.loc_scale(obs)
        z = loc if deterministic else loc + scale * torch.randn_like(loc)
        raw = self.decode(obs, z.detach())
        return {
            "latent": z,
            "log_prob": gaussian_log_prob(z, loc, scale),
            "raw_action": raw,
            "action": squash(raw, self.action_low, self.action_high),
        }

    def with_decoder(
        self, decoder: GenerativeDecoder, *, decoder_obs: nn.Module | None = None
    ) -> CompositePolicy:
        """A new composite sharing this encoder, paired with ``decoder`` reading ``decoder_obs(obs)``
        (None: obs as the encoder sees it)."""
        low, high = self.action_low.clone(), self.action_high.clone()
        return CompositePolicy(self.encoder, decoder, low, high, decoder_obs=decoder_obs)

    def __repr__(self) -> str:
        return (
            f"CompositePolicy(encoder={type(self.encoder).__name__}, decoder={type(self.decoder).__name__})"
        )
