"""Small network builders shared by encoders, decoders and critics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch import nn

Init = Literal["default", "orthogonal"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "tanh": nn.Tanh, "relu": nn.ReLU}


def mlp(
    in_dim: int, hidden: Sequence[int], out_dim: int, activation: type[nn.Module] = nn.SiLU
) -> nn.Sequential:
    """``in_dim -> hidden[0] -> ... -> out_dim`` with ``activation`` between layers (none at the end)."""
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        layers += [nn.Linear(last, width), activation()]
        last = width
    layers.append(nn.Linear(last, out_dim))
    return nn.Sequential(*layers)


def reinit_(module: nn.Module) -> None:
    """Re-initialises every sub-module that has ``reset_parameters`` (PyTorch's default init)."""
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if sub is not module and callable(reset):
            reset()


def orthogonal_(module: nn.Module, gain: float) -> None:
    """Orthogonal weights scaled by ``gain`` and zero biases for every ``nn.Linear`` in ``module`` (the
    initialisation of TorchRL's PPO recipe, pytorch/rl ``sota-implementations/ppo/utils_mujoco.py``)."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.orthogonal_(sub.weight, gain)
            nn.init.zeros_(sub.bias)


def init_(module: nn.Module, kind: Init, gain: float = 1.0) -> None:
    """Re-initialises ``module``: ``default`` is PyTorch's init (``reinit_``), ``orthogonal`` is
    ``orthogonal_(module, gain)``."""
    if kind == "default":
        reinit_(module)
    elif kind == "orthogonal":
        orthogonal_(module, gain)
    else:
        raise ValueError(f"unknown init {kind!r}; use 'default' or 'orthogonal'")
