"""The GenerativeDecoder interface: g_phi(a | s, z).

A decoder maps a state and a latent z to an action in the *unsquashed* space (R^action_dim). The
composite policy squashes that into the environment's bounds (``gorl.squash``). Training targets are
unsquashed actions too: the trainer fits on the raw (pre-squash) actions its rollouts recorded; actions
known only in env space (e.g. logged ones) map back through ``gorl.squash.unsquash``. A decoder is an
``nn.Module``.

Contract (checked by ``gorl.testing.check_decoder``):

* ``decode(obs, z)``: obs ``(*B, obs_dim)``, z ``(*B, latent_dim)`` -> ``(*B, action_dim)``; any batch
  shape ``*B`` (including ``()``), same dtype as the inputs, deterministic given (obs, z): the sampling
  chain (Euler steps, DDIM steps) adds no noise of its own. It never needs gradients into z: the encoder
  is optimised in latent space, so callers may run it under ``torch.no_grad()``.
* ``loss(obs, action)``: obs ``(*B, obs_dim)``, action ``(*B, action_dim)`` (unsquashed) -> a scalar,
  the likelihood-free generative objective. The decoder draws its own z ~ N(0, I) (and times, noise)
  from ``torch``'s global generator or the one passed; it never sees the encoder.
* ``loss(obs, action, generator, noise)``: with ``noise (*B, latent_dim)`` given, the decoder pairs
  each action with that noise instead of drawing its own (coupled pairs: the noise is the standardised
  latent ``(z - mu(s)) / sigma(s)`` that produced the action, still N(0, I) in distribution); only
  decoders whose ``couples`` trait is True accept it.
* ``couples``: a trait. True when ``loss`` accepts ``noise`` and ``decode(obs, noise)`` is then trained
  to reproduce the action it was paired with (flow and diffusion); False otherwise.
* ``trainable``: a trait. ``False`` for decoders with no parameters to fit (identity); the schedule then
  skips the decoder phase and the conformance suite skips the gradient check.
* ``reset_parameters()``: re-initialise before a refit (the official code refits from scratch).
* ``state_dict()`` / ``load_state_dict()`` round-trip exactly (from ``nn.Module``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Generator, Tensor

from gorl.interfaces.module import ModuleLike


@runtime_checkable
class GenerativeDecoder(ModuleLike, Protocol):
    """A conditional generator ``a = g_phi(s, z)`` trained by a likelihood-free loss."""

    obs_dim: int
    latent_dim: int
    action_dim: int
    trainable: bool
    couples: bool

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        """Maps ``(obs (*B, obs_dim), z (*B, latent_dim))`` to an unsquashed action ``(*B, action_dim)``."""
        ...

    def loss(
        self, obs: Tensor, action: Tensor, generator: Generator | None = None, noise: Tensor | None = None
    ) -> Tensor:
        """The generative objective on pairs ``(obs (*B, obs_dim), action (*B, action_dim))``; a scalar.
        ``noise (*B, latent_dim)`` pairs each action with its noise (``couples`` decoders only)."""
        ...

    def reset_parameters(self) -> None:
        """Re-initialises every learnable parameter (a no-op when ``trainable`` is False)."""
        ...


@runtime_checkable
class VelocityDecoder(GenerativeDecoder, Protocol):
    """A flow decoder: ``decode`` Euler-integrates ``velocity`` over ``steps`` steps from t = 1 (x = z) to
    t = 0, ``x <- x - velocity(x, t_k, obs) / steps`` at ``t_k = 1 - k / steps``. FPO and DPPO train its
    velocity field directly in action space."""

    steps: int

    def velocity(self, x: Tensor, t: Tensor, obs: Tensor) -> Tensor:
        """``v(x (N, D), t (N,), obs (N, obs_dim)) -> (N, D)``."""
        ...


@runtime_checkable
class ObservationStandardizing(Protocol):
    """A decoder that can read its observations standardised like the states it is fitted on:
    ``fit_decoder`` calls ``standardize_to(train_obs)`` before the fit (the built-in decoders with
    ``obs_norm="fit"``; a no-op otherwise). The moments belong in the decoder's ``state_dict``."""

    def standardize_to(self, obs: Tensor) -> None:
        """Sets the standardisation from ``obs (N, obs_dim)``."""
        ...
