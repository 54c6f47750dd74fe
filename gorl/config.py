"""Base for gorl's pydantic configs: unknown fields and wrong types fail at construction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class Config(BaseModel):
    """A strict config: extra fields are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


C = TypeVar("C", bound=Config)


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
