"""ModuleLike: the ``nn.Module`` methods gorl calls on encoders and decoders (any nn.Module has them)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from torch.nn import Parameter


class ModuleLike(Protocol):
    """Parameters, state and placement, as ``torch.nn.Module`` provides them."""

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Learnable parameters."""
        ...

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Weights and buffers."""
        ...

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """Restores ``state_dict``."""
        ...

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """Moves to a device or dtype."""
        ...

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        """Turns gradients on or off for every parameter."""
        ...
