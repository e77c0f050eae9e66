"""How the objective responds to one or two parameters: fANOVA partial dependence."""

from __future__ import annotations

from dataclasses import dataclass

from hyperdial._types import ParamValue
from hyperdial.analysis._data import load, value_grid
from hyperdial.analysis._fanova import marginal, marginal_2d
from hyperdial.analysis._forest import fitted
from hyperdial.distributions import Categorical, Distribution
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.study import Study

__all__ = [
    "PartialDependence",
    "PartialDependence2D",
    "partial_dependence",
    "partial_dependence_2d",
]


@dataclass(frozen=True)
class PartialDependence:
    """The objective predicted along one parameter, averaged over all the others.

    Attributes:
        param: The parameter's name.
        values: The grid, in the parameter's own units (the choices of a categorical).
        mean: The forest's mean prediction at each value, in the objective's units.
        std: The spread of the prediction across the forest's trees.
        categorical: Whether the parameter is categorical (plot as bars).
        log: Whether the parameter lives on a log scale (plot a log axis).

    Example:
        >>> PartialDependence("depth", [1, 2], [0.5, 0.25], [0.0, 0.0], False, False).mean[1]
        0.25
    """

    param: str
    values: list[ParamValue]
    mean: list[float]
    std: list[float]
    categorical: bool
    log: bool


@dataclass(frozen=True)
class PartialDependence2D:
    """The objective predicted on a grid of two parameters, averaged over the others.

    Attributes:
        param_a: The parameter along ``x``.
        param_b: The parameter along ``y``.
        x: The grid of ``param_a`` in its own units.
        y: The grid of ``param_b`` in its own units.
        z: ``z[j][i]`` is the prediction at ``(x[i], y[j])``, in the objective's units.
        log_a: Whether ``param_a`` is on a log scale.
        log_b: Whether ``param_b`` is on a log scale.

    Example:
        >>> PartialDependence2D("a", "b", [0, 1], [5], [[0.5, 0.75]], False, False).z[0][1]
        0.75
    """

    param_a: str
    param_b: str
    x: list[ParamValue]
    y: list[ParamValue]
    z: list[list[float]]
    log_a: bool
    log_b: bool


def _is_log(dist: Distribution) -> bool:
    return not isinstance(dist, Categorical) and dist.log


def _check_points(owner: str, n_points: int) -> None:
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
        raise InvalidValueError(f"{owner}: n_points must be an int >= 2; got {n_points!r}.")


def partial_dependence(
    study: Study | History,
    param: str,
    *,
    objective: int = 0,
    n_points: int = 50,
    seed: int = 0,
) -> PartialDependence:
    """Return the objective's partial dependence on ``param`` with its spread across trees.

    The curve is the fANOVA marginal (Hutter, Hoos & Leyton-Brown, 2014, ICML) of the
    forest that :func:`~hyperdial.analysis.importance` uses: the prediction averaged over
    every other parameter, uniformly over its range, computed exactly from the trees' leaves.
    Values are in the objective's own units, whatever its direction. For a conditional
    parameter the average is taken where it exists: the discrete parameter its condition
    reads (``n_layers >= 3``, inferred from the trials) is averaged over the values that
    activate it only.

    Args:
        study: A :class:`~hyperdial.Study` or a :class:`~hyperdial.History`.
        param: The parameter's name.
        objective: Index of the objective in a study with several.
        n_points: Grid size for numeric parameters.
        seed: Seeds the forest.

    Raises:
        InvalidValueError: unknown parameter or invalid argument.
        NoCompletedTrialsError: fewer than 5 completed trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import partial_dependence
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", 0, 4) - 1) ** 2, n_trials=40)
        >>> pd = partial_dependence(study, "x", n_points=5)
        >>> pd.values
        [0.0, 1.0, 2.0, 3.0, 4.0]
        >>> pd.mean.index(min(pd.mean))
        1
    """
    owner = "partial_dependence"
    _check_points(owner, n_points)
    data = load(owner, study, objective)
    j = data.column(owner, param)
    dist = data.dists[j]
    values, u = value_grid(dist, n_points)
    forest = fitted(owner, data, seed)
    per_tree = marginal(forest, j, u, forest.active_measures([j]))
    return PartialDependence(
        param=param,
        values=values,
        mean=[float(v) for v in per_tree.mean(axis=0)],
        std=[float(v) for v in per_tree.std(axis=0)],
        categorical=isinstance(dist, Categorical),
        log=_is_log(dist),
    )


def partial_dependence_2d(
    study: Study | History,
    param_a: str,
    param_b: str,
    *,
    objective: int = 0,
    n_points: int = 25,
    seed: int = 0,
) -> PartialDependence2D:
    """Return the objective's joint partial dependence on two parameters.

    The fANOVA marginal of the pair (see :func:`partial_dependence`), including both main
    effects and their interaction, in the objective's own units.

    Raises:
        InvalidValueError: unknown or identical parameters, or an invalid argument.
        NoCompletedTrialsError: fewer than 5 completed trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import partial_dependence_2d
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(
        ...     lambda t: t.suggest_float("a", 0, 1) * t.suggest_categorical("b", [-1, 1]),
        ...     n_trials=40,
        ... )
        >>> pd = partial_dependence_2d(study, "a", "b", n_points=3)
        >>> pd.x, pd.y
        ([0.0, 0.5, 1.0], [-1, 1])
        >>> pd.z[0][2] < pd.z[0][0] and pd.z[1][2] > pd.z[1][0]
        True
    """
    owner = "partial_dependence_2d"
    _check_points(owner, n_points)
    data = load(owner, study, objective)
    j, k = data.column(owner, param_a), data.column(owner, param_b)
    if j == k:
        raise InvalidValueError(
            f"{owner}: param_b must differ from param_a; got {param_b!r} twice."
        )
    dist_a, dist_b = data.dists[j], data.dists[k]
    x, uj = value_grid(dist_a, n_points)
    y, uk = value_grid(dist_b, n_points)
    forest = fitted(owner, data, seed)
    z = marginal_2d(forest, j, k, uj, uk, forest.active_measures([j, k])).mean(axis=0)
    return PartialDependence2D(
        param_a=param_a,
        param_b=param_b,
        x=x,
        y=y,
        z=[[float(v) for v in row] for row in z],
        log_a=_is_log(dist_a),
        log_b=_is_log(dist_b),
    )
