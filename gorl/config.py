"""Base for gorl's pydantic configs: unknown fields and wrong types fail at construction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class Config(BaseModel):
    """A strict config: extra fields are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


C = TypeVar("C", bound=Config)


def drop_moved_field(data: Any, name: str, default: float, now: str) -> Any:
    """A ``mode="before"`` validator's body for a field that moved elsewhere: a run directory written
    before the move (its ``config.json`` holds the field at its old default) still loads; any other value
    is an error that says where the setting lives now."""
    if isinstance(data, Mapping) and name in data:
        data = dict(data)
        value = data.pop(name)
        if value != default:
            raise ValueError(f"{name} is no longer an optimiser setting: set {now} (got {name}={value!r})")
    return data


def with_overrides(base: C, overrides: Mapping[str, Any] | None, mutable: frozenset[str]) -> C:
    """``base`` with a stage's ``overrides``, validated; fields outside ``mutable`` (those that shape
    networks, envs or storage) raise a ValueError that names them."""
    overrides = dict(overrides or {})
    fixed = sorted(set(overrides) - mutable)
    if fixed:
        raise ValueError(
            f"stage overrides may not change {', '.join(fixed)} (they shape networks, envs or storage); "
            f"changeable: {', '.join(sorted(mutable))}"
        )
    return type(base).model_validate({**base.model_dump(), **overrides})
