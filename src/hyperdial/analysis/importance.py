"""Which parameters matter: fANOVA and PED-ANOVA importance, and pairwise interactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hyperdial.analysis._data import load
from hyperdial.analysis._fanova import main_effects, main_shares, pair_effect
from hyperdial.analysis._forest import fitted
from hyperdial.analysis._ped_anova import divergences
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.study import Study

__all__ = ["ParamImportance", "importance", "importance_details", "interactions"]

_METHODS = ("fanova", "ped_anova")


@dataclass(frozen=True)
class ParamImportance:
    """The share of the objective's variance one parameter explains on its own.

    Attributes:
        param: The parameter's name.
        share: Its share of the explained variance; the shares of a result sum to 1.
        std: The spread of the share across the forest's trees (0 for PED-ANOVA).

    Example:
        >>> ParamImportance("lr", 0.75, 0.05).share
        0.75
    """

    param: str
    share: float
    std: float


def importance_details(
    study: Study | History,
    *,
    objective: int = 0,
    method: str = "fanova",
    params: Sequence[str] | None = None,
    seed: int = 0,
) -> list[ParamImportance]:
    """Return each parameter's share of the variance with its spread, most important first.

    ``method="fanova"`` is the functional ANOVA of Hutter, Hoos & Leyton-Brown (2014, "An
    Efficient Approach for Assessing Hyperparameter Importance", ICML) computed exactly on each
    tree of a random forest fitted on the unit cube; a parameter's share is its main-effect
    variance over the sum of the main-effect variances of ``params``, averaged over the trees
    (``std`` is the spread across trees). ``method="ped_anova"`` is PED-ANOVA (Watanabe,
    Bansal & Hutter, 2023, IJCAI, arXiv:2304.10255): the Pearson divergence between each
    parameter's density among the best 10% of trials and among all trials; it fits no model
    and is fast on large studies. Both are independent of the direction of the objective.

    Only COMPLETE trials with a finite value of ``objective`` are used. A conditional
    parameter is credited for its values where it exists; whether it exists is credited to
    the parameter its condition reads (``n_layers``, not ``units_4``). The forest is fitted on
    at most 2,000 trials (a seeded subsample of a larger study). When the objective does not
    vary, every share is 0.

    Args:
        study: A :class:`~hyperdial.Study` or a :class:`~hyperdial.History`.
        objective: Index of the objective in a study with several.
        method: ``"fanova"`` or ``"ped_anova"``.
        params: The parameters to rank (all by default); the forest still models all of them.
        seed: Seeds the forest (and the subsample of a large study).

    Returns:
        One :class:`ParamImportance` per parameter, sorted by decreasing share.

    Raises:
        InvalidValueError: ``method``, ``objective`` or a name in ``params`` is unknown.
        NoCompletedTrialsError: fewer than 5 completed trials.
        MissingDependencyError: fANOVA needs scikit-learn.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import importance_details
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(
        ...     lambda t: 10 * t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1),
        ...     n_trials=40,
        ... )
        >>> first = importance_details(study)[0]
        >>> first.param, first.share > 0.8
        ('x', True)
    """
    owner = "importance"
    if method not in _METHODS:
        raise InvalidValueError(
            f"{owner}: method must be 'fanova' or 'ped_anova'; got {method!r}."
        )
    data = load(owner, study, objective)
    columns = data.columns(owner, params)
    std = np.zeros(len(columns))
    if method == "fanova":
        share, std = main_shares(fitted(owner, data, seed), columns)
    else:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidValueError(f"{owner}: seed must be an int; got {seed!r}.")
        found = divergences(data, columns)
        total = float(found.sum())
        share = found / total if total > 0 else found * 0.0
    out = [
        ParamImportance(data.names[j], float(s), float(e)) for j, s, e in zip(columns, share, std)
    ]
    return sorted(out, key=lambda p: (-p.share, p.param))


def importance(
    study: Study | History,
    *,
    objective: int = 0,
    method: str = "fanova",
    params: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Return each parameter's share of the variance, most important first (sum 1).

    See :func:`importance_details` for the methods, arguments and errors.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import importance
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(
        ...     lambda t: 10 * t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1),
        ...     n_trials=100,
        ... )
        >>> list(importance(study, method="ped_anova"))
        ['x', 'y']
    """
    details = importance_details(
        study, objective=objective, method=method, params=params, seed=seed
    )
    return {p.param: p.share for p in details}


def interactions(
    study: Study | History,
    *,
    objective: int = 0,
    params: Sequence[str] | None = None,
    seed: int = 0,
    top: int | None = None,
) -> dict[tuple[str, str], float]:
    """Return the share of variance of each pair's pure interaction, strongest first.

    Second-order functional ANOVA (Hutter, Hoos & Leyton-Brown, 2014, ICML) on the same
    forest as :func:`importance`: the variance of the joint marginal of two parameters minus
    their two main effects, as a share of the total variance, averaged over the trees. A pair
    whose effect is additive scores near 0.

    Args:
        study: A :class:`~hyperdial.Study` or a :class:`~hyperdial.History`.
        objective: Index of the objective in a study with several.
        params: The parameters whose pairs are scored (all by default).
        seed: Seeds the forest.
        top: Keep only the ``top`` strongest pairs.

    Returns:
        ``{(a, b): share}`` with ``a`` suggested before ``b``, by decreasing share.

    Raises:
        InvalidValueError: an argument is invalid or a parameter name is unknown.
        NoCompletedTrialsError: fewer than 5 completed trials.

    Example:
        >>> import math, hyperdial
        >>> from hyperdial.analysis import interactions
        >>> from hyperdial.samplers import RandomSampler
        >>> def objective(t):
        ...     lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
        ...     batch = t.suggest_int("batch", 16, 512, log=True)
        ...     return (math.log(lr) - math.log(batch) / 2) ** 2 + t.suggest_float("z", 0, 1)
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(objective, n_trials=60)
        >>> next(iter(interactions(study, top=1)))
        ('lr', 'batch')
    """
    owner = "interactions"
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise InvalidValueError(f"{owner}: top must be an int >= 1 or None; got {top!r}.")
    data = load(owner, study, objective)
    columns = sorted(data.columns(owner, params))
    forest = fitted(owner, data, seed)
    _, total = main_effects(forest)
    varied = total > 0
    out: dict[tuple[str, str], float] = {}
    for a, j in enumerate(columns):
        for k in columns[a + 1 :]:
            share = 0.0
            if varied.any():
                share = float(np.mean(pair_effect(forest, j, k)[varied] / total[varied]))
            out[(data.names[j], data.names[k])] = share
    ranked = sorted(out.items(), key=lambda item: -item[1])
    return dict(ranked[:top] if top is not None else ranked)
