"""Parameter distributions and their exact maps to and from the unit interval.

A distribution describes the legal values of one parameter. Every distribution maps to and from
the unit interval (on the log scale where asked) so that model-based samplers work in one
continuous cube; the maps are exact for integers, stepped floats and categoricals.

Example:
    >>> to_unit(Int(1, 4), 3), from_unit(Int(1, 4), 0.6)
    (0.625, 3)
    >>> round(from_unit(Float(1e-4, 1e-1, log=True), 2 / 3), 12)
    0.01
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import InvalidDistributionError, InvalidValueError

__all__ = [
    "Categorical",
    "Distribution",
    "Float",
    "Int",
    "cast_param",
    "distribution_from_json",
    "from_unit",
    "to_unit",
]

_REL_TOL = 1e-9


def _is_real(value: object) -> bool:
    kind = type(value)
    if kind is float or kind is int:
        return True
    return isinstance(value, numbers.Real) and kind is not bool


def _check_real(owner: str, name: str, value: object) -> float:
    if not _is_real(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise InvalidDistributionError(f"{owner}: {name} must be a finite number; got {value!r}.")
    return float(value)  # type: ignore[arg-type]


def _check_int(owner: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if _is_real(value) and float(value).is_integer():  # type: ignore[arg-type]
            return int(value)  # type: ignore[call-overload]
        raise InvalidDistributionError(f"{owner}: {name} must be an int; got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``, optionally on a log scale or a step grid.

    Args:
        low: Smallest value.
        high: Largest value (``>= low``).
        log: Sample on the log scale; needs ``low > 0`` and no step.
        step: Grid spacing from ``low``; ``high - low`` must be a multiple of it.
        default: Where an expert would start; must lie in the range.

    Example:
        >>> Float(1e-4, 1e-1, log=True, default=1e-2).contains(0.05)
        True
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None
    default: float | None = None

    def __post_init__(self) -> None:
        low = _check_real("Float", "low", self.low)
        high = _check_real("Float", "high", self.high)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if low > high:
            raise InvalidDistributionError(
                f"Float: low must be <= high; got low={low!r}, high={high!r}."
            )
        if not math.isfinite(high - low):
            raise InvalidDistributionError(
                f"Float: high - low must be a finite float; got low={low!r}, high={high!r}, "
                "whose difference overflows (rescale the parameter)."
            )
        if not isinstance(self.log, bool):
            raise InvalidDistributionError(f"Float: log must be a bool; got {self.log!r}.")
        if self.log and low <= 0:
            raise InvalidDistributionError(
                f"Float: low must be > 0 when log=True; got low={low!r}."
            )
        if self.step is not None:
            step = _check_real("Float", "step", self.step)
            if step <= 0:
                raise InvalidDistributionError(f"Float: step must be > 0; got {step!r}.")
            if self.log:
                raise InvalidDistributionError(
                    "Float: step and log=True cannot be combined; got step="
                    f"{step!r} with log=True."
                )
            n = (high - low) / step
            if abs(n - round(n)) > 1e-8 * max(1.0, abs(n)):
                raise InvalidDistributionError(
                    f"Float: step must divide high - low; got step={step!r} for the range "
                    f"[{low!r}, {high!r}]."
                )
            object.__setattr__(self, "step", step)
        if self.default is not None:
            default = _check_real("Float", "default", self.default)
            if not self.contains(default):
                raise InvalidDistributionError(
                    f"Float: default must lie in [{low!r}, {high!r}] (on the step grid); "
                    f"got {default!r}."
                )
            object.__setattr__(self, "default", default)

    @property
    def n_grid(self) -> int | None:
        """Return the number of legal values when stepped, else ``None``."""
        if self.step is None:
            return None
        return int(round((self.high - self.low) / self.step)) + 1

    def contains(self, value: object) -> bool:
        """Return whether ``value`` is a legal value of this distribution."""
        if not _is_real(value):
            return False
        x = float(value)  # type: ignore[arg-type]
        if not math.isfinite(x):
            return False
        tol = _REL_TOL * max(1.0, abs(self.high), abs(self.low))
        if x < self.low - tol or x > self.high + tol:
            return False
        if self.step is not None:
            k = (x - self.low) / self.step
            return abs(k - round(k)) <= 1e-6
        return True

    def cast(self, value: object) -> float:
        """Return ``value`` as a legal Python float, snapped to the step grid.

        Raises:
            InvalidValueError: ``value`` is not a legal value.
        """
        if not self.contains(value):
            raise InvalidValueError(f"value must lie in {self}; got {value!r}.")
        x = min(max(float(value), self.low), self.high)  # type: ignore[arg-type]
        if self.step is not None:
            x = self.low + round((x - self.low) / self.step) * self.step
            x = min(max(x, self.low), self.high)
        return float(x)

    def to_json(self) -> dict[str, JSON]:
        """Return a JSON-able description; :func:`distribution_from_json` inverts it."""
        return {
            "type": "float",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
            "default": self.default,
        }


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]``, optionally on a log scale or a step grid.

    Example:
        >>> Int(32, 256, step=32).contains(96)
        True
    """

    low: int
    high: int
    log: bool = False
    step: int = 1
    default: int | None = None

    def __post_init__(self) -> None:
        low = _check_int("Int", "low", self.low)
        high = _check_int("Int", "high", self.high)
        step = _check_int("Int", "step", self.step)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "step", step)
        if low > high:
            raise InvalidDistributionError(
                f"Int: low must be <= high; got low={low!r}, high={high!r}."
            )
        if not isinstance(self.log, bool):
            raise InvalidDistributionError(f"Int: log must be a bool; got {self.log!r}.")
        if step < 1:
            raise InvalidDistributionError(f"Int: step must be an int >= 1; got {step!r}.")
        if self.log and low < 1:
            raise InvalidDistributionError(f"Int: low must be >= 1 when log=True; got {low!r}.")
        if self.log and step != 1:
            raise InvalidDistributionError(
                f"Int: step must be 1 when log=True; got step={step!r}."
            )
        if (high - low) % step:
            raise InvalidDistributionError(
                f"Int: step must divide high - low; got step={step!r} for the range "
                f"[{low!r}, {high!r}]."
            )
        if self.default is not None:
            if not self.contains(self.default):
                raise InvalidDistributionError(
                    f"Int: default must be an int in [{low!r}, {high!r}] on the step grid; "
                    f"got {self.default!r}."
                )
            object.__setattr__(self, "default", int(self.default))

    @property
    def n_grid(self) -> int:
        """Return the number of legal values."""
        return (self.high - self.low) // self.step + 1

    def contains(self, value: object) -> bool:
        """Return whether ``value`` is a legal value of this distribution."""
        if isinstance(value, bool):
            return False
        if isinstance(value, numbers.Integral):
            x = int(value)
        elif _is_real(value) and math.isfinite(float(value)) and float(value).is_integer():  # type: ignore[arg-type]
            x = int(value)  # type: ignore[call-overload]
        else:
            return False
        return self.low <= x <= self.high and (x - self.low) % self.step == 0

    def cast(self, value: object) -> int:
        """Return ``value`` as a legal Python int.

        Raises:
            InvalidValueError: ``value`` is not a legal value.
        """
        if not self.contains(value):
            raise InvalidValueError(f"value must be an int in {self}; got {value!r}.")
        return int(value)  # type: ignore[call-overload]

    def to_json(self) -> dict[str, JSON]:
        """Return a JSON-able description; :func:`distribution_from_json` inverts it."""
        return {
            "type": "int",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
            "default": self.default,
        }


