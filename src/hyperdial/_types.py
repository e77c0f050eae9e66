"""Shared type aliases and small enums used across every layer."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

ParamValue = float | int | str | bool | None
"""A value a parameter can take: a Python scalar that JSON stores exactly."""

Params = Mapping[str, ParamValue]
"""A configuration: parameter name to value."""

JSON = Any
"""A JSON-serialisable payload (dicts, lists, str, int, float, bool, None)."""


class Direction(enum.Enum):
    """Whether an objective is minimised or maximised."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: Direction | str) -> Direction:
        """Return the direction named by ``value``.

        Raises:
            ValueError: ``value`` is neither ``"minimize"`` nor ``"maximize"``.
        """
        if isinstance(value, Direction):
            return value
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        raise ValueError(f"direction must be 'minimize' or 'maximize'; got {value!r}.")


class FrozenDict(dict):  # type: ignore[type-arg]
    """A read-only, picklable ``dict`` used for the mappings inside frozen records."""

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError("this mapping is part of a frozen record and cannot be changed.")

    __setitem__ = _read_only  # type: ignore[assignment]
    __delitem__ = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]
    clear = _read_only  # type: ignore[assignment]
    pop = _read_only  # type: ignore[assignment]
    popitem = _read_only  # type: ignore[assignment]
    setdefault = _read_only  # type: ignore[assignment]
    update = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[object, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> FrozenDict:
        import copy

        return FrozenDict({k: copy.deepcopy(v, memo) for k, v in self.items()})
