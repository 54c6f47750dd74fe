"""The replay buffer: preallocated plain tensors on the run's device, FIFO, uniform sampling.

Fields (each ``(capacity, *shape)``, allocated at the first ``extend``): ``obs``, ``x`` (the stored z
and env action, see ``FIELDS``), ``next_obs``, ``reward``, ``done``, ``terminated``. ``sample(k, B)``
draws ``k * B`` indices uniformly with replacement from torch's global generator in one call and
gathers every field once: k minibatches ``(k, B, ...)`` for k updates, with no TensorDict and one
index draw per call.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

FIELDS = ("obs", "latent", "action", "next_obs", "reward", "done", "terminated")


class Replay:
    """A FIFO of ``capacity`` transitions; see the module docstring.

    Args:
        capacity: transitions held; the oldest are overwritten.
        device: where the storage lives.
    """

    def __init__(self, capacity: int, device: torch.device) -> None:
        self.capacity, self.device = capacity, device
        self.data: dict[str, Tensor] = {}
        self.cursor = 0  # next slot to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def extend(self, items: dict[str, Tensor]) -> None:
        """Appends N transitions, every field ``(N, *shape)`` (N <= capacity)."""
        n = items["obs"].shape[0]
        if not self.data:
            self.data = {
                k: torch.empty((self.capacity, *v.shape[1:]), dtype=v.dtype, device=self.device)
                for k, v in items.items()
            }
        end = self.cursor + n
        if end <= self.capacity:
            for k, v in items.items():
                self.data[k][self.cursor : end] = v
        else:
            idx = torch.arange(self.cursor, end, device=self.device) % self.capacity
            for k, v in items.items():
                self.data[k][idx] = v.to(self.device)
        self.cursor = end % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, k: int, batch_size: int, fields: tuple[str, ...] = FIELDS) -> dict[str, Tensor]:
        """``k`` minibatches of ``batch_size`` uniform draws: each field ``(k, batch_size, *shape)``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = torch.randint(0, self.size, (k * batch_size,), device=self.device)
        return {
            f: self.data[f].index_select(0, idx).view(k, batch_size, *self.data[f].shape[1:]) for f in fields
        }

    def empty(self) -> None:
        """Forgets every transition (the storage is kept)."""
        self.cursor = self.size = 0

    def state_dict(self) -> dict[str, Any]:
        """The filled part (slots ``0..size-1`` in storage order, copied) and the write cursor."""
        data = {k: v[: self.size].clone() for k, v in self.data.items()} if self.size else None
        return {"data": data, "size": self.size, "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict``."""
        self.empty()
        if state["size"]:
            self.extend({k: v.to(self.device) for k, v in state["data"].items()})
        self.size, self.cursor = int(state["size"]), int(state["cursor"])