def _json_key(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _scalar(value: object) -> ParamValue:
    """Return ``value`` as a plain Python scalar (numpy scalars included)."""
    if value is None or type(value) in (str, int, float, bool):
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)  # type: ignore[arg-type]
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise TypeError(type(value).__name__)


def _choice_key(value: object) -> tuple[type, object]:
    """Return a hashable key telling ``1``, ``1.0``, ``True`` and ``"1"`` apart."""
    scalar = _scalar(value)
    return (type(scalar), scalar)


@dataclass(frozen=True, eq=False)
class Categorical:
    """A parameter taking one of a few unordered choices (str, int, float, bool or None).

    Example:
        >>> Categorical(["constant", "cosine"], default="cosine").index("cosine")
        1
    """

    choices: Sequence[ParamValue]
    default: ParamValue = None
    _keys: dict[tuple[type, object], int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise InvalidDistributionError(
                f"Categorical: choices must be a list or tuple; got {type(self.choices).__name__}."
            )
        choices = tuple(self.choices)
        if not choices:
            raise InvalidDistributionError("Categorical: choices must not be empty; got [].")
        keys: dict[tuple[type, object], int] = {}
        plain = []
        for i, c in enumerate(choices):
            try:
                c = _scalar(c)
            except TypeError:
                raise InvalidDistributionError(
                    "Categorical: choices must be str, int, float, bool or None so they can be "
                    f"stored; got {c!r} of type {type(c).__name__}."
                ) from None
            plain.append(c)
            if isinstance(c, float) and not math.isfinite(c):
                raise InvalidDistributionError(
                    f"Categorical: choices must be finite numbers; got {c!r}."
                )
            key = _choice_key(c)
            if key in keys:
                raise InvalidDistributionError(
                    f"Categorical: choices must be unique; {c!r} repeats."
                )
            keys[key] = i
        object.__setattr__(self, "choices", tuple(plain))
        object.__setattr__(self, "_keys", keys)
        if self.default is not None and not self.contains(self.default):
            raise InvalidDistributionError(
                f"Categorical: default must be one of {list(choices)!r}; got {self.default!r}."
            )

    def __eq__(self, other: object) -> bool:
        # Type-aware: Categorical([1]) differs from Categorical([True]) and Categorical([1.0]).
        if not isinstance(other, Categorical):
            return NotImplemented
        return list(self._keys) == list(other._keys) and _choice_key(self.default) == _choice_key(
            other.default
        )

    def __hash__(self) -> int:
        return hash((tuple(self._keys), _choice_key(self.default)))

    @property
    def n_grid(self) -> int:
        """Return the number of choices."""
        return len(self.choices)

    def index(self, value: object) -> int:
        """Return the position of ``value`` among the choices (type-aware: ``1 != True``).

        Raises:
            InvalidValueError: ``value`` is not a choice.
        """
        try:
            return self._keys[_choice_key(value)]
        except (KeyError, TypeError):
            raise InvalidValueError(
                f"value must be one of {list(self.choices)!r}; got {value!r}."
            ) from None

    def contains(self, value: object) -> bool:
        """Return whether ``value`` is one of the choices."""
        try:
            self.index(value)
        except InvalidValueError:
            return False
        return True

    def cast(self, value: object) -> ParamValue:
        """Return the stored choice equal to ``value``."""
        return self.choices[self.index(value)]

    def to_json(self) -> dict[str, JSON]:
        """Return a JSON-able description; :func:`distribution_from_json` inverts it."""
        return {"type": "categorical", "choices": list(self.choices), "default": self.default}


Distribution = Float | Int | Categorical
"""The closed union of parameter distributions."""


def distribution_from_json(data: Mapping[str, JSON]) -> Distribution:
    """Rebuild a distribution from :meth:`Float.to_json` and its siblings.

    Raises:
        InvalidDistributionError: the description is not a valid distribution.
    """
    if not isinstance(data, Mapping):
        raise InvalidDistributionError(
            f"a distribution must be a mapping with a 'type'; got {data!r}."
        )
    kind = str(data.get("type", "")).lower()
    rest = {k: v for k, v in data.items() if k != "type"}
    try:
        if kind == "float":
            return Float(**rest)
        if kind == "int":
            return Int(**rest)
        if kind == "categorical":
            return Categorical(**rest)
    except TypeError as exc:
        raise InvalidDistributionError(
            f"{kind} distribution: {exc}; got {dict(data)!r}."
        ) from None
    raise InvalidDistributionError(
        f"distribution type must be 'float', 'int' or 'categorical'; got {data.get('type')!r}."
    )


def to_unit(dist: Distribution, value: ParamValue) -> float:
    """Map a legal ``value`` of ``dist`` into ``[0, 1]``.

    Continuous floats map linearly (or log-linearly); integers, stepped floats and categoricals
    map to the centre of their cell, so :func:`from_unit` recovers them exactly.
    """
    if isinstance(dist, Categorical):
        return (dist.index(value) + 0.5) / len(dist.choices)
    x = float(value)  # type: ignore[arg-type]
    if isinstance(dist, Int) and dist.log:
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        return (math.log(x) - lo) / (hi - lo)
    if isinstance(dist, Int) or dist.step is not None:
        step = dist.step
        n = dist.n_grid
        assert step is not None and n is not None
        k = round((x - dist.low) / step)
        return (k + 0.5) / n
    if dist.high == dist.low:
        return 0.5
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        return (math.log(x) - lo) / (hi - lo)
    return (x - dist.low) / (dist.high - dist.low)


def from_unit(dist: Distribution, u: float) -> ParamValue:
    """Map ``u`` in ``[0, 1]`` (clipped) to a legal value of ``dist``, as a Python scalar."""
    u = min(max(float(u), 0.0), 1.0)
    if isinstance(dist, Categorical):
        n = len(dist.choices)
        return dist.choices[min(int(u * n), n - 1)]
    if isinstance(dist, Int) and dist.log:
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        x = round(math.exp(lo + u * (hi - lo)))
        return int(min(max(x, dist.low), dist.high))
    if isinstance(dist, Int):
        k = min(int(u * dist.n_grid), dist.n_grid - 1)
        return int(dist.low + k * dist.step)
    if dist.step is not None:
        n = dist.n_grid
        assert n is not None
        k = min(int(u * n), n - 1)
        return float(min(dist.low + k * dist.step, dist.high))
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        return float(min(max(math.exp(lo + u * (hi - lo)), dist.low), dist.high))
    return float(min(max(dist.low + u * (dist.high - dist.low), dist.low), dist.high))


def cast_param(name: str, dist: Distribution, value: object) -> ParamValue:
    """Return ``value`` cast to ``dist``'s type, or raise naming the parameter.

    Raises:
        InvalidValueError: ``value`` is not legal for ``dist``.
    """
    try:
        return dist.cast(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"parameter {name!r}: {exc}") from None
