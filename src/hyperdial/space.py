"""Search spaces: distributions, conditions, ordering constraints and their unit-cube maps.

A distribution describes the legal values of one parameter. Every distribution maps to and from
the unit interval (on the log scale where asked) so that model-based samplers work in one
continuous cube; the maps are exact for integers, stepped floats and categoricals.

Example:
    >>> from hyperdial import Float, Int, Categorical, SearchSpace
    >>> space = SearchSpace(
    ...     {"kernel": Categorical(["rbf", "linear"]), "gamma": Float(1e-3, 1.0, log=True)},
    ...     conditions={"gamma": "kernel == rbf"},
    ... )
    >>> space.active_names({"kernel": "linear"})
    ['kernel']
    >>> to_unit(Int(1, 4), 3), from_unit(Int(1, 4), 0.6)
    (0.625, 3)
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import InvalidDistributionError, InvalidValueError

__all__ = [
    "Categorical",
    "Condition",
    "Distribution",
    "Float",
    "Int",
    "Monotonic",
    "SearchSpace",
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


@dataclass(frozen=True)
class Categorical:
    """A parameter taking one of a few unordered choices (str, int, float, bool or None).

    Example:
        >>> Categorical(["constant", "cosine"], default="cosine").index("cosine")
        1
    """

    choices: tuple[ParamValue, ...]
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


_OPS = ("not in", "in", "==", "!=", ">=", "<=", ">", "<")
_COND_RE = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(not\s+in|in|==|!=|>=|<=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Condition:
    """``param op value``: the condition under which another parameter exists.

    Example:
        >>> Condition.parse("n_layers >= 3").holds({"n_layers": 4})
        True
    """

    param: str
    op: str
    value: JSON

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise InvalidDistributionError(
                f"Condition: op must be one of {list(_OPS)}; got {self.op!r}."
            )
        if self.op in ("in", "not in"):
            if not isinstance(self.value, (list, tuple)):
                raise InvalidDistributionError(
                    f"Condition: '{self.op}' needs a list of values; got {self.value!r}."
                )
            object.__setattr__(self, "value", tuple(self.value))

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``"name op value"``, e.g. ``"kernel == rbf"`` or ``"k in [1, 2]"``.

        The value is read as YAML, so ``3`` is an int, ``rbf`` a string and ``[a, b]`` a list.
        """
        import yaml

        match = _COND_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidDistributionError(
                f"a condition must read 'name op value' with op in {list(_OPS)}; got {text!r}."
            )
        name, op, raw = match.groups()
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        return cls(name, " ".join(op.split()), value)

    def holds(self, values: Mapping[str, ParamValue]) -> bool:
        """Return whether the condition holds; an absent parameter never satisfies it."""
        if self.param not in values:
            return False
        x = values[self.param]
        try:
            if self.op == "==":
                return _json_key(x) == _json_key(self.value) or (
                    _is_real(x) and _is_real(self.value) and x == self.value
                )
            if self.op == "!=":
                return not Condition(self.param, "==", self.value).holds(values)
            if self.op == "in":
                return any(Condition(self.param, "==", v).holds(values) for v in self.value)
            if self.op == "not in":
                return not Condition(self.param, "in", self.value).holds(values)
            if self.op == ">=":
                return bool(x >= self.value)  # type: ignore[operator]
            if self.op == "<=":
                return bool(x <= self.value)  # type: ignore[operator]
            if self.op == ">":
                return bool(x > self.value)  # type: ignore[operator]
            return bool(x < self.value)  # type: ignore[operator]
        except TypeError:
            return False

    def __str__(self) -> str:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.param} {self.op} {json.dumps(value)}"


