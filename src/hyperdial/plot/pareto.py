"""The trade-off between objectives: the Pareto front of a multi-objective study."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.plot import _common as c
from hyperdial.trial import FrozenTrial

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperdial.study import Study

__all__ = ["plot_pareto_front"]

_OWNER = "plot_pareto_front"


def _objectives(history: History, objectives: Sequence[int] | None) -> list[int]:
    n = history.n_objectives
    if n < 2:
        raise InvalidValueError(
            f"{_OWNER}: the study must have 2 or more objectives; got {n} "
            f"({history.directions[0].value}). Use plot_history for a single objective."
        )
    if objectives is None:
        return [0, 1] if n == 2 else [0, 1, 2]
    chosen = list(objectives) if isinstance(objectives, Sequence) else []
    valid = (
        len(chosen) in (2, 3)
        and len(set(chosen)) == len(chosen)
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in chosen)
    )
    if not valid:
        raise InvalidValueError(
            f"{_OWNER}: objectives must be 2 or 3 distinct indices in [0, {n - 1}]; "
            f"got {objectives!r}."
        )
    return chosen


def _hover(trial: FrozenTrial) -> str:
    values = ", ".join(f"{v:.6g}" for v in trial.values or ())
    params = "<br>".join(f"{k}={c.label(v)}" for k, v in list(trial.params.items())[:8])
    return f"trial {trial.number}<br>values {values}<br>{params}"


def plot_pareto_front(
    study: Study | History,
    *,
    objectives: Sequence[int] | None = None,
    max_points: int = 2000,
) -> go.Figure:
    """Plot the completed trials of a multi-objective study, the Pareto front highlighted.

    The front is taken over all the study's objectives (the trials no other trial beats on
    every objective) and drawn over two or three of them; in 2-D it is joined by a step line.
    Beyond ``max_points`` dominated trials an evenly spread sample is drawn; front trials are
    always drawn.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objectives: The 2 or 3 objective indices on the axes (default: the first two, or
            three when the study has three or more).
        max_points: Most dominated trials drawn.

    Returns:
        A plotly figure: ``Scatter`` traces in 2-D, ``Scatter3d`` in 3-D.

    Raises:
        InvalidValueError: the study has one objective, or ``objectives`` is invalid.
        NoCompletedTrialsError: no trial has completed.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(
        ...     directions=["minimize", "minimize"], sampler=RandomSampler(seed=0)
        ... )
        >>> study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.params["x"]), n_trials=4)
        >>> fig = plot_pareto_front(study)
        >>> [trace.name for trace in fig.data if trace.showlegend is not False]
        ['Pareto front']
    """
    go = c.graph_objects(_OWNER)
    history = c.as_history(study, _OWNER)
    axes = _objectives(history, objectives)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise InvalidValueError(f"{_OWNER}: max_points must be an int >= 1; got {max_points!r}.")
    done = c.with_values(history, _OWNER)
    signs = np.array([c.sign(d) for d in history.directions])
    values = np.array([t.values for t in done], dtype=float)
    on_front = c.nondominated(values * signs)
    front = [t for t, m in zip(done, on_front) if m]
    others = [t for t, m in zip(done, on_front) if not m]
    others = [others[i] for i in c.spread(len(others), max_points)]
    labels = [c.objective_label(history, i) for i in axes]
    three = len(axes) == 3
    scatter = go.Scatter3d if three else go.Scatter
    traces = []
    for group, name, marker in (
        (others, "dominated", {"color": "#a6a6a6", "size": 4 if three else 6, "opacity": 0.7}),
        (front, "Pareto front", {"color": "#d62728", "size": 5 if three else 9}),
    ):
        if not group:
            continue
        coords: dict[str, Any] = {
            key: [c.value_of(t, i) for t in group] for key, i in zip("xyz", axes)
        }
        traces.append(
            scatter(
                **coords,
                mode="markers",
                name=name,
                marker=marker,
                hovertext=[_hover(t) for t in group],
                hoverinfo="text",
            )
        )
    if not three and len(front) > 1:
        ordered = sorted(front, key=lambda t: c.value_of(t, axes[0]))
        traces.append(
            go.Scatter(
                x=[c.value_of(t, axes[0]) for t in ordered],
                y=[c.value_of(t, axes[1]) for t in ordered],
                mode="lines",
                line={"shape": "hv", "color": "#d62728", "width": 1, "dash": "dot"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    title = f"Pareto front ({len(front)} of {len(done):,} completed trials)"
    if three:
        scene = {f"{k}axis": {"title": {"text": t}} for k, t in zip("xyz", labels)}
        fig_layout = c.layout(title, scene=scene, height=560)
    else:
        fig_layout = c.layout(
            title, xaxis={"title": {"text": labels[0]}}, yaxis={"title": {"text": labels[1]}}
        )
    return go.Figure(data=traces, layout=fig_layout)
