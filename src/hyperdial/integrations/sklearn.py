"""Tune a scikit-learn estimator with a hyperdial study, as ``RandomizedSearchCV`` would.

:class:`HyperdialSearchCV` follows scikit-learn's search conventions (``cv_results_``,
``best_estimator_``, multi-metric scoring, ``refit``) while a hyperdial sampler proposes the
configurations and a scheduler may stop bad ones between folds. Needs scikit-learn:
``pip install 'hyperdial[sklearn]'``.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import numpy as np

from hyperdial._record import record_data
from hyperdial.exceptions import missing
from hyperdial.samplers.base import Sampler
from hyperdial.schedulers.base import NoScheduler, Scheduler
from hyperdial.space import Distribution, SearchSpace
from hyperdial.storage.base import Storage
from hyperdial.study import Study, create_study
from hyperdial.trial import FrozenTrial

try:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import check_cv
    from sklearn.utils import indexable
    from sklearn.utils.metaestimators import available_if
except ImportError as exc:
    raise missing("sklearn", "HyperdialSearchCV", "scikit-learn") from exc

from hyperdial.integrations._sklearn_checks import check_settings, check_targets, search_space
from hyperdial.integrations._sklearn_objective import CVObjective, TrialFitFailed
from hyperdial.integrations._sklearn_outcome import FitFailedWarning, check_outcome, choose_best
from hyperdial.integrations._sklearn_results import build_cv_results
from hyperdial.integrations._sklearn_scoring import check_refit, resolve_scoring

__all__ = ["FitFailedWarning", "HyperdialSearchCV"]

_logger = logging.getLogger(__name__)
_OWNER = "HyperdialSearchCV"
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _delegate_has(name: str) -> Callable[[HyperdialSearchCV], bool]:
    """Return a check that the best (or, before fit, the given) estimator has ``name``."""

    def check(search: HyperdialSearchCV) -> bool:
        inner = getattr(search, "best_estimator_", search.estimator)
        getattr(inner, name)  # raises AttributeError: the method is then unavailable
        return True

    return check


def _can_score(search: HyperdialSearchCV) -> bool:
    return search.scoring is not None or _delegate_has("score")(search)


def _available(check: Callable[[HyperdialSearchCV], bool]) -> Callable[[_Method], _Method]:
    """Return scikit-learn's ``available_if(check)``: the method exists only if it passes."""
    return cast("Callable[[_Method], _Method]", available_if(check))


