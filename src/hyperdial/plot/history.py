"""How a study progressed: objective per trial with the best so far, and trials over time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.plot import _common as c
from hyperdial.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperdial.study import Study

__all__ = ["plot_history", "plot_timeline"]

_OWNER = "plot_history"


def _check_cap(owner: str, name: str, value: int, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidValueError(f"{owner}: {name} must be an int >= {low}; got {value!r}.")
    return value


def _hover(trial: FrozenTrial, value: float | None) -> str:
    params = "<br>".join(f"{k}={c.label(v)}" for k, v in list(trial.params.items())[:8])
    head = f"trial {trial.number} ({trial.state.name.lower()})"
    if value is not None:
        head += f"<br>value {value:.6g}"
    return f"{head}<br>{params}" if params else head


def plot_history(
    study: Study | History, *, objective: int = 0, max_points: int = 2000
) -> go.Figure:
    """Plot the objective of every trial by number, with the best value found so far.

    Completed trials are dots, pruned trials (with their last reported value) crosses and
    failed trials small marks along the bottom. With more than ``max_points`` completed
    trials an evenly spread sample is drawn, always including every trial that improved the
    best; the best-so-far line uses every trial.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objective: Which objective to plot in a study with several.
        max_points: Most completed trials drawn as dots.

    Returns:
        A plotly figure.

    Raises:
        NoCompletedTrialsError: no trial has completed.
        InvalidValueError: ``objective`` or ``max_points`` is out of range.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
        >>> [trace.name for trace in plot_history(study).data]
        ['complete', 'best so far']
    """
    go = c.graph_objects(_OWNER)
    history = c.as_history(study, _OWNER)
    objective = c.check_objective(history, objective, _OWNER)
    _check_cap(_OWNER, "max_points", max_points)
    done = c.with_values(history, _OWNER)
    direction = history.directions[objective]
    numbers = np.array([t.number for t in done])
    values = c.values_of(done, objective)
    best = c.best_so_far(values, direction)
    improved = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
    picked = c.spread(len(done), max_points, keep=improved)
    traces = [
        go.Scatter(
            x=numbers[picked],
            y=values[picked],
            mode="markers",
            name="complete",
            marker={"color": c.STATE_COLORS[TrialState.COMPLETE], "size": 6, "opacity": 0.75},
            hovertext=[_hover(done[i], values[i]) for i in picked],
            hoverinfo="text",
        )
    ]
    pruned = [t for t in history.of_states(TrialState.PRUNED) if t.values is not None]
    if pruned:
        chosen = [pruned[i] for i in c.spread(len(pruned), max_points // 2)]
        pruned_values = [c.value_of(t, objective) for t in chosen]
        traces.append(
            go.Scatter(
                x=[t.number for t in chosen],
                y=pruned_values,
                mode="markers",
                name="pruned",
                marker={"color": c.STATE_COLORS[TrialState.PRUNED], "symbol": "x", "size": 6},
                hovertext=[_hover(t, v) for t, v in zip(chosen, pruned_values)],
                hoverinfo="text",
            )
        )
    failed = history.of_states(TrialState.FAILED)
    if failed:
        chosen = [failed[i] for i in c.spread(len(failed), max_points // 2)]
        traces.append(
            go.Scatter(
                x=[t.number for t in chosen],
                y=[0.03] * len(chosen),
                yaxis="y2",
                mode="markers",
                name="failed",
                marker={
                    "color": c.STATE_COLORS[TrialState.FAILED],
                    "symbol": "line-ns-open",
                    "size": 12,
                    "line": {"width": 2},
                },
                hovertext=[_hover(t, None) for t in chosen],
                hoverinfo="text",
            )
        )
    # The best-so-far line needs only its corners: the improvements and the last trial.
    corners = np.union1d(improved, [len(done) - 1])
    traces.append(
        go.Scatter(
            x=numbers[corners],
            y=best[corners],
            mode="lines",
            line={"shape": "hv", "color": c.BEST_COLOR, "width": 2},
            name="best so far",
        )
    )
    yaxis: dict[str, Any] = {"title": {"text": c.objective_label(history, objective)}}
    if c.is_positive_and_wide(values):
        yaxis["type"] = "log"
    extra: dict[str, Any] = {}
    if failed:
        extra["yaxis2"] = {"overlaying": "y", "range": [0, 1], "visible": False}
    title = c.shown("Optimization history", len(picked), len(done))
    fig = go.Figure(
        data=traces,
        layout=c.layout(title, xaxis={"title": {"text": "trial"}}, yaxis=yaxis, **extra),
    )
    return fig


def _lanes(trials: list[FrozenTrial]) -> list[str]:
    """Return a row label per trial: its ``worker`` attribute, else a packed slot."""
    named = [t.user_attrs.get("worker") for t in trials]
    if all(isinstance(w, (str, int)) and not isinstance(w, bool) for w in named):
        return [str(w) for w in named]
    ends: list[datetime] = []
    lanes = []
    for trial in trials:
        start, end = trial.started_at, trial.finished_at or trial.started_at
        assert start is not None and end is not None  # filtered by the caller
        for slot, free_at in enumerate(ends):
            if free_at <= start:
                ends[slot] = end
                break
        else:
            slot = len(ends)
            ends.append(end)
        lanes.append(f"slot {slot + 1}")
    return lanes


def plot_timeline(study: Study | History, *, max_trials: int = 2000) -> go.Figure:
    """Plot when each trial ran, one row per worker, coloured by state.

    Rows come from a ``worker`` user attribute when every trial has one; otherwise trials are
    packed into as many concurrent slots as were needed. Running trials end at the latest
    time seen.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        max_trials: Most trials drawn (an evenly spread sample beyond).

    Returns:
        A plotly figure with one bar trace per state.

    Raises:
        InvalidValueError: no trial has a start time, or ``max_trials`` is out of range.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
        >>> [trace.name for trace in plot_timeline(study).data]
        ['complete']
    """
    owner = "plot_timeline"
    go = c.graph_objects(owner)
    history = c.as_history(study, owner)
    _check_cap(owner, "max_trials", max_trials)
    started = [t for t in history.trials if t.started_at is not None]
    if not started:
        raise InvalidValueError(f"{owner}: no trial of the study has started yet.")
    latest = max(t.finished_at or t.started_at for t in started)  # type: ignore[type-var]
    order = sorted(started, key=lambda t: (t.started_at, t.number))
    lanes = _lanes(order)
    picked = c.spread(len(order), max_trials)
    traces = []
    for state in TrialState:
        rows = [i for i in picked if order[i].state is state]
        if not rows:
            continue
        starts = [order[i].started_at for i in rows]
        ends = [order[i].finished_at or latest for i in rows]
        traces.append(
            go.Bar(
                base=[s.isoformat() for s in starts],
                x=[max((e - s).total_seconds() * 1000, 1.0) for s, e in zip(starts, ends)],
                y=[lanes[i] for i in rows],
                orientation="h",
                name=state.name.lower(),
                marker={"color": c.STATE_COLORS[state]},
                hovertext=[
                    f"trial {order[i].number} ({state.name.lower()})"
                    f"<br>{(e - s).total_seconds():.3g} s"
                    for i, s, e in zip(rows, starts, ends)
                ],
                hoverinfo="text",
            )
        )
    n_lanes = len(set(lanes))
    fig = go.Figure(
        data=traces,
        layout=c.layout(
            c.shown("Trials over time", len(picked), len(order)),
            barmode="overlay",
            xaxis={"type": "date", "title": {"text": "time (UTC)"}},
            yaxis={"title": {"text": "worker"}, "type": "category", "autorange": "reversed"},
            height=min(900, 200 + 30 * n_lanes),
        ),
    )
    return fig
