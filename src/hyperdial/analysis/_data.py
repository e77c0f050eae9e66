"""Turn a study's completed trials into a unit-cube matrix and a target, once per snapshot.

Every analysis reads the same records: the COMPLETE trials with a finite value of the chosen
objective, their parameters mapped to ``[0, 1]`` with :func:`~hyperdial.distributions.to_unit`
(log parameters on the log scale, integers and categoricals at the centre of their cell) and
``ABSENT`` where a conditional parameter did not exist in a trial.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hyperdial._types import Direction, ParamValue
from hyperdial.distributions import Categorical, Distribution, Float, Int, from_unit, to_unit
from hyperdial.exceptions import InvalidValueError, NoCompletedTrialsError
from hyperdial.history import History
from hyperdial.space import Condition
from hyperdial.study import Study
from hyperdial.trial import FrozenTrial, TrialState

ABSENT = -1.0
"""The unit-cube coordinate of a conditional parameter that a trial did not have."""

MIN_TRIALS = 5
"""Completed trials the model-based analyses need at least."""


@dataclass(frozen=True, eq=False)
class Data:
    """The completed trials of one objective as arrays.

    Attributes:
        names: Parameter names, in the order they were first suggested.
        dists: The distribution used to map each parameter.
        x: ``(n, d)`` unit-cube coordinates; ``ABSENT`` for an inactive parameter.
        y: The objective's values, in its own units.
        trials: The trials behind the rows.
        direction: Whether lower or higher ``y`` is better.
    """

    names: tuple[str, ...]
    dists: tuple[Distribution, ...]
    x: np.ndarray
    y: np.ndarray
    trials: tuple[FrozenTrial, ...]
    direction: Direction

    @property
    def sign(self) -> float:
        """Return ``1`` for minimise and ``-1`` for maximise: ``sign * y`` is a loss."""
        return -1.0 if self.direction is Direction.MAXIMIZE else 1.0

    @cached_property
    def conditions(self) -> dict[str, Condition]:
        """Return the conditions inferred from which trials have which parameters."""
        return _infer_conditions(self)

    def column(self, owner: str, name: str) -> int:
        """Return the column of ``name``, or raise naming the known parameters."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InvalidValueError(
                f"{owner}: param must name a parameter of the study (one of "
                f"{list(self.names)}); got {name!r}."
            ) from None

    def columns(self, owner: str, params: Sequence[str] | None) -> list[int]:
        """Return the columns of ``params`` (all if ``None``), checking every name."""
        if params is None:
            return list(range(len(self.names)))
        if isinstance(params, str) or not isinstance(params, Iterable):
            raise InvalidValueError(
                f"{owner}: params must be a list of parameter names or None; got {params!r}."
            )
        return [self.column(owner, p) for p in dict.fromkeys(params)]


def as_history(owner: str, study: Study | History) -> History:
    """Return the history of a :class:`Study`, or ``study`` itself if it is a History."""
    if isinstance(study, History):
        return study
    if isinstance(study, Study):
        return study.history()
    raise TypeError(f"{owner} expects a Study or a History; got {type(study).__name__}.")


def check_objective(owner: str, history: History, objective: int) -> Direction:
    """Return the direction of objective ``objective``, checking the index."""
    n = len(history.directions)
    if isinstance(objective, bool) or not isinstance(objective, int) or not 0 <= objective < n:
        raise InvalidValueError(
            f"{owner}: objective must be an int in [0, {n - 1}] (the study has {n} "
            f"objective(s)); got {objective!r}."
        )
    return history.directions[objective]


def completed(history: History, objective: int) -> list[FrozenTrial]:
    """Return the COMPLETE trials with a finite value of ``objective``, by number."""
    out = []
    for t in history.trials:
        if t.state is TrialState.COMPLETE and t.values is not None and len(t.values) > objective:
            if math.isfinite(t.values[objective]):
                out.append(t)
    return out


def too_few(owner: str, have: int, need: int, what: str = "completed trials") -> None:
    """Raise :class:`NoCompletedTrialsError` when ``have < need``."""
    if have < need:
        raise NoCompletedTrialsError(
            f"{owner} needs at least {need} {what} with a finite value; the study has {have}."
        )


_MISSING = object()


def merged_dists(trials: Sequence[FrozenTrial]) -> dict[str, Distribution]:
    """Return each parameter's most used distribution, in first-suggested order."""
    # Trials usually share distribution objects: count by identity, then merge equal ones.
    by_id: dict[str, dict[int, tuple[Distribution, list[int]]]] = {}
    for t in trials:
        for name, dist in t.distributions.items():
            seen = by_id.setdefault(name, {})
            entry = seen.get(id(dist))
            if entry is None:
                seen[id(dist)] = (dist, [1])
            else:
                entry[1][0] += 1
    out: dict[str, Distribution] = {}
    for name, seen in by_id.items():
        counts: Counter[Distribution] = Counter()
        for dist, n in seen.values():
            counts[dist] += n[0]
        out[name] = counts.most_common(1)[0][0]
    return out


