"""What the parameters do: importance, interactions, contours and partial dependence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.plot import _common as c
from hyperdial.plot import _figures

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperdial.study import Study

__all__ = [
    "plot_contour",
    "plot_importance",
    "plot_interactions",
    "plot_partial_dependence",
]


def plot_importance(
    study: Study | History,
    *,
    objective: int = 0,
    method: str = "fanova",
    params: Sequence[str] | None = None,
    seed: int = 0,
) -> go.Figure:
    """Plot how much of the objective's variation each parameter explains.

    Bars are the shares from :func:`hyperdial.analysis.importance_details`, largest on top,
    with their standard deviation across the fitted models as error bars.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objective: Which objective in a study with several.
        method: The importance method (see :func:`hyperdial.analysis.importance`).
        params: Parameters to rank (default: all).
        seed: Seed of the fitted models.

    Returns:
        A plotly figure with one horizontal ``Bar`` trace.

    Raises:
        InvalidValueError: too few trials, or bad options (raised by the analysis).

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_float(
        ...     "y", -1, 1) * 0.01, n_trials=20)
        >>> sorted(plot_importance(study).data[0].y)
        ['x', 'y']
    """
    from hyperdial import analysis

    history = c.as_history(study, "plot_importance")
    details = analysis.importance_details(
        history, objective=objective, method=method, params=params, seed=seed
    )
    return _figures.importance_figure(details, title=f"Parameter importance ({method})")


def plot_interactions(
    study: Study | History,
    *,
    objective: int = 0,
    params: Sequence[str] | None = None,
    seed: int = 0,
    top: int | None = None,
) -> go.Figure:
    """Plot a heat map of how strongly each pair of parameters interacts.

    A pair's strength (from :func:`hyperdial.analysis.interactions`) is the part of the
    objective's variation that neither parameter explains alone.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        objective: Which objective in a study with several.
        params: Parameters to pair (default: all).
        seed: Seed of the fitted models.
        top: Keep only the strongest ``top`` pairs.

    Returns:
        A plotly figure with one symmetric ``Heatmap`` trace.

    Raises:
        InvalidValueError: too few trials or parameters (raised by the analysis).

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) * t.suggest_float(
        ...     "y", -1, 1), n_trials=20)
        >>> list(plot_interactions(study).data[0].x)
        ['x', 'y']
    """
    from hyperdial import analysis

    history = c.as_history(study, "plot_interactions")
    strengths = analysis.interactions(
        history, objective=objective, params=params, seed=seed, top=top
    )
    if not strengths:
        raise InvalidValueError(
            "plot_interactions: the study needs at least two parameters to pair; got none."
        )
    return _figures.interactions_figure(strengths)


def plot_contour(
    study: Study | History,
    params: Sequence[str] | None = None,
    *,
    objective: int = 0,
    n_points: int = 25,
    seed: int = 0,
    max_points: int = 2000,
) -> go.Figure:
    """Plot the predicted objective over a pair of parameters, with the trials on top.

    The surface is :func:`hyperdial.analysis.partial_dependence_2d`: the objective a model of
    the study predicts for each pair of values, averaged over the other parameters. Log
    parameters get log axes.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        params: The pair ``(a, b)`` on the x and y axes (default: the two most important).
        objective: Which objective in a study with several.
        n_points: Grid points per axis.
        seed: Seed of the fitted model.
        max_points: Most trials drawn on top.

    Returns:
        A plotly figure with a ``Contour`` and a ``Scatter`` of the trials.

    Raises:
        InvalidValueError: ``params`` is not a pair, or too few trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", 1e-3, 1, log=True) + t.suggest_int(
        ...     "n", 1, 5), n_trials=20)
        >>> plot_contour(study, ["x", "n"]).layout.xaxis.type
        'log'
    """
    from hyperdial import analysis

    owner = "plot_contour"
    history = c.as_history(study, owner)
    objective = c.check_objective(history, objective, owner)
    if params is None:
        ranked = list(analysis.importance(history, objective=objective, seed=seed))
        if len(ranked) < 2:
            raise InvalidValueError(f"{owner}: the study needs two parameters; got {ranked!r}.")
        params = ranked[:2]
    if isinstance(params, str) or not isinstance(params, Sequence) or len(params) != 2:
        raise InvalidValueError(f"{owner}: params must be a pair of names; got {params!r}.")
    if params[0] == params[1]:
        raise InvalidValueError(f"{owner}: params must be two different names; got {params!r}.")
    a, b = c.param_names(history, list(params), owner)
    result = analysis.partial_dependence_2d(
        history, a, b, objective=objective, n_points=n_points, seed=seed
    )
    return _figures.contour_figure(result, history, objective, max_points)


def plot_partial_dependence(
    study: Study | History,
    params: Sequence[str] | None = None,
    *,
    objective: int = 0,
    n_points: int = 50,
    seed: int = 0,
    columns: int = 3,
) -> go.Figure:
    """Plot the predicted objective as each parameter varies, others averaged out.

    Numeric parameters are lines with a one-std band (log axes for log parameters),
    categorical ones bars with error bars; see
    :func:`hyperdial.analysis.partial_dependence`.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        params: Parameters to show (default: all, by first appearance).
        objective: Which objective in a study with several.
        n_points: Grid points per numeric parameter.
        seed: Seed of the fitted model.
        columns: Panels per row.

    Returns:
        A plotly figure with one panel per parameter.

    Raises:
        InvalidValueError: unknown parameters or too few trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=20)
        >>> [trace.name for trace in plot_partial_dependence(study).data]
        ['x ± std', 'x']
    """
    from hyperdial import analysis

    owner = "plot_partial_dependence"
    history = c.as_history(study, owner)
    objective = c.check_objective(history, objective, owner)
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise InvalidValueError(f"{owner}: columns must be an int >= 1; got {columns!r}.")
    names = c.param_names(history, params, owner)
    results = [
        analysis.partial_dependence(
            history, name, objective=objective, n_points=n_points, seed=seed
        )
        for name in names
    ]
    return _figures.partial_dependence_figure(results, history, objective, columns)
