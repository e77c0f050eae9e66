from __future__ import annotations

import functools
import importlib
import logging
import math
import pickle
import sys

import numpy as np
import pytest

import hyperdial
from hyperdial import Categorical, Float, Int, SearchSpace, TrialState
from hyperdial._record import DATA_ATTR, data_fingerprint
from hyperdial.exceptions import (
    InvalidDistributionError,
    InvalidValueError,
    MissingDependencyError,
)
from hyperdial.samplers import GridSampler, RandomSampler
from hyperdial.schedulers import MedianPruner
from hyperdial.storage.memory import MemoryStorage

pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, RegressorMixin, clone  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import mean_absolute_error  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GroupKFold,
    KFold,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

from hyperdial.integrations.sklearn import FitFailedWarning, HyperdialSearchCV  # noqa: E402


@pytest.fixture(scope="module")
def make_regression_data():
    def make(n_samples=60):
        return make_regression(n_samples=n_samples, n_features=5, noise=5.0, random_state=0)

    return make


@pytest.fixture(scope="module")
def make_classification_data():
    def make():
        X, y = load_iris(return_X_y=True)
        return X[::2], y[::2]  # 75 samples, 25 per class

    return make


def _alpha_search(**kwargs):
    options = {"n_trials": 3, "cv": 3, "sampler": RandomSampler(seed=0)}
    options.update(kwargs)
    estimator = options.pop("estimator", Ridge())
    return HyperdialSearchCV(estimator, {"alpha": Float(1e-3, 10.0, log=True)}, **options)


# ------------------------------------------------------------------- equal to a manual loop
@pytest.mark.parametrize("return_train_score", [False, True], ids=["test-only", "with-train"])
def test_results_equal_cross_validate_on_enqueued_configurations(
    make_regression_data, return_train_score
):
    X, y = make_regression_data()
    storage = MemoryStorage()
    study = hyperdial.create_study("enqueued", storage=storage, direction="maximize")
    alphas = [0.01, 1.0, 30.0]
    for alpha in alphas:
        study.enqueue({"alpha": alpha})
    cv = KFold(4, shuffle=True, random_state=1)
    search = HyperdialSearchCV(
        Ridge(),
        {"alpha": Float(1e-3, 100.0, log=True)},
        n_trials=3,
        cv=cv,
        storage=storage,
        study_name="enqueued",
        return_train_score=return_train_score,
    ).fit(X, y)
    results = search.cv_results_
    assert results["params"] == [{"alpha": a} for a in alphas]
    for row, alpha in enumerate(alphas):
        manual = cross_validate(Ridge(alpha=alpha), X, y, cv=cv, return_train_score=True)
        for k in range(4):
            assert results[f"split{k}_test_score"][row] == manual["test_score"][k]
            if return_train_score:
                assert results[f"split{k}_train_score"][row] == manual["train_score"][k]
        assert results["mean_test_score"][row] == np.mean(manual["test_score"])
        assert results["std_test_score"][row] == np.std(manual["test_score"])
        assert search.trials_[row].user_attrs["train_score"] == np.mean(manual["train_score"])
    assert ("mean_train_score" in results) is return_train_score
    assert results["rank_test_score"].tolist() == [1, 2, 3]
    assert search.best_params_ == {"alpha": 0.01}


def test_grid_sampler_matches_cross_validate_with_several_metrics(make_classification_data):
    X, y = make_classification_data()
    scoring = {"acc": "accuracy", "f1": "f1_macro"}
    search = HyperdialSearchCV(
        LogisticRegression(max_iter=500),
        {"C": Float(0.001, 10.0, log=True)},
        n_trials=5,  # the grid stops the study after its 3 points
        cv=3,
        scoring=scoring,
        refit="f1",
        sampler=GridSampler({"C": [0.001, 0.1, 1.0]}),
        return_train_score=True,
    ).fit(X, y)
    results = search.cv_results_
    assert len(search.trials_) == 3
    for row, c in enumerate([0.001, 0.1, 1.0]):
        manual = cross_validate(
            LogisticRegression(max_iter=500, C=c),
            X,
            y,
            cv=StratifiedKFold(3),
            scoring=scoring,
            return_train_score=True,
        )
        for metric in scoring:
            for k in range(3):
                assert results[f"split{k}_test_{metric}"][row] == manual[f"test_{metric}"][k]
                assert results[f"split{k}_train_{metric}"][row] == manual[f"train_{metric}"][k]
    assert search.multimetric_ is True
    assert set(search.scorer_) == {"acc", "f1"}
    best = int(np.argmax(results["mean_test_f1"]))
    assert search.best_index_ == best
    assert search.best_score_ == results["mean_test_f1"][best]
    assert search.score(X, y) == search.scorer_["f1"](search.best_estimator_, X, y)


