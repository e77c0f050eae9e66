"""The objective a :class:`~hyperdial.integrations.sklearn.HyperdialSearchCV` study runs.

One trial is one configuration cross-validated fold by fold: clone the estimator, set the
trial's parameters, fit on the training part, score the validation part (and the training
part, for the bias-variance diagnostics). After each fold the trial reports the running mean
validation score at step = fold index, so a pruning scheduler can stop it before the last fold.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperdial.exceptions import TrialPruned, missing
from hyperdial.integrations._sklearn_results import Fold, TrialRecord, as_json
from hyperdial.integrations._sklearn_scoring import (
    SINGLE,
    Scoring,
    compute_scores,
    guide_metric,
)
from hyperdial.space import SearchSpace
from hyperdial.trial import Trial

try:
    from sklearn.base import clone
    from sklearn.utils import _safe_indexing
    from sklearn.utils.metaestimators import _safe_split
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise missing("sklearn", "HyperdialSearchCV", "scikit-learn") from exc

__all__ = ["CVObjective", "TrialFitFailed", "n_samples"]

#: User attributes each trial records (means and per-fold lists of the guiding metric).
TRAIN_SCORE, VALIDATION_SCORE = "train_score", "validation_score"
TRAIN_SCORES, VALIDATION_SCORES = "train_scores", "validation_scores"


class TrialFitFailed(Exception):  # noqa: N818 - recorded as the trial's error, never escapes
    """Some fits of a trial failed and ``error_score`` is NaN: the trial is recorded FAILED."""


def n_samples(X: Any) -> int:
    """Return the number of samples (rows) of ``X``."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def _index_params(params: Mapping[str, Any], indices: np.ndarray, n: int) -> dict[str, Any]:
    """Return ``params`` with the per-sample ones (e.g. ``sample_weight``) cut to ``indices``."""
    out = {}
    for key, value in params.items():
        aligned = (hasattr(value, "shape") and len(value.shape) > 0 and value.shape[0] == n) or (
            isinstance(value, (list, tuple)) and len(value) == n
        )
        out[key] = _safe_indexing(value, indices) if aligned else value
    return out


def _fit(estimator: Any, X: Any, y: Any, params: Mapping[str, Any]) -> None:
    if y is None:
        estimator.fit(X, **params)
    else:
        estimator.fit(X, y, **params)


class CVObjective:
    """Cross-validate one configuration per trial and keep every fold's record.

    Args:
        estimator: The unfitted estimator (cloned for every fold).
        space: The search space.
        X: Samples.
        y: Targets, or ``None``.
        fit_params: Extra arguments of ``fit``; per-sample ones are cut to each fold.
        splits: The ``(train, test)`` index pairs, the same for every trial.
        scoring: The scorers.
        refit: The search's ``refit`` (it picks the guiding metric among several).
        error_score: ``"raise"``, or the score of a failed fit.
        return_train_score: Compute every metric on the training part, not only the
            guiding one.
    """

    def __init__(
        self,
        *,
        estimator: Any,
        space: SearchSpace,
        X: Any,
        y: Any,
        fit_params: Mapping[str, Any],
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        scoring: Scoring,
        refit: object,
        error_score: float | str,
        return_train_score: bool,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.X, self.y = X, y
        self.fit_params = dict(fit_params)
        self.splits = list(splits)
        self.scoring = scoring
        self.refit = refit
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.records: dict[int, TrialRecord] = {}
        self.names = scoring.names  # a callable's names are learnt from its first answer
        self.multimetric = scoring.multimetric
        self.guide: str | None = None
        if self.names is not None:
            self.guide = guide_metric(refit, self.names, bool(self.multimetric))
        self._n = n_samples(X)
        self._lock = threading.Lock()

    @property
    def _fill(self) -> float:
        """The score of a failed fold."""
        return math.nan if self.error_score == "raise" else float(self.error_score)

    def __call__(self, trial: Trial) -> float:
        """Cross-validate the trial's configuration; return its mean validation score.

        Raises:
            TrialPruned: the scheduler stopped the trial after a fold.
            TrialFitFailed: a fit failed and ``error_score`` is NaN.
        """
        params = trial.suggest_space(self.space)
        record = TrialRecord(trial.number, dict(params))
        with self._lock:
            self.records[trial.number] = record
        last = len(self.splits) - 1
        for k, (train, test) in enumerate(self.splits):
            record.folds.append(self._fold(record.params, train, test))
            running = float(np.mean(record.scores("test", self.guide, self._fill)))
            if not math.isfinite(running):
                continue  # a failed fit with error_score=nan: nothing to judge
            trial.report(running, k)
            if k < last and trial.should_prune():
                self._annotate(trial, record)
                raise TrialPruned(f"pruned after fold {k + 1} of {last + 1}")
        self._annotate(trial, record)
        if record.failures and math.isnan(self._fill):
            failed, first = len(record.failures), record.failures[0]
            raise TrialFitFailed(
                f"{failed} of {len(self.splits)} fits failed (error_score=nan); the first: "
                f"{type(first).__name__}: {first}"
            ) from first
        return float(np.mean(record.scores("test", self.guide, self._fill)))

    def _annotate(self, trial: Trial, record: TrialRecord) -> None:
        """Store the guiding metric's train and validation scores with the trial."""
        train = record.scores("train", self.guide, self._fill)
        test = record.scores("test", self.guide, self._fill)
        trial.set_user_attr(TRAIN_SCORE, as_json([float(np.mean(train))])[0])
        trial.set_user_attr(VALIDATION_SCORE, as_json([float(np.mean(test))])[0])
        trial.set_user_attr(TRAIN_SCORES, as_json(train))
        trial.set_user_attr(VALIDATION_SCORES, as_json(test))

    def _learn_names(self, scores: Mapping[str, float]) -> str:
        """Return the guiding metric; a callable's first answer fixes the metric names."""
        if self.guide is None:
            with self._lock:
                if self.guide is None:
                    names = tuple(scores)
                    multimetric = self.scoring.multimetric
                    if multimetric is None:  # a callable: several metrics if it gave a dict
                        multimetric = names != (SINGLE,)
                    guide = guide_metric(self.refit, names, multimetric)
                    self.names, self.multimetric, self.guide = names, multimetric, guide
        assert self.guide is not None
        return self.guide

    def _fold(self, params: Mapping[str, Any], train: np.ndarray, test: np.ndarray) -> Fold:
        """Fit and score one split; a failure gives a fold without scores (or raises)."""
        estimator = clone(self.estimator)
        X_train, y_train = _safe_split(estimator, self.X, self.y, train)
        X_test, y_test = _safe_split(estimator, self.X, self.y, test, train)
        fit_params = _index_params(self.fit_params, train, self._n)
        start = time.perf_counter()
        try:
            estimator.set_params(**clone(dict(params), safe=False))
            _fit(estimator, X_train, y_train, fit_params)
        except Exception as exc:
            if self.error_score == "raise":
                raise
            return Fold(None, None, time.perf_counter() - start, 0.0, exc)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        try:
            test_scores = compute_scores(self.scoring, estimator, X_test, y_test)
        except Exception as exc:
            if self.error_score == "raise":
                raise
            return Fold(None, None, fit_time, time.perf_counter() - start, exc)
        score_time = time.perf_counter() - start
        guide = self._learn_names(test_scores)
        only = None if self.return_train_score else guide
        try:
            train_scores = compute_scores(self.scoring, estimator, X_train, y_train, only)
        except Exception as exc:
            if self.error_score == "raise":
                raise
            return Fold(None, None, fit_time, score_time, exc)
        return Fold(test_scores, train_scores, fit_time, score_time)