def _unit_column(dist: Distribution, raw: list[object]) -> np.ndarray:
    """Map one parameter's values (``_MISSING`` where absent) into the unit interval.

    A value the distribution does not hold (a space changed mid-study) counts as absent.
    """
    out = np.full(len(raw), ABSENT)
    if isinstance(dist, Categorical):
        index: dict[tuple[type, object], int] = {
            (type(c), c): i for i, c in enumerate(dist.choices)
        }
        n_choices = len(dist.choices)
        for i, value in enumerate(raw):
            try:
                code = index.get((type(value), value))
            except TypeError:  # an unhashable value is no choice
                code = None
            if code is not None:
                out[i] = (code + 0.5) / n_choices
        return out
    present = [i for i, v in enumerate(raw) if type(v) is float or type(v) is int]
    if not present:
        return out
    v = np.array([raw[i] for i in present], dtype=float)
    tol = 1e-9 * max(1.0, abs(dist.low), abs(dist.high))
    inside = np.isfinite(v) & (v >= dist.low - tol) & (v <= dist.high + tol)
    if isinstance(dist, Float) and dist.step is None:
        if dist.high == dist.low:
            u = np.full(len(v), 0.5)
        elif dist.log:
            lo, hi = math.log(dist.low), math.log(dist.high)
            u = (np.log(np.maximum(v, dist.low)) - lo) / (hi - lo)
        else:
            u = (v - dist.low) / (dist.high - dist.low)
    elif isinstance(dist, Int) and dist.log:
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        u = (np.log(np.maximum(v, dist.low)) - lo) / (hi - lo)
    else:
        n = dist.n_grid
        assert n is not None and dist.step is not None
        k = (v - dist.low) / dist.step
        inside &= np.abs(k - np.round(k)) <= 1e-6
        u = (np.round(k) + 0.5) / n
    rows = np.asarray(present)[inside]
    out[rows] = np.clip(u[inside], 0.0, 1.0)
    return out


def from_trials(
    trials: Sequence[FrozenTrial], y: np.ndarray, direction: Direction = Direction.MINIMIZE
) -> Data:
    """Return the arrays of ``trials`` with target ``y`` (one value per trial)."""
    dists = merged_dists(trials)
    names = tuple(dists)
    columns = [
        _unit_column(dists[name], [t.params.get(name, _MISSING) for t in trials]) for name in names
    ]
    x = np.column_stack(columns) if columns else np.zeros((len(trials), 0))
    return Data(
        names, tuple(dists.values()), x, np.asarray(y, dtype=float), tuple(trials), direction
    )


# A few recent snapshots, so importance, interactions and partial dependence of one study share
# the conversion; a hit is checked trial by trial (finished trials are immutable objects).
_CACHE: OrderedDict[tuple[object, ...], Data] = OrderedDict()
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def load(
    owner: str, study: Study | History, objective: int = 0, *, need: int = MIN_TRIALS
) -> Data:
    """Return the completed trials of ``study`` for ``objective`` as arrays.

    Raises:
        InvalidValueError: ``objective`` is not an objective index.
        NoCompletedTrialsError: fewer than ``need`` completed trials with a finite value.
    """
    history = as_history(owner, study)
    direction = check_objective(owner, history, objective)
    trials = completed(history, objective)
    too_few(owner, len(trials), need)
    key = (objective, direction, len(trials), id(trials[0]), id(trials[-1]))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and all(a is b for a, b in zip(hit.trials, trials)):
            _CACHE.move_to_end(key)
            return hit
    y = np.array([t.values[objective] for t in trials if t.values is not None], dtype=float)
    data = from_trials(trials, y, direction)
    with _LOCK:
        _CACHE[key] = data
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data


def value_grid(dist: Distribution, n_points: int) -> tuple[list[ParamValue], np.ndarray]:
    """Return about ``n_points`` legal values of ``dist`` and their unit coordinates.

    Categoricals give their choices; integers and stepped floats give every value when there
    are at most ``n_points``, else evenly spread distinct values (log-spaced on a log scale).

    Example:
        >>> value_grid(Int(1, 4), 10)[0]
        [1, 2, 3, 4]
    """
    if isinstance(dist, Categorical):
        values = list(dist.choices)
    elif dist.n_grid is not None and dist.n_grid <= n_points:
        step = dist.step
        assert step is not None
        values = [dist.cast(dist.low + k * step) for k in range(dist.n_grid)]
    else:
        values = list(dict.fromkeys(from_unit(dist, u) for u in np.linspace(0, 1, n_points)))
    return values, np.array([to_unit(dist, v) for v in values])


def _infer_conditions(data: Data) -> dict[str, Condition]:
    """Return, for each parameter only some trials have, a condition on an earlier one.

    The condition is ``parent == c`` / ``parent in [...]`` for a categorical parent and
    ``parent >= v`` / ``parent <= v`` for a numeric one, when the parent's values in the trials
    that have the parameter never occur in those that lack it; the earliest such parent wins.
    """
    present = data.x != ABSENT
    out: dict[str, Condition] = {}
    for j, name in enumerate(data.names):
        has = present[:, j]
        if has.all() or not has.any():
            continue
        for p in range(j):
            if not present[has, p].all():
                continue
            lacks = ~has & present[:, p]
            if not lacks.any():
                continue
            dist, u = data.dists[p], data.x[:, p]
            parent = data.names[p]
            cond = None
            if isinstance(dist, Categorical):
                codes = np.minimum((u * len(dist.choices)).astype(int), len(dist.choices) - 1)
                yes = set(codes[has].tolist())
                if not yes & set(codes[lacks].tolist()):
                    choices = [dist.choices[c] for c in sorted(yes)]
                    if len(choices) == 1:
                        cond = Condition(parent, "==", choices[0])
                    else:
                        cond = Condition(parent, "in", choices)
            elif u[lacks].max() < u[has].min():
                row = int(np.flatnonzero(has)[np.argmin(u[has])])
                cond = Condition(parent, ">=", data.trials[row].params[parent])
            elif u[lacks].min() > u[has].max():
                row = int(np.flatnonzero(has)[np.argmax(u[has])])
                cond = Condition(parent, "<=", data.trials[row].params[parent])
            if cond is not None:
                out[name] = cond
                break
    return out
