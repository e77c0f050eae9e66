"""Declarative search spaces: ordered parameters, conditions and ordering constraints.

Example:
    >>> from hyperdial import Float, Categorical, SearchSpace
    >>> space = SearchSpace(
    ...     {"kernel": Categorical(["rbf", "linear"]), "gamma": Float(1e-3, 1.0, log=True)},
    ...     conditions={"gamma": "kernel == rbf"},
    ... )
    >>> space.active_names({"kernel": "linear"})
    ['kernel']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hyperdial._types import JSON, ParamValue
from hyperdial._yaml import load_yaml
from hyperdial.distributions import (
    Categorical,
    Distribution,
    Float,
    Int,
    _is_real,
    _json_key,
    cast_param,
    distribution_from_json,
    from_unit,
    to_unit,
)
from hyperdial.exceptions import InvalidDistributionError, InvalidValueError, SpecError

__all__ = [
    "Categorical",
    "Condition",
    "Distribution",
    "Float",
    "Int",
    "Monotonic",
    "SearchSpace",
    "cast_param",
    "distribution_from_json",
    "from_unit",
    "to_unit",
]

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
        match = _COND_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidDistributionError(
                f"a condition must read 'name op value' with op in {list(_OPS)}; got {text!r}."
            )
        name, op, raw = match.groups()
        try:
            value = load_yaml(raw)
        except SpecError:
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

    def _before(self, a: ParamValue, b: ParamValue) -> bool:
        """Return whether ``a`` may stand before ``b``."""
        return bool(a <= b) if self.increasing else bool(a >= b)  # type: ignore[operator]

    def repair(self, values: dict[str, ParamValue], fixed: frozenset[str]) -> None:
        """Reorder the drawn values in place so the order holds; fixed values stay as given.

        Drawn values are sorted, and those between two fixed values are clipped into the
        interval the fixed values leave them.

        Raises:
            InvalidValueError: the fixed values themselves break the order.
        """
        active = [n for n in self.names if n in values]
        pinned = [n for n in active if n in fixed]
        for a, b in zip(pinned, pinned[1:]):
            if not self._before(values[a], values[b]):
                way = "shrink" if self.increasing else "grow"
                raise InvalidValueError(
                    f"fixed values {a}={values[a]!r} and {b}={values[b]!r} break the order "
                    f"of {list(self.names)}: values must not {way} along it."
                )
        free = [n for n in active if n not in fixed]
        ordered = sorted((values[n] for n in free), reverse=not self.increasing)  # type: ignore[type-var]
        for n, v in zip(free, ordered):
            values[n] = v
        lower: ParamValue = None  # the last fixed value seen: a bound for what follows
        for i, n in enumerate(active):
            if n in fixed:
                lower = values[n]
                continue
            upper = next((values[m] for m in active[i + 1 :] if m in fixed), None)
            v = values[n]
            if lower is not None and not self._before(lower, v):
                v = lower
            if upper is not None and not self._before(v, upper):
                v = upper
            values[n] = v

    def to_json(self) -> dict[str, JSON]:
        """Return the YAML/JSON form read by :meth:`SearchSpace.from_dict`."""
        return {"names": list(self.names), "increasing": self.increasing}


def _is_nested(data: Mapping[str, JSON]) -> bool:
    params = data.get("params")
    return (
        set(data) <= {"params", "constraints"}
        and isinstance(params, Mapping)
        and "type" not in params
    )


def _constraint_from_json(data: JSON) -> Monotonic:
    if not isinstance(data, Mapping) or not isinstance(data.get("names"), list):
        raise InvalidDistributionError(
            f"a constraint must read {{names: [a, b, ...], increasing: true|false}}; got {data!r}."
        )
    return Monotonic(tuple(data["names"]), bool(data.get("increasing", False)))


def _shape(dist: Distribution) -> str:
    return json.dumps({k: v for k, v in dist.to_json().items() if k != "default"})


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
            shapes = {_shape(self._params[n]) for n in c.names}
            if len(shapes) > 1:
                raise InvalidDistributionError(
                    f"SearchSpace: the parameters ordered by a constraint must share one "
                    f"distribution (defaults may differ); got {list(c.names)!r} with "
                    f"{[self._params[n] for n in c.names]!r}."
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
        if self._constraints:
            return {"params": out, "constraints": [c.to_json() for c in self._constraints]}
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, JSON], constraints: Sequence[Monotonic] = ()
    ) -> SearchSpace:
        """Build a space from ``{name: {type, low, high, log, step, choices, default, when}}``.

        Ordering constraints come either as the ``constraints`` argument or in the nested form
        ``{"params": {...}, "constraints": [{"names": [...], "increasing": false}]}`` that
        :meth:`to_dict` writes for a space that has them.

        Raises:
            InvalidDistributionError: an entry is invalid; the message names the parameter.
        """
        if not isinstance(data, Mapping):
            raise InvalidDistributionError(
                f"a search space must be a mapping of parameter name to definition; "
                f"got {type(data).__name__}."
            )
        if _is_nested(data):
            extra = [_constraint_from_json(c) for c in data.get("constraints") or ()]
            return cls.from_dict(data["params"], (*constraints, *extra))
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
        text = Path(source).read_text() if isinstance(source, Path) else source
        try:
            data = load_yaml(text, str(source) if isinstance(source, Path) else "search space")
        except SpecError as exc:
            raise InvalidDistributionError(f"search space YAML is invalid: {exc}") from None
        return cls.from_dict(data)
