from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hyperdial

pytest.importorskip("lightgbm")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "process_yield.py"
TUNED = [
    "learning_rate",
    "num_leaves",
    "min_data_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "lambda_l2",
]


def _module():
    spec = importlib.util.spec_from_file_location("process_yield_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_fast_mode_runs_a_stored_study_and_prints_the_gap(tmp_path):
    url = f"sqlite:///{tmp_path / 'yield.db'}"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "5", "--fast", "--storage", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Best configuration:" in out
    assert all(name in out for name in TUNED)
    assert "validation RMSE" in out and "train RMSE" in out and "test RMSE" in out

    study = hyperdial.load_study("process-yield", storage=url)
    trials = study.trials
    assert len(trials) == 5
    assert all(t.state.is_finished() for t in trials)
    complete = [t for t in trials if t.state is hyperdial.TrialState.COMPLETE]
    assert len(complete) >= 2  # the first trials cannot be pruned: nothing to compare with
    n_rounds = _module().FAST.n_rounds
    for t in complete:
        assert sorted(t.params) == sorted(TUNED)
        assert sorted(t.intermediate) == list(range(10, n_rounds + 1, 10))
        assert t.value == t.intermediate[n_rounds] == t.user_attrs["validation_loss"]
        assert 0.0 < t.user_attrs["train_loss"] < t.value
    best = study.best_trial
    assert f"trial {best.number}" in out
    assert f"validation RMSE  {best.value:.3f}" in out
    assert f"train RMSE       {best.user_attrs['train_loss']:.3f}" in out
    assert not (tmp_path / "hyperdial.db").exists()  # --storage was honoured


def test_the_yield_peaks_at_a_temperature_that_rises_with_pressure():
    example = _module()
    temperatures = np.linspace(160.0, 240.0, 81)

    def best_temperature(pressure):
        X = np.tile([200.0, pressure, 100.0, 2.0, 60.0, 99.0, 600.0, 25.0], (81, 1))
        X[:, 0] = temperatures
        curve = example.true_yield(X)
        assert 0.0 < curve.min() < curve.max() <= 100.0
        return temperatures[curve.argmax()]

    low, high = best_temperature(10.0), best_temperature(35.0)
    assert 170.0 < low < high < 230.0  # an interior optimum, pushed up by pressure


def test_batches_are_realistic_and_split_without_overlap():
    example = _module()
    X, y = example.generate_batches(500, seed=3)
    assert X.shape == (500, len(example.FEATURES))
    assert 0.0 <= y.min() and y.max() <= 100.0
    assert 1.0 < np.std(y - example.true_yield(X)) < 2.0  # the assay noise, clipped at 0-100%
    train, valid, test = example.split(X, y)
    assert [len(part[1]) for part in (train, valid, test)] == [300, 100, 100]
    rows = {tuple(row) for part in (train, valid, test) for row in part[0]}
    assert len(rows) == 500
