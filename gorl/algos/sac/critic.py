"""Twin critics as one ensemble module: the two MLPs' weights stacked, the first layer one shared matmul.

``Q_i(s, x) = MLP_i(concat(s, x))``, i = 1, 2, ReLU, optional LayerNorm after each hidden Linear (before
the ReLU). Layer l of the ensemble holds ``weight (E, out, in)`` and ``bias (E, out)`` (``nn.Linear``'s
layout per member, stacked); the first layer runs as one matmul of the shared input against both
members' rows, the others per member. This is the arithmetic of TorchRL's vmapped critics
(``SACLoss(num_qvalue_nets=2)``) without vmap, TensorDict or module dispatch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

# one layer's parameters: (weight (E, out, in), bias (E, out), LayerNorm (weight, bias) (E, out) or None)
Layer = tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]


def ensemble_mlp(layers: Sequence[Layer], inp: Tensor) -> Tensor:
    """E MLPs on one shared input: ``inp (B, in)`` -> ``(E, B, out_last)``.

    Hidden layers: ``h <- relu(layer_norm(h W^T + b))`` (``layer_norm`` only where given, affine per
    member); the last layer is linear. The first layer is one matmul for all members; the later ones run
    per member (``baddbmm`` over the members was as fast on one thread and 15% slower on two).
    """
    w0, b0, _ = layers[0]
    e = w0.shape[0]
    # first layer: one (B, in) x (in, E * out) matmul; member m owns columns m * out : (m + 1) * out
    first = nn.functional.linear(inp, w0.reshape(-1, w0.shape[-1]), b0.reshape(-1)).chunk(e, dim=-1)
    out = []
    for m in range(e):
        h = first[m]
        for i, (w, b, norm) in enumerate(layers):
            if i > 0:
                h = nn.functional.linear(h, w[m], b[m])
            if i == len(layers) - 1:
                break
            if norm is not None:
                h = nn.functional.layer_norm(h, h.shape[-1:], norm[0][m], norm[1][m])
            h = torch.relu(h)
        out.append(h)
    return torch.stack(out)


def twin_q(layers: Sequence[Layer], obs: Tensor, x: Tensor) -> Tensor:
    """``Q_i(s, x)`` of every member: ``obs (B, obs_dim)``, ``x (B, x_dim)`` -> ``(E, B)``."""
    return ensemble_mlp(layers, torch.cat([obs, x], dim=-1)).squeeze(-1)


class TwinCritic(nn.Module):
    """``E`` critics ``(s (B, obs_dim), x (B, x_dim)) -> (E, B)``; see the module docstring.

    Args:
        in_dim: ``obs_dim + x_dim``.
        hidden: hidden widths.
        layer_norm: LayerNorm after each hidden Linear.
        members: E (2: twin critics).

    Each member starts as ``nn.Linear``'s default initialisation draws it (``reset_parameters``).
    Parameters are ordered layer by layer: weight, bias, then LayerNorm weight and bias.
    """

    def __init__(self, in_dim: int, hidden: list[int], layer_norm: bool = False, members: int = 2) -> None:
        super().__init__()
        widths = [in_dim, *hidden, 1]
        self.members, self.widths, self.layer_norm = members, widths, layer_norm
        self.params = nn.ParameterList()
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            self.params.append(nn.Parameter(torch.empty(members, fan_out, fan_in)))
            self.params.append(nn.Parameter(torch.empty(members, fan_out)))
            if layer_norm and i < len(hidden):
                self.params.append(nn.Parameter(torch.ones(members, fan_out)))
                self.params.append(nn.Parameter(torch.zeros(members, fan_out)))
        self.reset_parameters()

    def layers(self, params: Sequence[Tensor] | None = None) -> list[Layer]:
        """``params`` (default: this module's, in order) grouped per layer for ``ensemble_mlp``."""
        p = list(self.params) if params is None else list(params)
        out: list[Layer] = []
        k = 0
        for i in range(len(self.widths) - 1):
            w, b = p[k], p[k + 1]
            k += 2
            norm = None
            if self.layer_norm and i < len(self.widths) - 2:
                norm = (p[k], p[k + 1])
                k += 2
            out.append((w, b, norm))
        return out

    def forward(self, obs: Tensor, x: Tensor) -> Tensor:
        """``(B, obs_dim), (B, x_dim) -> (E, B)``."""
        return twin_q(self.layers(), obs, x)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Every member as ``nn.Linear`` initialises itself (kaiming-uniform weights, uniform biases in
        +-1/sqrt(fan_in)); LayerNorm weight 1, bias 0."""
        for w, b, norm in self.layers():
            for m in range(self.members):
                nn.init.kaiming_uniform_(w[m], a=math.sqrt(5))
            bound = 1.0 / math.sqrt(w.shape[-1])
            nn.init.uniform_(b, -bound, bound)
            if norm is not None:
                norm[0].fill_(1.0)
                norm[1].zero_()