@dataclass(frozen=True)
class Monotonic:
    """An ordering among parameters: e.g. layer widths that do not grow toward the output.

    Values drawn by a sampler are reordered to satisfy the constraint (their set of values is
    kept); values fixed by the user are kept as given and drawn neighbours are clipped to them.

    Args:
        names: The parameters in order (inactive ones are skipped).
        increasing: ``True`` for non-decreasing, ``False`` for non-increasing.
    """

    names: tuple[str, ...]
    increasing: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        if len(self.names) < 2:
            raise InvalidDistributionError(
                f"Monotonic: names must hold at least two parameters; got {list(self.names)!r}."
            )

    def holds(self, values: Mapping[str, ParamValue]) -> bool:
        """Return whether the active values respect the order."""
        seq = [values[n] for n in self.names if n in values]
        pairs = zip(seq, seq[1:])
        if self.increasing:
            return all(a <= b for a, b in pairs)  # type: ignore[operator]
        return all(a >= b for a, b in pairs)  # type: ignore[operator]

    def repair(self, values: dict[str, ParamValue], fixed: frozenset[str]) -> None:
        """Reorder (or clip) the drawn values in place so the order holds."""
        active = [n for n in self.names if n in values]
        free = [n for n in active if n not in fixed]
        if len(free) == len(active):
            ordered = sorted((values[n] for n in active), reverse=not self.increasing)  # type: ignore[type-var]
            for n, v in zip(active, ordered):
                values[n] = v
            return
        prev: ParamValue = None
        for n in active:
            if prev is not None and n not in fixed:
                v = values[n]
                if self.increasing and v < prev:  # type: ignore[operator]
                    values[n] = prev
                elif not self.increasing and v > prev:  # type: ignore[operator]
                    values[n] = prev
            prev = values[n]


