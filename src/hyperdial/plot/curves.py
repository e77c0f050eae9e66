"""Learning curves: the intermediate values trials reported, step by step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.plot import _common as c
from hyperdial.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperdial.study import Study

__all__ = ["plot_intermediate"]

_OWNER = "plot_intermediate"


def _curve(trial: FrozenTrial, objective: int) -> tuple[list[int], list[float]]:
    steps = sorted(trial.intermediate)
    values = []
    for step in steps:
        v = trial.intermediate[step]
        values.append(float(v[objective] if isinstance(v, tuple) else v))
    return steps, values


def _joined(
    trials: list[FrozenTrial], objective: int
) -> tuple[list[float | None], list[float | None], list[str | None]]:
    """Return one line for many trials, curves separated by gaps (fast to draw)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    text: list[str | None] = []
    for trial in trials:
        steps, values = _curve(trial, objective)
        xs += [*steps, None]
        ys += [*values, None]
        text += [f"trial {trial.number} ({trial.state.name.lower()})"] * len(steps) + [None]
    return xs, ys, text


def plot_intermediate(
    study: Study | History, *, objective: int = 0, max_trials: int = 500
) -> go.Figure:
    """Plot the learning curves of the trials that reported intermediate values.

    Completed trials are drawn in colour, pruned and failed ones dimmed, so the curves the
    scheduler stopped stand apart from those that ran to the end; the best trial is drawn on
    top. Beyond ``max_trials`` curves an evenly spread sample is drawn (always with the best).

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objective: Which objective in a study that reports several.
        max_trials: Most curves drawn.

    Returns:
        A plotly figure with one trace per state (curves joined with gaps) and the best.

    Raises:
        InvalidValueError: no trial reported an intermediate value, or bad options.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", 0, 1)
        ...     for step in range(3):
        ...         trial.report(x / (step + 1), step)
        ...     return x / 3
        >>> study.optimize(objective, n_trials=3)
        >>> [trace.name for trace in plot_intermediate(study).data]
        ['complete', 'best trial']
    """
    go = c.graph_objects(_OWNER)
    history = c.as_history(study, _OWNER)
    objective = c.check_objective(history, objective, _OWNER)
    if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
        raise InvalidValueError(f"{_OWNER}: max_trials must be an int >= 1; got {max_trials!r}.")
    reporting = [t for t in history.trials if t.intermediate]
    if not reporting:
        raise InvalidValueError(
            f"{_OWNER}: no trial reported intermediate values; an objective reports them "
            "with trial.report(value, step)."
        )
    done = [t for t in history.completed if t.values is not None]
    best: FrozenTrial | None = None
    if done:
        s = c.sign(history.directions[objective])
        best = min(done, key=lambda t: (s * c.value_of(t, objective), t.number))
    picked = [reporting[i] for i in c.spread(len(reporting), max_trials)]
    styles: dict[TrialState, dict[str, Any]] = {
        TrialState.COMPLETE: {"color": c.STATE_COLORS[TrialState.COMPLETE], "width": 1.2},
        TrialState.PRUNED: {"color": "#8c8c8c", "width": 1},
        TrialState.FAILED: {"color": "#e06666", "width": 1},
        TrialState.RUNNING: {"color": c.STATE_COLORS[TrialState.RUNNING], "width": 1},
    }
    traces = []
    for state, style in styles.items():
        group = [t for t in picked if t.state is state]
        if not group:
            continue
        xs, ys, text = _joined(group, objective)
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=state.name.lower(),
                line=style,
                opacity=1.0 if state is TrialState.COMPLETE else 0.55,
                hovertext=text,
                hoverinfo="text+x+y",
                connectgaps=False,
            )
        )
    if best is not None and best.intermediate:
        steps, best_values = _curve(best, objective)
        traces.append(
            go.Scatter(
                x=steps,
                y=best_values,
                mode="lines+markers",
                name="best trial",
                line={"color": c.BEST_COLOR, "width": 3},
                hovertext=[f"best trial {best.number}"] * len(steps),
                hoverinfo="text+x+y",
            )
        )
    all_values = np.array([v for t in picked for v in _curve(t, objective)[1]])
    label = f"intermediate {c.objective_label(history, objective)}"
    yaxis: dict[str, Any] = {"title": {"text": label}}
    if c.is_positive_and_wide(all_values):
        yaxis["type"] = "log"
    title = c.shown("Learning curves", len(picked), len(reporting))
    return go.Figure(
        data=traces, layout=c.layout(title, xaxis={"title": {"text": "step"}}, yaxis=yaxis)
    )