class HyperdialSearchCV(MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]  # untyped base
    """Search an estimator's hyperparameters by cross-validation, one trial per configuration.

    Each trial draws a configuration from ``param_distributions``, cross-validates a clone of
    ``estimator`` with it fold by fold and returns the mean validation score of the guiding
    metric, which the study maximises (scikit-learn scorers are greater-is-better). After each
    fold the trial reports the running mean at step = fold index, so a pruning ``scheduler``
    (e.g. :class:`~hyperdial.schedulers.MedianPruner`) stops bad configurations before their
    last fold; pruned trials keep NaN for the splits they did not reach (and so for their
    means) and never become best. The results follow scikit-learn's ``RandomizedSearchCV``.

    Arguments are stored as given and checked in :meth:`fit`, as scikit-learn requires.

    Args:
        estimator: The estimator to tune (cloned for every fit, never changed).
        param_distributions: Parameter name (``step__param`` for nested ones) to a
            :class:`~hyperdial.Float`, :class:`~hyperdial.Int` or
            :class:`~hyperdial.Categorical`; or a :class:`~hyperdial.SearchSpace`, whose
            conditions leave inactive parameters at the estimator's own values.
        n_trials: Trials to run (``None``: until ``timeout``).
        cv: Splits, as scikit-learn's ``cv`` (``None``: 5 folds, stratified for classifiers).
        scoring: ``None`` (the estimator's ``score``), a metric name, a scorer callable
            (which may return a dict of metrics), a list of names or a dict of name to scorer.
        refit: Refit the best configuration on all the data (``best_estimator_``). With
            several metrics, the name of the metric that picks it (and that the study
            maximises); or a callable ``refit(cv_results_) -> best_index_``. With ``False``
            or a callable and several metrics, the first metric guides the study.
        sampler: How configurations are proposed (default: the study's
            :class:`~hyperdial.samplers.AutoSampler`); copied, never changed.
        scheduler: Prunes trials between folds, e.g. ``MedianPruner()`` (default: none, every
            trial runs every fold); copied, never changed.
        storage: Where the study lives: a :class:`~hyperdial.storage.Storage`, a database URL
            or ``None`` (memory). With ``study_name`` an existing study is continued.
        study_name: The study's name (default: a new random one).
        n_jobs: Trials run at once, in threads (``-1``: one per CPU).
        timeout: Seconds after which no new trial starts.
        seed: Makes the suggestions reproducible, also with ``n_jobs > 1``.
        return_train_score: Add the training scores of every metric to ``cv_results_`` (the
            guiding metric's are computed anyway, for the trials' ``train_score``).
        error_score: ``"raise"`` re-raises a failed fit; ``np.nan`` (default) records the
            trial FAILED with NaN scores and warns; a number scores the failed split with it.
        verbose: ``0`` is silent; ``1`` shows a progress bar; ``2`` also logs each trial.

    Attributes:
        cv_results_: scikit-learn's result table, one row per trial of this fit in number
            order (``trials_[i]`` is row ``i``).
        best_index_, best_score_, best_params_: The best completed trial's row, mean score of
            the guiding metric and parameters (not set with several metrics and
            ``refit=False``; ``best_score_`` not set with a callable ``refit``).
        best_estimator_, refit_time_: The refit estimator and the seconds it took.
        scorer_, multimetric_, n_splits_: The scorer(s), whether there are several, splits.
        study_, trials_: The hyperdial study and this fit's trials. Each trial has user
            attributes ``train_score`` and ``validation_score`` (mean of the guiding metric
            over its folds) and ``train_scores``/``validation_scores`` (one per fold).

    Example:
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.linear_model import Ridge
        >>> from hyperdial import Float
        >>> X, y = load_diabetes(return_X_y=True)
        >>> search = HyperdialSearchCV(
        ...     Ridge(), {"alpha": Float(1e-3, 10.0, log=True)}, n_trials=4, cv=3, seed=0
        ... ).fit(X, y)
        >>> len(search.cv_results_["mean_test_score"]), sorted(search.best_params_)
        (4, ['alpha'])
        >>> search.trials_[search.best_index_].state.name
        'COMPLETE'
        >>> search.predict(X[:2]).shape
        (2,)
    """

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Distribution] | SearchSpace,
        *,
        n_trials: int | None = 10,
        cv: Any = None,
        scoring: Any = None,
        refit: bool | str | Callable[[Mapping[str, Any]], int] = True,
        sampler: Sampler | None = None,
        scheduler: Scheduler | None = None,
        storage: Storage | str | None = None,
        study_name: str | None = None,
        n_jobs: int = 1,
        timeout: float | None = None,
        seed: int | None = None,
        return_train_score: bool = False,
        error_score: float | str = np.nan,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.sampler = sampler
        self.scheduler = scheduler
        self.storage = storage
        self.study_name = study_name
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.seed = seed
        self.return_train_score = return_train_score
        self.error_score = error_score
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        """Return the estimator's tags with the tuned estimator's kind and input tags."""
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.transformer_tags = copy.deepcopy(inner.transformer_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)  # y is passed through untouched
        tags.input_tags.pairwise = inner.input_tags.pairwise  # e.g. precomputed kernels
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    # ----------------------------------------------------------------------------- fit
    def fit(
        self, X: Any, y: Any = None, *, groups: Any = None, **fit_params: Any
    ) -> HyperdialSearchCV:
        """Run the study on ``X``, ``y`` and refit the best configuration.

        Args:
            X: Training samples.
            y: Targets (``None`` for unsupervised estimators).
            groups: Group labels for group-aware splitters (e.g. ``GroupKFold``).
            **fit_params: Passed to the estimator's ``fit``; per-sample arrays (e.g.
                ``sample_weight``) are cut to each fold.

        Returns:
            The fitted search.

        Raises:
            InvalidValueError: an argument is invalid (the message names it).
            InvalidDistributionError: ``param_distributions`` holds something other than
                hyperdial distributions.
            NoCompletedTrialsError: no trial completed (all pruned or failed). When every
                fit failed, the first fit's own error is raised instead, with a note.
        """
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)  # a refit after set_params must not keep stale results
        check_settings(self)
        space = search_space(self.param_distributions, self.estimator)
        scoring = resolve_scoring(self.estimator, self.scoring)
        check_refit(self.refit)
        check_targets(self.estimator, y)
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        objective = CVObjective(
            estimator=self.estimator,
            space=space,
            X=X,
            y=y,
            fit_params=fit_params,
            splits=splits,
            scoring=scoring,
            refit=self.refit,
            error_score=self.error_score,
            return_train_score=self.return_train_score,
        )
        study = self._study()
        try:
            record_data(study, X, y, source=f"{_OWNER}.fit")
        except (TypeError, ValueError) as exc:  # e.g. ragged lists numpy cannot hold
            _logger.warning("%s: cannot fingerprint the training data: %s", _OWNER, exc)
        study.optimize(
            objective,
            n_trials=self.n_trials,
            timeout=self.timeout,
            n_jobs=self.n_jobs,
            catch=(TrialFitFailed,),
            callbacks=[self._log_trial] if self.verbose >= 2 else [],
            show_progress_bar=self.verbose >= 1,
            reproducible=self.seed is not None,
        )
        records = sorted(objective.records.values(), key=lambda r: r.number)
        by_number = {t.number: t for t in study.trials}
        trials = [by_number[r.number] for r in records]
        check_outcome(records, trials, self.error_score)
        assert objective.names is not None and objective.guide is not None  # a trial scored
        self.cv_results_ = build_cv_results(
            records,
            len(splits),
            objective.names,
            error_score=math.nan if self.error_score == "raise" else float(self.error_score),
            return_train_score=self.return_train_score,
        )
        self.study_: Study = study
        self.trials_: list[FrozenTrial] = trials
        self.scorer_ = scoring.scorer
        self.multimetric_ = bool(objective.multimetric)
        self.n_splits_ = len(splits)
        self._guide = objective.guide
        if self.refit or not self.multimetric_:
            self.best_index_, score = choose_best(
                self.cv_results_, trials, self.refit, objective.guide
            )
            self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
            if score is not None:
                self.best_score_ = score
        if self.refit:
            estimator = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
            start = time.perf_counter()
            if y is None:
                estimator.fit(X, **fit_params)
            else:
                estimator.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = estimator
            if hasattr(estimator, "feature_names_in_"):
                self.feature_names_in_ = estimator.feature_names_in_
        return self

    def _study(self) -> Study:
        return create_study(
            self.study_name,
            storage=self.storage,
            direction="maximize",
            sampler=None if self.sampler is None else copy.deepcopy(self.sampler),
            scheduler=NoScheduler() if self.scheduler is None else copy.deepcopy(self.scheduler),
            seed=self.seed,
            load_if_exists=self.study_name is not None,
        )

    @staticmethod
    def _log_trial(study: Study, trial: FrozenTrial) -> None:
        _logger.info(
            "%s: trial %d %s, validation score %s, params %s",
            _OWNER,
            trial.number,
            trial.state.name,
            trial.user_attrs.get("validation_score"),
            dict(trial.params),
        )

    # ---------------------------------------------------------------------- delegation
    def _best(self, what: str) -> Any:
        """Return the refit estimator, or say why there is none."""
        if not hasattr(self, "cv_results_"):
            raise NotFittedError(f"This {_OWNER} is not fitted yet; call fit before using {what}.")
        if not hasattr(self, "best_estimator_"):
            raise NotFittedError(
                f"{_OWNER} was fitted with refit={self.refit!r}; {what} needs the best "
                "configuration refit on all the data: set refit=True (or a metric name) "
                "and fit again."
            )
        return self.best_estimator_

    @property
    def classes_(self) -> Any:
        """Return the class labels of the best estimator."""
        return self._best("classes_").classes_

    @property
    def n_features_in_(self) -> int:
        """Return the number of features seen by the best estimator's fit."""
        return int(self._best("n_features_in_").n_features_in_)

    @_available(_delegate_has("predict"))
    def predict(self, X: Any) -> Any:
        """Return the best estimator's predictions."""
        return self._best("predict").predict(X)

    @_available(_delegate_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """Return the best estimator's class probabilities."""
        return self._best("predict_proba").predict_proba(X)

    @_available(_delegate_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """Return the best estimator's log class probabilities."""
        return self._best("predict_log_proba").predict_log_proba(X)

    @_available(_delegate_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """Return the best estimator's decision function."""
        return self._best("decision_function").decision_function(X)

    @_available(_delegate_has("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """Return the best estimator's per-sample scores."""
        return self._best("score_samples").score_samples(X)

    @_available(_delegate_has("transform"))
    def transform(self, X: Any) -> Any:
        """Return ``X`` transformed by the best estimator."""
        return self._best("transform").transform(X)

    @_available(_delegate_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        """Return ``X`` mapped back by the best estimator."""
        return self._best("inverse_transform").inverse_transform(X)

    @_available(_can_score)
    def score(self, X: Any, y: Any = None, **params: Any) -> float:
        """Return the best estimator's score on ``X``, ``y`` by the guiding metric.

        That is the metric the study maximised: the only one, or the one ``refit`` names
        (the first one with several metrics and a callable ``refit``).
        """
        estimator = self._best("score")
        scorer = self.scorer_
        if isinstance(scorer, dict):
            scorer = scorer[self._guide]
        value = scorer(estimator, X, y, **params)
        if isinstance(value, Mapping):
            value = value[self._guide]
        return float(value)
