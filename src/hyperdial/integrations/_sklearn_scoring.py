"""How :class:`~hyperdial.integrations.sklearn.HyperdialSearchCV` scores a fitted estimator.

``scoring`` takes the forms scikit-learn's searches accept: ``None`` (the estimator's own
``score``), a metric name, a callable scorer (which may return a dict of metrics), a list of
names or a dict of name to scorer. :func:`resolve_scoring` turns it into a :class:`Scoring`;
:func:`compute_scores` always answers with a dict of metric name to float, the single metric
being named ``"score"``; :func:`guide_metric` picks the metric the study optimises.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperdial.exceptions import InvalidValueError, missing

try:
    from sklearn.metrics import check_scoring
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise missing("sklearn", "HyperdialSearchCV", "scikit-learn") from exc

__all__ = ["SINGLE", "Scoring", "check_refit", "compute_scores", "guide_metric", "resolve_scoring"]

_OWNER = "HyperdialSearchCV"

#: The name of the metric when there is only one, as in scikit-learn's ``mean_test_score``.
SINGLE = "score"

Scorer = Callable[..., Any]


@dataclass(frozen=True)
class Scoring:
    """The scorers of a search.

    Attributes:
        scorer: What ``scorer_`` holds: one scorer, a dict of name to scorer, or the user's
            callable.
        names: The metric names, or ``None`` for a callable (known once it has answered).
        multimetric: Whether there are several metrics, ``None`` for a callable until then.
    """

    scorer: Scorer | dict[str, Scorer]
    names: tuple[str, ...] | None
    multimetric: bool | None


def resolve_scoring(estimator: Any, scoring: object) -> Scoring:
    """Return the :class:`Scoring` that ``scoring`` describes for ``estimator``.

    Raises:
        InvalidValueError: ``scoring`` has none of the accepted forms.
        TypeError: ``scoring`` is ``None`` and the estimator has no ``score`` method.
    """
    if scoring is None or isinstance(scoring, str):
        return Scoring(check_scoring(estimator, scoring=scoring), (SINGLE,), False)
    if callable(scoring):
        return Scoring(scoring, None, None)
    if isinstance(scoring, (list, tuple, set, frozenset)):
        names = sorted(scoring) if isinstance(scoring, (set, frozenset)) else list(scoring)
        if not names or not all(isinstance(n, str) for n in names) or len(set(names)) < len(names):
            raise InvalidValueError(
                f"{_OWNER}: scoring must be a non-empty list of unique metric names; "
                f"got {scoring!r}."
            )
        scorers = {name: check_scoring(estimator, scoring=name) for name in names}
    elif isinstance(scoring, Mapping):
        if not scoring or not all(isinstance(k, str) for k in scoring):
            raise InvalidValueError(
                f"{_OWNER}: scoring must be a non-empty dict of metric name to scorer; "
                f"got {scoring!r}."
            )
        scorers = {name: check_scoring(estimator, scoring=s) for name, s in scoring.items()}
    else:
        raise InvalidValueError(
            f"{_OWNER}: scoring must be None, a metric name, a callable, a list of names or a "
            f"dict of name to scorer; got {scoring!r}."
        )
    return Scoring(scorers, tuple(scorers), True)


def _as_float(name: str, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        return float(value.reshape(()))
    raise InvalidValueError(
        f"{_OWNER}: the scorer of {name!r} must return a number; "
        f"got {type(value).__name__} {value!r}."
    )


def compute_scores(
    scoring: Scoring, estimator: Any, X: Any, y: Any, only: str | None = None
) -> dict[str, float]:
    """Return metric name to score of a fitted ``estimator`` on ``X``, ``y``.

    Args:
        scoring: The search's scorers.
        estimator: A fitted estimator.
        X: Samples.
        y: Targets, or ``None``.
        only: Compute this metric alone when the scorers are separate (a dict); a callable
            returning a dict is computed whole.

    Raises:
        InvalidValueError: a scorer returned something other than a number (or a callable
            an empty dict).
    """
    if isinstance(scoring.scorer, dict):
        chosen = scoring.scorer if only is None else {only: scoring.scorer[only]}
        return {name: _as_float(name, s(estimator, X, y)) for name, s in chosen.items()}
    result = scoring.scorer(estimator, X, y)
    if isinstance(result, Mapping):
        if not result:
            raise InvalidValueError(f"{_OWNER}: the scoring callable returned an empty dict.")
        return {str(k): _as_float(str(k), v) for k, v in result.items()}
    return {SINGLE: _as_float(SINGLE, result)}


def check_refit(refit: object) -> None:
    """Check that ``refit`` is a bool, a metric name or a callable.

    Raises:
        InvalidValueError: it is none of these.
    """
    if not (isinstance(refit, (bool, str)) or callable(refit)):
        raise InvalidValueError(
            f"{_OWNER}: refit must be a bool, a metric name or a callable; got {refit!r}."
        )


def guide_metric(refit: object, names: Sequence[str], multimetric: bool) -> str:
    """Return the metric the study maximises.

    With one metric it is that metric; with several, the one ``refit`` names, or the first
    one when ``refit`` is ``False`` or a callable.

    Raises:
        InvalidValueError: with several metrics, ``refit`` is ``True`` or names none of them.
    """
    if not multimetric:
        return SINGLE
    if refit is True:
        raise InvalidValueError(
            f"{_OWNER}: refit must be a metric name, a callable or False when scoring gives "
            f"several metrics ({list(names)!r}); got True."
        )
    if isinstance(refit, str):
        if refit not in names:
            raise InvalidValueError(
                f"{_OWNER}: refit must name one of the metrics {list(names)!r}; got {refit!r}."
            )
        return refit
    return names[0]