def test_cv_results_keys_follow_scikit_learn(make_regression_data):
    from sklearn.model_selection import RandomizedSearchCV

    X, y = make_regression_data()
    ours = _alpha_search(return_train_score=True, scoring=["r2", "neg_mean_squared_error"])
    ours.set_params(refit="r2").fit(X, y)
    theirs = RandomizedSearchCV(
        Ridge(),
        {"alpha": [0.1, 1.0, 10.0]},
        n_iter=3,
        cv=3,
        scoring=["r2", "neg_mean_squared_error"],
        refit="r2",
        return_train_score=True,
        random_state=0,
    ).fit(X, y)
    assert list(ours.cv_results_) == list(theirs.cv_results_)
    assert isinstance(ours.cv_results_["param_alpha"], np.ma.MaskedArray)
    assert ours.n_splits_ == 3


# ----------------------------------------------------------------- best, refit, delegation
def test_best_estimator_is_refit_and_delegates(make_classification_data):
    X, y = make_classification_data()
    search = HyperdialSearchCV(
        LogisticRegression(max_iter=500),
        {"C": Float(0.01, 10.0, log=True)},
        n_trials=4,
        cv=3,
        sampler=RandomSampler(seed=1),
    ).fit(X, y)
    best = search.best_estimator_
    assert best.C == search.best_params_["C"]
    assert search.best_score_ == search.cv_results_["mean_test_score"][search.best_index_]
    assert search.refit_time_ > 0
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_array_equal(search.predict_proba(X), best.predict_proba(X))
    np.testing.assert_array_equal(search.predict_log_proba(X), best.predict_log_proba(X))
    np.testing.assert_array_equal(search.decision_function(X), best.decision_function(X))
    assert search.score(X, y) == best.score(X, y)
    np.testing.assert_array_equal(search.classes_, [0, 1, 2])
    assert search.n_features_in_ == 4
    assert search.study_.best_trial.number == search.trials_[search.best_index_].number


def test_methods_exist_only_where_the_estimator_has_them(make_regression_data):
    X, y = make_regression_data()
    ridge = _alpha_search()
    assert hasattr(ridge, "predict")
    assert not hasattr(ridge, "predict_proba")
    assert not hasattr(ridge, "transform")
    assert not hasattr(ridge, "n_features_in_")  # not before fit
    pca = HyperdialSearchCV(PCA(), {"n_components": Int(1, 4)}, n_trials=2, cv=2).fit(X)
    assert pca.transform(X).shape[1] == pca.best_params_["n_components"]
    assert pca.inverse_transform(pca.transform(X)).shape == X.shape
    assert np.isfinite(pca.score(X))
    assert not hasattr(pca, "predict")


def test_feature_names_follow_the_best_estimator(make_regression_data):
    pd = pytest.importorskip("pandas")
    X, y = make_regression_data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    search = _alpha_search().fit(frame, y)
    assert list(search.feature_names_in_) == list(frame.columns)


def test_refit_false_keeps_the_choice_without_an_estimator(make_regression_data):
    X, y = make_regression_data()
    search = _alpha_search(refit=False).fit(X, y)
    assert not hasattr(search, "best_estimator_")
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    with pytest.raises(NotFittedError, match="refit=False"):
        search.predict(X)


def test_refit_false_with_several_metrics_sets_no_best(make_regression_data):
    X, y = make_regression_data()
    search = _alpha_search(refit=False, scoring=["r2", "neg_mean_absolute_error"]).fit(X, y)
    assert "mean_test_neg_mean_absolute_error" in search.cv_results_
    assert not hasattr(search, "best_index_")
    assert not hasattr(search, "best_params_")


