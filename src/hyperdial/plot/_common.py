"""Helpers shared by the figures and the report: inputs, subsampling, axes and colours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial._types import Direction, ParamValue
from hyperdial.exceptions import InvalidValueError, NoCompletedTrialsError, missing
from hyperdial.history import History
from hyperdial.space import Categorical, Distribution, Float, Int
from hyperdial.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hyperdial.study import Study

STATE_COLORS = {
    TrialState.COMPLETE: "#1f77b4",
    TrialState.PRUNED: "#ff7f0e",
    TrialState.FAILED: "#d62728",
    TrialState.RUNNING: "#7f7f7f",
    TrialState.WAITING: "#c7c7c7",
}
BEST_COLOR = "#2ca02c"
TEMPLATE = "plotly_white"
HEIGHT = 440


def graph_objects(owner: str) -> Any:
    """Return ``plotly.graph_objects`` or raise an error naming the extra to install."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise missing("plot", owner, "plotly") from None
    return go


def make_subplots(owner: str, **kwargs: Any) -> Any:
    """Return ``plotly.subplots.make_subplots(**kwargs)`` (needs the ``[plot]`` extra)."""
    graph_objects(owner)
    from plotly.subplots import make_subplots as make

    return make(**kwargs)


def as_history(study: Study | History, owner: str) -> History:
    """Return the history of a study (or ``study`` itself when it already is one).

    Raises:
        TypeError: ``study`` is neither a Study nor a History.
    """
    if isinstance(study, History):
        return study
    take = getattr(study, "history", None)
    if callable(take):
        history = take()
        if isinstance(history, History):
            return history
    raise TypeError(f"{owner}: study must be a Study or a History; got {type(study).__name__}.")


def check_objective(history: History, objective: int, owner: str) -> int:
    """Return ``objective`` after checking it indexes one of the study's objectives."""
    n = history.n_objectives
    if isinstance(objective, bool) or not isinstance(objective, int) or not 0 <= objective < n:
        raise InvalidValueError(
            f"{owner}: objective must be an int in [0, {n - 1}]; got {objective!r}."
        )
    return objective


def objective_label(history: History, objective: int) -> str:
    """Return the axis label of an objective, e.g. ``objective 1 (maximize)``."""
    direction = history.directions[objective].value
    if history.n_objectives == 1:
        return f"objective ({direction})"
    return f"objective {objective} ({direction})"


def sign(direction: Direction) -> float:
    """Return the factor that turns a value into a cost (lower is better)."""
    return -1.0 if direction is Direction.MAXIMIZE else 1.0


def with_values(history: History, owner: str) -> list[FrozenTrial]:
    """Return the completed trials with values, or raise when there are none."""
    done = [t for t in history.completed if t.values is not None]
    if not done:
        raise NoCompletedTrialsError(f"{owner}: the study has no completed trial to plot yet.")
    return done


def value_of(trial: FrozenTrial, objective: int) -> float:
    """Return one objective value of a trial that has values."""
    assert trial.values is not None  # callers pass completed trials
    return trial.values[objective]


def values_of(trials: Sequence[FrozenTrial], objective: int) -> np.ndarray:
    """Return one objective's values of trials that have values, as floats."""
    return np.array([value_of(t, objective) for t in trials], dtype=np.float64)


def best_so_far(values: np.ndarray, direction: Direction) -> np.ndarray:
    """Return the running best of ``values`` in the order given."""
    if direction is Direction.MAXIMIZE:
        return np.maximum.accumulate(values)
    return np.minimum.accumulate(values)


def spread(n: int, k: int, keep: Sequence[int] | np.ndarray = ()) -> np.ndarray:
    """Return sorted indices of about ``k`` of ``n`` items evenly spread, plus ``keep``.

    Deterministic: the same ``n`` and ``k`` always give the same indices.

    Example:
        >>> spread(10, 4).tolist()
        [0, 3, 6, 9]
        >>> spread(10, 3, keep=[2]).tolist()
        [0, 2, 4, 9]
    """
    if n <= k:
        return np.arange(n)
    picked = np.round(np.linspace(0, n - 1, max(k, 1))).astype(int)
    return np.union1d(picked, np.asarray(keep, dtype=int))


