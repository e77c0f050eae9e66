"""Per-fold records of a search's trials and the ``cv_results_`` table built from them.

The table has scikit-learn's layout: one row per trial (in trial-number order), the columns
``mean_fit_time``, ``std_fit_time``, ``mean_score_time``, ``std_score_time``, a masked
``param_<name>`` array per parameter, ``params``, then per metric ``split<k>_test_<metric>``,
``mean_test_<metric>``, ``std_test_<metric>``, ``rank_test_<metric>`` and, when asked, the
``train`` columns. A split a trial did not reach (it was pruned) is NaN, and so are the
trial's means and standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy import ma

from hyperdial._types import JSON, ParamValue

__all__ = ["Fold", "TrialRecord", "build_cv_results", "rank_scores"]


@dataclass(frozen=True)
class Fold:
    """One split of one trial: its scores and times, or the error that stopped it.

    Attributes:
        test: Metric name to validation score; ``None`` when fitting or scoring failed.
        train: Metric name to training score (only the guiding metric unless train scores
            were asked for); ``None`` when fitting or scoring failed.
        fit_time: Seconds spent fitting.
        score_time: Seconds spent scoring the validation part.
        error: What failed, if anything.
    """

    test: Mapping[str, float] | None
    train: Mapping[str, float] | None
    fit_time: float
    score_time: float
    error: BaseException | None = None


@dataclass
class TrialRecord:
    """The splits one trial has evaluated so far, in order."""

    number: int
    params: dict[str, ParamValue]
    folds: list[Fold] = field(default_factory=list)

    @property
    def failures(self) -> list[BaseException]:
        """Return the errors of the folds that failed."""
        return [f.error for f in self.folds if f.error is not None]

    def scores(self, part: str, metric: str | None, error_score: float) -> list[float]:
        """Return one score per evaluated fold (``error_score`` where the fold failed).

        Args:
            part: ``"test"`` or ``"train"``.
            metric: The metric; ``None`` (not known yet) gives NaN for every fold.
            error_score: The value of a failed fold.
        """
        out = []
        for fold in self.folds:
            scores = fold.test if part == "test" else fold.train
            if scores is None:
                out.append(error_score)
            elif metric is None or metric not in scores:
                out.append(math.nan)
            else:
                out.append(scores[metric])
        return out


def as_json(values: Sequence[float]) -> list[JSON]:
    """Return ``values`` with NaN and infinities as ``None`` (JSON has no such numbers)."""
    return [float(v) if math.isfinite(v) else None for v in values]


def rank_scores(means: np.ndarray) -> np.ndarray:
    """Return rank 1 for the highest mean; NaN ranks after every number (ties share a rank).

    Example:
        >>> rank_scores(np.array([0.5, np.nan, 0.9, 0.5])).tolist()
        [2, 4, 1, 2]
    """
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    keyed = np.where(np.isnan(means), np.inf, -means)
    ranks: np.ndarray = rankdata(keyed, method="min")
    return ranks.astype(np.int32)


def _param_dtype(values: list[ParamValue]) -> np.dtype:
    """Return a numeric dtype when every value is of one numeric kind, else ``object``."""
    if values and all(isinstance(v, bool) for v in values):
        return np.dtype(bool)
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.dtype(np.int64)
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.dtype(np.float64)
    return np.dtype(object)


def _param_columns(params: Sequence[Mapping[str, ParamValue]]) -> dict[str, ma.MaskedArray]:
    """Return one masked array per parameter; masked where a trial lacks the parameter."""
    names: list[str] = []
    for p in params:
        names.extend(n for n in p if n not in names)
    columns = {}
    for name in names:
        present = [p[name] for p in params if name in p]
        column = ma.MaskedArray(np.empty(len(params), dtype=_param_dtype(present)), mask=True)
        for row, p in enumerate(params):
            if name in p:
                column[row] = p[name]
        columns[f"param_{name}"] = column
    return columns


def _table(
    records: Sequence[TrialRecord], n_splits: int, value: Callable[[Fold], float]
) -> np.ndarray:
    table = np.full((len(records), n_splits), np.nan)
    for row, record in enumerate(records):
        for k, fold in enumerate(record.folds):
            table[row, k] = value(fold)
    return table


def _add(
    results: dict[str, Any], key: str, table: np.ndarray, *, splits: bool, rank: bool
) -> None:
    if splits:
        for k in range(table.shape[1]):
            results[f"split{k}_{key}"] = table[:, k].copy()
    means = table.mean(axis=1)
    results[f"mean_{key}"] = means
    results[f"std_{key}"] = table.std(axis=1)
    if rank:
        results[f"rank_{key}"] = rank_scores(means)


def _score_of(part: str, name: str, error_score: float) -> Callable[[Fold], float]:
    def value(fold: Fold) -> float:
        scores = fold.test if part == "test" else fold.train
        return error_score if scores is None else scores.get(name, math.nan)

    return value


def build_cv_results(
    records: Sequence[TrialRecord],
    n_splits: int,
    names: Sequence[str],
    *,
    error_score: float,
    return_train_score: bool,
) -> dict[str, Any]:
    """Return ``cv_results_`` for ``records`` (one row each, in the given order).

    Args:
        records: The trials' records.
        n_splits: Splits of the cross-validation.
        names: The metric names.
        error_score: The score of a split whose fit failed.
        return_train_score: Add the ``train`` columns.
    """
    results: dict[str, Any] = {}
    _add(
        results,
        "fit_time",
        _table(records, n_splits, lambda f: f.fit_time),
        splits=False,
        rank=False,
    )
    _add(
        results,
        "score_time",
        _table(records, n_splits, lambda f: f.score_time),
        splits=False,
        rank=False,
    )
    params = [dict(r.params) for r in records]
    results.update(_param_columns(params))
    results["params"] = params
    for name in names:
        test = _table(records, n_splits, _score_of("test", name, error_score))
        _add(results, f"test_{name}", test, splits=True, rank=True)
        if return_train_score:
            train = _table(records, n_splits, _score_of("train", name, error_score))
            _add(results, f"train_{name}", train, splits=True, rank=False)
    return results