def test_callable_refit_chooses_the_index(make_regression_data):
    X, y = make_regression_data()

    def worst(results):
        return int(np.argmin(results["mean_test_score"]))

    search = _alpha_search(refit=worst).fit(X, y)
    assert search.best_index_ == worst(search.cv_results_)
    assert not hasattr(search, "best_score_")
    assert search.best_estimator_.alpha == search.best_params_["alpha"]


def test_callable_refit_must_return_an_index(make_regression_data):
    X, y = make_regression_data()
    with pytest.raises(InvalidValueError, match="refit must return an index"):
        _alpha_search(refit=lambda results: "first").fit(X, y)


def test_callable_scoring_returning_a_dict_is_multimetric(make_regression_data):
    X, y = make_regression_data()

    def scores(estimator, X, y):
        return {"r2": estimator.score(X, y), "mae": -mean_absolute_error(y, estimator.predict(X))}

    search = _alpha_search(scoring=scores, refit="mae").fit(X, y)
    assert search.multimetric_ is True
    assert {"mean_test_r2", "mean_test_mae"} <= set(search.cv_results_)
    assert search.best_score_ == max(search.cv_results_["mean_test_mae"])
    assert search.score(X, y) == scores(search.best_estimator_, X, y)["mae"]


def test_refit_must_name_a_metric_with_several(make_regression_data):
    X, y = make_regression_data()
    with pytest.raises(InvalidValueError, match="refit must be a metric name"):
        _alpha_search(scoring=["r2", "explained_variance"]).fit(X, y)
    with pytest.raises(InvalidValueError, match="refit must name one of the metrics"):
        _alpha_search(scoring=["r2", "explained_variance"], refit="mae").fit(X, y)


# ------------------------------------------------------------------------- search spaces
def test_pipeline_with_nested_parameters(make_classification_data):
    X, y = make_classification_data()
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
    search = HyperdialSearchCV(
        pipe,
        {"clf__C": Float(0.01, 10.0, log=True), "scale__with_mean": Categorical([True, False])},
        n_trials=3,
        cv=3,
        sampler=RandomSampler(seed=0),
    ).fit(X, y)
    fitted = search.best_estimator_
    assert fitted.named_steps["clf"].C == search.best_params_["clf__C"]
    assert fitted.named_steps["scale"].with_mean == search.best_params_["scale__with_mean"]
    assert search.cv_results_["param_scale__with_mean"].dtype == bool


def test_conditional_space_masks_inactive_parameters(make_classification_data):
    X, y = make_classification_data()
    space = SearchSpace(
        {"kernel": Categorical(["linear", "rbf"]), "gamma": Float(1e-3, 1.0, log=True)},
        conditions={"gamma": "kernel == rbf"},
    )
    storage = MemoryStorage()
    study = hyperdial.create_study("svc", storage=storage, direction="maximize")
    study.enqueue({"kernel": "linear"})
    study.enqueue({"kernel": "rbf", "gamma": 0.1})
    search = HyperdialSearchCV(
        SVC(gamma=0.5), space, n_trials=2, cv=3, storage=storage, study_name="svc"
    ).fit(X, y)
    results = search.cv_results_
    assert results["params"] == [{"kernel": "linear"}, {"kernel": "rbf", "gamma": 0.1}]
    assert results["param_gamma"].mask.tolist() == [True, False]
    assert results["param_kernel"].dtype == object
    manual = cross_validate(SVC(gamma=0.5, kernel="linear"), X, y, cv=StratifiedKFold(3))
    assert results["mean_test_score"][0] == np.mean(manual["test_score"])


def test_a_list_instead_of_a_distribution_is_refused(make_regression_data):
    X, y = make_regression_data()
    search = HyperdialSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, n_trials=2)
    with pytest.raises(
        InvalidDistributionError, match=r"param_distributions\['alpha'\].*Categorical"
    ):
        search.fit(X, y)