def nondominated(costs: np.ndarray) -> np.ndarray:
    """Return a mask of the rows of ``costs`` (lower is better) no other row dominates.

    Equal rows do not dominate each other. Runs in about ``n * front size`` steps.

    Example:
        >>> nondominated(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0]])).tolist()
        [True, True, False, True]
    """
    n = len(costs)
    order = np.lexsort(costs.T[::-1])
    keep = np.ones(n, dtype=bool)
    for i in order:
        if not keep[i]:
            continue
        worse = np.all(costs >= costs[i], axis=1) & np.any(costs > costs[i], axis=1)
        keep &= ~worse
    return keep


def pareto_trials(history: History) -> list[FrozenTrial]:
    """Return the completed trials on the Pareto front of all objectives, by number."""
    done = [t for t in history.completed if t.values is not None]
    if not done:
        return []
    signs = np.array([sign(d) for d in history.directions])
    costs = np.array([t.values for t in done], dtype=float) * signs
    mask = nondominated(costs)
    return [t for t, m in zip(done, mask) if m]


def param_names(history: History, params: Sequence[str] | None, owner: str) -> list[str]:
    """Return ``params`` checked against the study, or every parameter by first appearance."""
    seen: dict[str, None] = {}
    for trial in history.trials:
        for name in trial.params:
            seen.setdefault(name)
    if params is None:
        if not seen:
            raise InvalidValueError(f"{owner}: the study's trials have no parameters to plot.")
        return list(seen)
    if isinstance(params, str) or not isinstance(params, Sequence) or not params:
        raise InvalidValueError(
            f"{owner}: params must be a non-empty list of parameter names; got {params!r}."
        )
    unknown = [p for p in params if p not in seen]
    if unknown:
        raise InvalidValueError(
            f"{owner}: params must name parameters of the study ({sorted(seen)}); "
            f"got unknown {unknown!r}."
        )
    return list(dict.fromkeys(params))


def distribution_of(history: History, name: str) -> Distribution | None:
    """Return the distribution of ``name`` in the latest trial that has it."""
    for trial in reversed(history.trials):
        dist = trial.distributions.get(name)
        if dist is not None:
            return dist
    return None


def is_log(dist: Distribution | None) -> bool:
    """Return whether a parameter lives on a log scale."""
    return isinstance(dist, (Float, Int)) and dist.log


def is_categorical(dist: Distribution | None, values: Sequence[ParamValue] = ()) -> bool:
    """Return whether a parameter is categorical (or takes non-numeric values)."""
    if isinstance(dist, Categorical):
        return True
    return any(isinstance(v, (str, bool)) or v is None for v in values)


def axis_type(dist: Distribution | None, values: Sequence[ParamValue] = ()) -> str:
    """Return the plotly axis type for a parameter: ``log``, ``category`` or ``linear``."""
    if is_categorical(dist, values):
        return "category"
    return "log" if is_log(dist) else "linear"


def label(value: ParamValue) -> str:
    """Return a short text for a parameter value (categories on axes, hover text)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "None" if value is None else str(value)


def is_positive_and_wide(values: np.ndarray) -> bool:
    """Return whether values are all > 0 and span more than three decades (log axis)."""
    if values.size == 0 or not np.all(values > 0):
        return False
    return bool(np.max(values) / np.min(values) > 1e3)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return about ``count`` rounded tick positions between ``low`` and ``high``.

    Example:
        >>> nice_ticks(0.0, 1.0)
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    return [float(f"{v:.3g}") for v in np.linspace(low, high, count)]


def layout(title: str, **kwargs: Any) -> dict[str, Any]:
    """Return the layout every figure shares: title, template, height and margins."""
    base: dict[str, Any] = {
        "title": {"text": title},
        "template": TEMPLATE,
        "height": HEIGHT,
        "margin": {"l": 60, "r": 30, "t": 60, "b": 50},
    }
    base.update(kwargs)
    return base


def shown(title: str, n_shown: int, n_total: int) -> str:
    """Return ``title`` with a note when only part of the points is drawn."""
    if n_shown >= n_total:
        return title
    return f"{title} <sup>({n_shown:,} of {n_total:,} shown)</sup>"