class SearchSpace(Mapping[str, Distribution]):
    """An ordered, declarative search space with conditions and ordering constraints.

    Args:
        params: Parameter name to distribution, in the order they are drawn.
        conditions: Parameter name to a :class:`Condition`, its text form, or a list of them
            (all must hold); a conditioned parameter exists only when they hold and may depend
            only on parameters listed before it.
        constraints: :class:`Monotonic` orderings repaired after drawing.

    Example:
        >>> space = SearchSpace.from_dict({
        ...     "n_layers": {"type": "int", "low": 1, "high": 3},
        ...     "units_3": {"type": "int", "low": 8, "high": 64, "when": "n_layers >= 3"},
        ... })
        >>> space.active_names({"n_layers": 2})
        ['n_layers']
    """

    def __init__(
        self,
        params: Mapping[str, Distribution],
        conditions: Mapping[str, Condition | str | Sequence[Condition | str]] | None = None,
        constraints: Sequence[Monotonic] = (),
    ) -> None:
        if not isinstance(params, Mapping):
            raise InvalidDistributionError(
                f"SearchSpace: params must be a mapping of name to distribution; "
                f"got {type(params).__name__}."
            )
        self._params: dict[str, Distribution] = {}
        for name, dist in params.items():
            if not isinstance(name, str) or not name:
                raise InvalidDistributionError(
                    f"SearchSpace: parameter names must be non-empty strings; got {name!r}."
                )
            if not isinstance(dist, (Float, Int, Categorical)):
                raise InvalidDistributionError(
                    f"SearchSpace: parameter {name!r} must be a Float, Int or Categorical; "
                    f"got {type(dist).__name__}."
                )
            self._params[name] = dist
        self._conditions: dict[str, tuple[Condition, ...]] = {}
        order = {n: i for i, n in enumerate(self._params)}
        for name, conds in (conditions or {}).items():
            if name not in order:
                raise InvalidDistributionError(
                    f"SearchSpace: a condition names unknown parameter {name!r}."
                )
            items = [conds] if isinstance(conds, (str, Condition)) else list(conds)
            parsed = tuple(c if isinstance(c, Condition) else Condition.parse(c) for c in items)
            for cond in parsed:
                if cond.param not in order or order[cond.param] >= order[name]:
                    raise InvalidDistributionError(
                        f"SearchSpace: the condition of {name!r} ({cond}) must refer to a "
                        f"parameter listed before it; got {cond.param!r}."
                    )
            self._conditions[name] = parsed
        self._constraints = tuple(constraints)
        for c in self._constraints:
            if not isinstance(c, Monotonic):
                raise InvalidDistributionError(
                    f"SearchSpace: constraints must be Monotonic; got {type(c).__name__}."
                )
            unknown = [n for n in c.names if n not in order]
            if unknown:
                raise InvalidDistributionError(
                    f"SearchSpace: a constraint names unknown parameters {unknown!r}."
                )

    def __getitem__(self, name: str) -> Distribution:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"SearchSpace({self._params!r}, conditions={self.conditions!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return (
            list(self._params.items()) == list(other._params.items())
            and self._conditions == other._conditions
            and self._constraints == other._constraints
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[object, ...]:
        return (SearchSpace, (self._params, self._conditions, self._constraints))

    @property
    def conditions(self) -> Mapping[str, tuple[Condition, ...]]:
        """Return each conditioned parameter's conditions."""
        return dict(self._conditions)

    @property
    def constraints(self) -> tuple[Monotonic, ...]:
        """Return the ordering constraints."""
        return self._constraints

    @property
    def is_conditional(self) -> bool:
        """Return whether some parameter exists only under a condition."""
        return bool(self._conditions)

    def is_active(self, name: str, values: Mapping[str, ParamValue]) -> bool:
        """Return whether ``name`` exists given the values drawn before it."""
        return all(c.holds(values) for c in self._conditions.get(name, ()))

    def active_names(self, values: Mapping[str, ParamValue]) -> list[str]:
        """Return the parameters that exist in a configuration, in order."""
        seen: dict[str, ParamValue] = {}
        names = []
        for name in self._params:
            if self.is_active(name, seen):
                names.append(name)
                if name in values:
                    seen[name] = values[name]
        return names

    def validate(self, params: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
        """Check a full configuration and return it with values cast to their types.

        Raises:
            InvalidValueError: a value is illegal, an active parameter is missing, or a
                parameter is unknown or inactive.
        """
        unknown = [n for n in params if n not in self._params]
        if unknown:
            raise InvalidValueError(
                f"unknown parameters {unknown!r}; the space has {list(self._params)!r}."
            )
        out: dict[str, ParamValue] = {}
        for name in self.active_names(params):
            if name not in params:
                raise InvalidValueError(f"parameter {name!r} is missing from {dict(params)!r}.")
            out[name] = cast_param(name, self._params[name], params[name])
        extra = [n for n in params if n not in out]
        if extra:
            raise InvalidValueError(f"parameters {extra!r} are inactive under their conditions.")
        return out

    def to_dict(self) -> dict[str, JSON]:
        """Return the YAML/JSON form read by :meth:`from_dict`."""
        out: dict[str, JSON] = {}
        for name, dist in self._params.items():
            entry = {k: v for k, v in dist.to_json().items() if v is not None and v is not False}
            if isinstance(dist, Int) and entry.get("step") == 1:
                del entry["step"]
            conds = self._conditions.get(name)
            if conds:
                entry["when"] = [str(c) for c in conds] if len(conds) > 1 else str(conds[0])
            out[name] = entry
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, JSON], constraints: Sequence[Monotonic] = ()
    ) -> SearchSpace:
        """Build a space from ``{name: {type, low, high, log, step, choices, default, when}}``.

        Raises:
            InvalidDistributionError: an entry is invalid; the message names the parameter.
        """
        if not isinstance(data, Mapping):
            raise InvalidDistributionError(
                f"a search space must be a mapping of parameter name to definition; "
                f"got {type(data).__name__}."
            )
        params: dict[str, Distribution] = {}
        conditions: dict[str, JSON] = {}
        for name, entry in data.items():
            if isinstance(entry, (list, tuple)):
                entry = {"type": "categorical", "choices": list(entry)}
            if not isinstance(entry, Mapping):
                raise InvalidDistributionError(
                    f"parameter {name!r}: definition must be a mapping or a list of choices; "
                    f"got {entry!r}."
                )
            entry = dict(entry)
            when = entry.pop("when", None)
            try:
                params[name] = distribution_from_json(entry)
                if when is not None:
                    conditions[name] = when
            except InvalidDistributionError as exc:
                raise InvalidDistributionError(f"parameter {name!r}: {exc}") from None
        return cls(params, conditions, constraints)

    @classmethod
    def from_yaml(cls, source: str | Path) -> SearchSpace:
        """Build a space from YAML text or a path to a YAML file (see :meth:`from_dict`)."""
        import yaml

        text = Path(source).read_text() if isinstance(source, Path) else source
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidDistributionError(f"search space YAML is invalid: {exc}") from None
        return cls.from_dict(data)


def cast_param(name: str, dist: Distribution, value: object) -> ParamValue:
    """Return ``value`` cast to ``dist``'s type, or raise naming the parameter.

    Raises:
        InvalidValueError: ``value`` is not legal for ``dist``.
    """
    try:
        return dist.cast(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"parameter {name!r}: {exc}") from None