def test_unknown_estimator_parameters_are_refused(make_regression_data):
    X, y = make_regression_data()
    search = HyperdialSearchCV(Ridge(), {"alhpa": Float(0.1, 1.0)}, n_trials=2)
    with pytest.raises(InvalidValueError, match=r"unknown \['alhpa'\].*'alpha'"):
        search.fit(X, y)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("n_trials", 0, id="n_trials"),
        pytest.param("n_jobs", 0, id="n_jobs"),
        pytest.param("timeout", -1, id="timeout"),
        pytest.param("seed", -3, id="seed"),
        pytest.param("error_score", "ignore", id="error_score"),
        pytest.param("return_train_score", "yes", id="return_train_score"),
        pytest.param("scoring", 3, id="scoring"),
        pytest.param("refit", 2.5, id="refit"),
        pytest.param("estimator", "ridge", id="estimator"),
    ],
)
def test_invalid_options_fail_in_fit_naming_the_option(make_regression_data, option, value):
    X, y = make_regression_data()
    search = _alpha_search(**{option: value})  # the constructor stores and never checks
    assert search.get_params()[option] == value
    with pytest.raises(InvalidValueError, match=f"HyperdialSearchCV: {option} must be"):
        search.fit(X, y)


def test_sampler_of_the_wrong_type_is_refused(make_regression_data):
    X, y = make_regression_data()
    with pytest.raises(TypeError, match="sampler must be a hyperdial Sampler"):
        _alpha_search(sampler="tpe").fit(X, y)


# ------------------------------------------------------------------ pruning and records
def test_median_pruner_prunes_the_bad_region(make_regression_data):
    X, y = make_regression_data()
    search = HyperdialSearchCV(
        Ridge(),
        {"alpha": Float(1e-3, 1e6, log=True)},  # above ~1e3 the model predicts a constant
        n_trials=12,
        cv=4,
        sampler=RandomSampler(seed=3),
        scheduler=MedianPruner(n_startup_trials=3),
    ).fit(X, y)
    states = [t.state for t in search.trials_]
    pruned = [i for i, s in enumerate(states) if s is TrialState.PRUNED]
    complete = [i for i, s in enumerate(states) if s is TrialState.COMPLETE]
    assert pruned, states
    results = search.cv_results_
    for i in pruned:
        done = len(search.trials_[i].user_attrs["validation_scores"])
        assert 1 <= done < 4
        assert all(math.isnan(results[f"split{k}_test_score"][i]) for k in range(done, 4))
        assert math.isnan(results["mean_test_score"][i])
        assert results["rank_test_score"][i] > max(results["rank_test_score"][complete])
    bad = [t for t in search.trials_[3:] if t.params["alpha"] > 50.0]  # after the startup
    assert bad and all(t.state is TrialState.PRUNED for t in bad)
    assert all(len(t.user_attrs["validation_scores"]) <= 2 for t in bad)
    assert search.trials_[search.best_index_].state is TrialState.COMPLETE


def test_trials_record_train_and_validation_scores(make_regression_data):
    X, y = make_regression_data()
    search = _alpha_search(scoring=["r2", "neg_mean_squared_error"], refit="r2").fit(X, y)
    for row, trial in enumerate(search.trials_):
        attrs = trial.user_attrs
        assert len(attrs["train_scores"]) == len(attrs["validation_scores"]) == 3
        assert attrs["validation_score"] == pytest.approx(search.cv_results_["mean_test_r2"][row])
        assert attrs["train_score"] == pytest.approx(np.mean(attrs["train_scores"]))
        assert attrs["train_score"] >= attrs["validation_score"]  # a fit is better on its data
        assert trial.values == (pytest.approx(attrs["validation_score"]),)
        assert sorted(trial.intermediate) == [0, 1, 2]


def test_fit_stores_the_data_fingerprint(make_regression_data):
    X, y = make_regression_data()
    search = _alpha_search().fit(X, y)
    stored = search.study_.user_attrs[DATA_ATTR]
    assert stored["sha256"] == data_fingerprint(X, y)["sha256"]
    assert stored["source"] == "HyperdialSearchCV.fit"


