"""Where the trials went in the search space: parallel coordinates and slices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial._types import Direction, ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.plot import _common as c
from hyperdial.space import Categorical, Distribution, Int
from hyperdial.trial import FrozenTrial

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperdial.study import Study

__all__ = ["plot_parallel_coordinates", "plot_slice"]

_UNSET = "(unset)"
_BLUES = [[0.0, "#9ecae1"], [1.0, "#08306b"]]  # early trials light but still visible


def _check_cap(owner: str, name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValueError(f"{owner}: {name} must be an int >= 1; got {value!r}.")


def _best_and_spread(costs: np.ndarray, k: int) -> np.ndarray:
    """Return indices of the best ``k // 2`` rows and an even spread of the others."""
    n = len(costs)
    if n <= k:
        return np.arange(n)
    order = np.argsort(costs, kind="stable")
    best = order[: k // 2]
    rest = np.sort(order[k // 2 :])
    others = rest[c.spread(len(rest), k - len(best))]
    return np.sort(np.concatenate([best, others]))


def _categories(dist: Distribution | None, values: Sequence[ParamValue]) -> list[ParamValue]:
    seen: list[ParamValue] = list(dist.choices) if isinstance(dist, Categorical) else []
    keys = {(type(v), v) for v in seen}
    for v in values:
        if (type(v), v) not in keys:
            keys.add((type(v), v))
            seen.append(v)
    return seen


def _ticks(lo: float, hi: float, log: bool, integer: bool) -> tuple[list[float], list[str]]:
    """Return tick positions (log10 of the value on a log axis) and their labels."""
    if log:  # round in value space, so labels read 16 rather than 10 ** 1.2 = 15.8
        shown = [float(f"{v:.3g}") for v in np.geomspace(10**lo, 10**hi, 5)]
    else:
        shown = c.nice_ticks(lo, hi)
    if integer:
        shown = sorted({float(round(v)) for v in shown})
    shown = [v for v in shown if not log or v > 0]
    positions = [math.log10(v) if log else v for v in shown]
    return positions, [f"{v:.3g}" for v in shown]


def _dimension(
    name: str, dist: Distribution | None, raw: list[ParamValue | None], present: list[bool]
) -> dict[str, Any]:
    """Return one parcoords dimension; absent (conditional) values sit on an extra tick."""
    values = [v for v, p in zip(raw, present) if p]
    absent = not all(present)
    if c.is_categorical(dist, values):
        cats = _categories(dist, values)
        index = {(type(v), v): i for i, v in enumerate(cats)}
        codes = [index[(type(v), v)] if p else -1 for v, p in zip(raw, present)]
        positions = list(range(len(cats)))
        names = [c.label(v) for v in cats]
        if absent:
            positions, names = [-1, *positions], [_UNSET, *names]
        return {
            "label": name,
            "values": codes,
            "tickvals": positions,
            "ticktext": names,
            "range": [positions[0] - 0.25, len(cats) - 0.75],
        }
    log = c.is_log(dist)
    numbers = np.array([float(v) if p else np.nan for v, p in zip(raw, present)])  # type: ignore[arg-type]
    shown = np.log10(numbers) if log else numbers
    finite = shown[np.isfinite(shown)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    ticks, text = _ticks(lo, hi, log, isinstance(dist, Int))
    low_end = lo
    if absent:
        low_end = lo - 0.12 * (hi - lo)
        shown = np.where(np.isfinite(shown), shown, low_end)
        ticks, text = [low_end, *ticks], [_UNSET, *text]
    label = f"{name} (log)" if log else name
    return {
        "label": label,
        "values": shown,
        "tickvals": ticks,
        "ticktext": text,
        "range": [low_end, hi],
    }


def plot_parallel_coordinates(
    study: Study | History,
    *,
    objective: int = 0,
    params: Sequence[str] | None = None,
    max_lines: int = 1000,
) -> go.Figure:
    """Plot every completed trial as a line through its parameters and objective value.

    Log parameters get a log axis, categorical ones a tick per choice, and a conditional
    parameter absent from a trial an ``(unset)`` tick. Lines are coloured by the objective
    (the best in yellow). Beyond ``max_lines`` trials, the best half of the budget and an even
    spread of the rest are drawn.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objective: Which objective colours the lines in a study with several.
        params: Parameters to show, in order (default: all, by first appearance).
        max_lines: Most trials drawn.

    Returns:
        A plotly figure with one ``parcoords`` trace.

    Raises:
        NoCompletedTrialsError: no trial has completed.
        InvalidValueError: unknown parameter names or bad options.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
        >>> [d["label"] for d in plot_parallel_coordinates(study).data[0].dimensions]
        ['objective (minimize)', 'x']
    """
    owner = "plot_parallel_coordinates"
    go = c.graph_objects(owner)
    history = c.as_history(study, owner)
    objective = c.check_objective(history, objective, owner)
    _check_cap(owner, "max_lines", max_lines)
    names = c.param_names(history, params, owner)
    done = c.with_values(history, owner)
    direction = history.directions[objective]
    values = c.values_of(done, objective)
    picked = _best_and_spread(values * c.sign(direction), max_lines)
    rows = [done[i] for i in picked]
    label = c.objective_label(history, objective)
    dims: list[dict[str, Any]] = [{"label": label, "values": values[picked]}]
    for name in names:
        raw = [t.params.get(name) for t in rows]
        present = [name in t.params for t in rows]
        if any(present):
            dims.append(_dimension(name, c.distribution_of(history, name), raw, present))
    line = {
        "color": values[picked],
        "colorscale": "Viridis",
        "reversescale": direction is Direction.MINIMIZE,
        "showscale": True,
        "colorbar": {"title": {"text": "objective"}},
    }
    title = c.shown("Parallel coordinates", len(rows), len(done))
    return go.Figure(
        data=[go.Parcoords(dimensions=dims, line=line)],
        layout=c.layout(title, margin={"l": 80, "r": 80, "t": 90, "b": 40}),
    )


def _slice_trace(
    go: Any, name: str, dist: Distribution | None, trials: list[FrozenTrial], objective: int
) -> tuple[Any, str]:
    values = [t.params[name] for t in trials]
    kind = c.axis_type(dist, values)
    x: list[Any] = [c.label(v) for v in values] if kind == "category" else values
    trace = go.Scatter(
        x=x,
        y=[c.value_of(t, objective) for t in trials],
        mode="markers",
        name=name,
        showlegend=False,
        marker={
            "color": [t.number for t in trials],
            "coloraxis": "coloraxis",
            "size": 5,
            "opacity": 0.8,
        },
        hovertext=[f"trial {t.number}<br>{name}={c.label(t.params[name])}" for t in trials],
        hoverinfo="text+y",
    )
    return trace, kind


def plot_slice(
    study: Study | History,
    *,
    objective: int = 0,
    params: Sequence[str] | None = None,
    max_points: int = 2000,
    columns: int = 3,
) -> go.Figure:
    """Plot the objective against each parameter, one panel per parameter.

    Points are coloured by trial number, so a sampler that converges shows late (yellow)
    trials gathering where the objective is good. Log parameters get log axes, categorical
    ones a category axis.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objective: Which objective to plot in a study with several.
        params: Parameters to show (default: all, by first appearance).
        max_points: Most trials drawn (an evenly spread sample beyond).
        columns: Panels per row.

    Returns:
        A plotly figure with one scatter trace per parameter.

    Raises:
        NoCompletedTrialsError: no trial has completed.
        InvalidValueError: unknown parameter names or bad options.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
        >>> [trace.name for trace in plot_slice(study).data]
        ['x']
    """
    owner = "plot_slice"
    c.graph_objects(owner)
    history = c.as_history(study, owner)
    objective = c.check_objective(history, objective, owner)
    _check_cap(owner, "max_points", max_points)
    _check_cap(owner, "columns", columns)
    names = c.param_names(history, params, owner)
    done = c.with_values(history, owner)
    trials = [done[i] for i in c.spread(len(done), max_points)]
    n_cols = min(columns, len(names))
    n_rows = math.ceil(len(names) / n_cols)
    fig = c.make_subplots(
        owner,
        rows=n_rows,
        cols=n_cols,
        shared_yaxes=True,
        subplot_titles=names,
        horizontal_spacing=0.04,
        vertical_spacing=min(0.12, 0.5 / n_rows),
    )
    import plotly.graph_objects as go

    for i, name in enumerate(names):
        having = [t for t in trials if name in t.params]
        trace, kind = _slice_trace(go, name, c.distribution_of(history, name), having, objective)
        row, col = i // n_cols + 1, i % n_cols + 1
        fig.add_trace(trace, row=row, col=col)
        fig.update_xaxes(type=kind, row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text=c.objective_label(history, objective), row=row, col=col)
    fig.update_layout(
        **c.layout(
            c.shown("Objective by parameter", len(trials), len(done)),
            height=max(c.HEIGHT, 300 * n_rows + 80),
            coloraxis={"colorscale": _BLUES, "colorbar": {"title": {"text": "trial"}}},
        )
    )
    return fig
