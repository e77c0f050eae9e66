"""Factories shared by the LightGBM and XGBoost pruning callback tests."""

from __future__ import annotations

import numpy as np
import pytest

import hyperdial
from hyperdial.exceptions import InvalidValueError
from hyperdial.schedulers import MedianPruner


@pytest.fixture
def make_split_data():
    """Return a factory of ``(X_train, y_train, X_valid, y_valid)``, split 3:1."""

    def make(n=240, *, classification=False, seed=0):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, 4))
        signal = 2.0 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
        y = signal + 0.3 * rng.normal(size=n)
        if classification:
            y = (y > 0).astype(int)
        split = n * 3 // 4
        return X[:split], y[:split], X[split:], y[split:]

    return make


@pytest.fixture
def make_study():
    """Return a factory of seeded studies whose median pruner starts after 2 trials."""

    def make(direction="minimize"):
        return hyperdial.create_study(
            direction=direction, scheduler=MedianPruner(n_startup_trials=2), seed=0
        )

    return make


@pytest.fixture
def make_optimized_study(make_study):
    """Return a factory of studies that ran ``objective`` once per enqueued params."""

    def make(objective, enqueued, direction="minimize"):
        study = make_study(direction)
        for params in enqueued:
            study.enqueue(params)
        study.optimize(objective, n_trials=len(enqueued))
        return study

    return make


@pytest.fixture(
    params=[
        pytest.param(
            ({"trial": {}}, TypeError, "trial must be a hyperdial Trial or FixedTrial; got dict."),
            id="trial",
        ),
        pytest.param(
            ({"metric": ""}, InvalidValueError, "metric must be a non-empty str; got ''."),
            id="metric-empty",
        ),
        pytest.param(
            ({"metric": None}, InvalidValueError, "metric must be a non-empty str; got None."),
            id="metric-none",
        ),
        pytest.param(
            (
                {"valid_name": 0},
                InvalidValueError,
                "valid_name must be a non-empty str or None; got 0.",
            ),
            id="valid_name",
        ),
        pytest.param(
            (
                {"train_name": ""},
                InvalidValueError,
                "train_name must be a non-empty str or None; got ''.",
            ),
            id="train_name",
        ),
        pytest.param(
            ({"report_every": 0}, InvalidValueError, "report_every must be an int >= 1; got 0."),
            id="report_every-zero",
        ),
        pytest.param(
            (
                {"report_every": 1.5},
                InvalidValueError,
                "report_every must be an int >= 1; got 1.5.",
            ),
            id="report_every-float",
        ),
    ]
)
def make_invalid_arguments(request):
    """Return a factory of pruning callback arguments with one of them invalid.

    Parametrized over the arguments the boosting callbacks reject. Given a metric the callback
    accepts, the factory returns the keyword arguments, the error they raise and its message
    after the callback's name.
    """
    invalid, error, message = request.param

    def make(metric):
        return {"trial": hyperdial.FixedTrial({}), "metric": metric, **invalid}, error, message

    return make