def test_fit_params_and_groups_reach_each_fold(make_regression_data):
    X, y = make_regression_data()
    weights = np.linspace(0.5, 2.0, len(y))
    groups = np.arange(len(y)) % 4
    search = HyperdialSearchCV(
        Ridge(),
        {"alpha": Float(0.1, 1.0)},
        n_trials=1,
        cv=GroupKFold(4),
        sampler=GridSampler({"alpha": [0.5]}),
    ).fit(X, y, groups=groups, sample_weight=weights)
    manual = cross_validate(
        Ridge(alpha=0.5), X, y, groups=groups, cv=GroupKFold(4), params={"sample_weight": weights}
    )
    for k in range(4):
        assert search.cv_results_[f"split{k}_test_score"][0] == manual["test_score"][k]


# ------------------------------------------------------------------------ failed fits
class _Fragile(RegressorMixin, BaseEstimator):
    """A regressor whose fit fails when ``level`` is above 0.5."""

    def __init__(self, level=0.0):
        self.level = level

    def fit(self, X, y):
        if self.level > 0.5:
            raise ValueError(f"level {self.level} is too high")
        self.mean_ = float(np.mean(y))
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def _fragile_search(**kwargs):
    return HyperdialSearchCV(
        _Fragile(),
        {"level": Float(0.0, 1.0)},
        n_trials=2,
        cv=2,
        sampler=GridSampler({"level": [0.2, 0.9]}),
        **kwargs,
    )


def test_error_score_nan_fails_the_trial_and_warns(make_regression_data):
    X, y = make_regression_data()
    with pytest.warns(FitFailedWarning, match="2 of 4 fits failed in 1 of 2 trials"):
        search = _fragile_search().fit(X, y)
    assert [t.state for t in search.trials_] == [TrialState.COMPLETE, TrialState.FAILED]
    assert "level 0.9 is too high" in search.trials_[1].error
    assert math.isnan(search.cv_results_["mean_test_score"][1])
    assert search.cv_results_["rank_test_score"].tolist() == [1, 2]
    assert search.best_params_ == {"level": 0.2}


def test_fit_failed_warning_is_also_scikit_learns():
    from sklearn.exceptions import FitFailedWarning as SklearnFitFailedWarning

    assert issubclass(FitFailedWarning, SklearnFitFailedWarning)
    assert issubclass(FitFailedWarning, hyperdial.HyperdialWarning)


def test_error_score_number_scores_the_failed_splits(make_regression_data):
    X, y = make_regression_data()
    with pytest.warns(FitFailedWarning, match="those splits score -1.0"):
        search = _fragile_search(error_score=-1.0).fit(X, y)
    assert search.trials_[1].state is TrialState.COMPLETE
    assert search.cv_results_["mean_test_score"][1] == -1.0


def test_error_score_raise_reraises(make_regression_data):
    X, y = make_regression_data()
    with pytest.raises(ValueError, match="level 0.9 is too high"):
        _fragile_search(error_score="raise").fit(X, y)


def test_every_fit_failing_raises_the_first_error(make_regression_data):
    X, y = make_regression_data()
    search = HyperdialSearchCV(_Fragile(), {"level": Float(0.6, 1.0)}, n_trials=2, cv=2)
    with pytest.raises(ValueError, match="is too high") as info:
        search.fit(X, y)
    if sys.version_info >= (3, 11):
        assert any("all 4 fits of 2 trial(s) failed" in n for n in info.value.__notes__)


# ----------------------------------------------------------- parallelism, seeds, storage
def test_n_jobs_two_runs_n_trials(make_regression_data):
    X, y = make_regression_data()
    search = _alpha_search(n_trials=6, n_jobs=2).fit(X, y)
    assert len(search.trials_) == len(search.cv_results_["params"]) == 6
    assert len(search.study_.trials) == 6
    assert all(t.state is TrialState.COMPLETE for t in search.trials_)


def test_seed_reproduces_the_search(make_regression_data):
    X, y = make_regression_data()

    def run(n_jobs):
        search = HyperdialSearchCV(
            Ridge(),
            {"alpha": Float(1e-3, 10.0, log=True)},
            n_trials=4,
            cv=2,
            seed=7,
            n_jobs=n_jobs,
        )
        return search.fit(X, y).cv_results_

    first = run(1)
    assert run(1)["params"] == first["params"]
    np.testing.assert_array_equal(run(1)["mean_test_score"], first["mean_test_score"])
    assert run(2)["params"] == run(2)["params"]  # with several workers too


