"""Probability paths between actions and noise: shared by the flow decoder (``gorl.decoders.flow``) and
by FPO's ratio (``gorl.algos.fpo``), below both.

Conventions (the official GoRL code's): t = 0 is the data (the action), t = 1 the noise.
"""

from __future__ import annotations

from torch import Tensor


def ot_path(action: Tensor, eps: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """The linear (optimal-transport) conditional path and its velocity, official orientation.

    ``x_t = t * eps + (1 - t) * action`` (t = 0 is data, t = 1 is noise) and ``dx_t/dt = eps - action``.

    Args:
        action: ``(*B, D)`` data points.
        eps: ``(*B, D)`` noise, N(0, I).
        t: ``(*B,)`` times in [0, 1].

    Returns:
        ``(x_t, target)``, both ``(*B, D)``.
    """
    tt = t.unsqueeze(-1)
    return tt * eps + (1.0 - tt) * action, eps - action
