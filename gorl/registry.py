"""A small typed registry with a ``register(name)`` decorator and entry-point plug-ins.

Each kind (decoders, encoders, optimisers, tasks) has one ``Registry``. Third-party packages add
entries through the Python entry-point group named by the registry (``gorl.decoders``, ...): the entry
point's object is imported when the registry is first read, and importing it registers it (or the
object itself is a factory, registered under the entry point's name).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """An unknown or duplicate name in a registry."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to factories of one kind.

    Args:
        kind: what is registered, used in messages ("decoder").
        group: the entry-point group scanned for plug-ins ("gorl.decoders").
    """

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, T] = {}
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator that registers its target under ``name``; a duplicate name raises."""

        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        """Registers ``obj`` under ``name``."""
        if not isinstance(name, str) or not name:
            raise RegistryError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries and self._entries[name] is not obj:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered (by {self._entries[name]!r}); "
                f"pick another name. Registered: {', '.join(sorted(self._entries))}"
            )
        self._entries[name] = obj

    def remove(self, name: str) -> None:
        """Unregisters ``name`` (for tests and interactive use)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry for ``name``; an unknown name raises with the list of known ones."""
        self._load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}. Known: {', '.join(self.names())}.{hint}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.group):
            obj = ep.load()
            if ep.name not in self._entries:
                self._entries[ep.name] = obj