def test_a_named_study_is_continued(make_regression_data):
    X, y = make_regression_data()
    storage = MemoryStorage()
    first = _alpha_search(storage=storage, study_name="ridge").fit(X, y)
    second = _alpha_search(storage=storage, study_name="ridge").fit(X, y)
    assert len(second.study_.trials) == 6
    assert [t.number for t in second.trials_] == [3, 4, 5]  # cv_results_ holds this fit's
    assert first.study_.study_name == second.study_.study_name == "ridge"


def test_verbose_two_logs_each_trial(make_regression_data, caplog):
    X, y = make_regression_data()
    with caplog.at_level(logging.INFO, logger="hyperdial.integrations.sklearn"):
        _alpha_search(verbose=2).fit(X, y)
    assert sum("validation score" in r.getMessage() for r in caplog.records) == 3


# ------------------------------------------------------------------ scikit-learn's API
def test_params_round_trip_through_clone_and_set_params():
    search = _alpha_search(n_trials=5, seed=3)
    copy = clone(search)
    assert copy.get_params(deep=False).keys() == search.get_params(deep=False).keys()
    assert copy.n_trials == 5 and copy.seed == 3
    assert copy.param_distributions == search.param_distributions
    copy.set_params(estimator__alpha=2.0, n_trials=2)
    assert copy.estimator.alpha == 2.0 and copy.n_trials == 2
    assert search.estimator.alpha == 1.0


def test_fitted_search_pickles(make_regression_data):
    X, y = make_regression_data()
    search = _alpha_search().fit(X, y)
    loaded = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))
    assert len(loaded.study_.trials) == 3


def test_import_without_scikit_learn_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "sklearn" or name.startswith("sklearn."):
            monkeypatch.setitem(sys.modules, name, None)
        if name.startswith("hyperdial.integrations.") and "sklearn" in name:
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"pip install 'hyperdial\[sklearn\]'") as info:
        importlib.import_module("hyperdial.integrations.sklearn")
    assert isinstance(info.value, MissingDependencyError)


# Checks of scikit-learn's estimator API that do not apply to this search, with why: none.
# The search delegates its tags (estimator kind, input and target tags) to the estimator, so
# the checks scikit-learn itself marks as failing for its searches (check_supervised_y_2d,
# check_requires_y_none) pass. Checks that compare two fits (check_fit_idempotent,
# check_regressors_int, ...) fix randomness through parameters named ``random_state``; this
# search spells it ``seed``, so the instances below set it, as scikit-learn's own test
# instances set RandomizedSearchCV's random_state.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}

# Each fits the search on about ten sparse formats in turn: more than a second.
SLOW_CHECKS = {"check_estimator_sparse_array", "check_estimator_sparse_matrix"}


def _check_id(estimator, check):
    name, options = check, ""
    while isinstance(name, functools.partial):
        if name.keywords:
            options = "(" + ",".join(f"{k}={v}" for k, v in name.keywords.items()) + ")"
        name = name.func
    return type(estimator.estimator).__name__, f"{name.__name__}{options}", name.__name__


def _estimator_checks(*estimators):
    """What ``parametrize_with_checks`` yields, with the slow checks marked slow."""
    for estimator in estimators:
        for item in estimator_checks_generator(
            estimator, expected_failed_checks=EXPECTED_FAILED_CHECKS, mark="xfail"
        ):
            values, marks = (
                (item.values, list(item.marks)) if hasattr(item, "marks") else (item, [])
            )
            kind, label, name = _check_id(*values)
            if name in SLOW_CHECKS:
                marks.append(pytest.mark.slow)
            yield pytest.param(*values, marks=marks, id=f"{kind}-{label}")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("estimator", "check"),
    _estimator_checks(
        HyperdialSearchCV(
            LogisticRegression(), {"C": Float(0.1, 10, log=True)}, n_trials=3, cv=2, seed=0
        ),
        HyperdialSearchCV(Ridge(), {"alpha": Float(0.1, 10, log=True)}, n_trials=3, cv=2, seed=0),
    ),
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
