from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hyperdial

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "digits_torch.py"


def _module():
    spec = importlib.util.spec_from_file_location("digits_torch_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_tunes_the_preset_network_and_stores_the_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'digits.db'}"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--fast", "--storage", url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "Best configuration (trial" in result.stdout
    trials = hyperdial.load_study("digits-mlp", storage=url).trials
    assert len(trials) == 6
    for t in trials:
        assert t.params["lr_schedule"] in ("constant", "step", "cosine", "one-cycle")
        widths = [t.params[f"units_{i}"] for i in range(1, t.params["n_layers"] + 1)]
        assert widths == sorted(widths, reverse=True)  # narrowing toward the output
        if t.state is hyperdial.TrialState.COMPLETE:
            assert 0.0 < t.user_attrs["validation_score"] <= 1.0
            assert t.user_attrs["train_loss"] > 0.0
            assert sorted(t.intermediate) == [1, 2, 3, 4]


def test_the_objective_trains_the_configured_network_with_the_trainer():
    example = _module()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 64))
    y = rng.integers(0, 10, size=120)
    objective = example.make_objective((X[:90], y[:90], X[90:], y[90:]), epochs=2, seed=0)
    trial = hyperdial.FixedTrial({"n_layers": 2, "units_1": 32, "units_2": 16, "batch_size": 64})
    value = objective(trial)
    assert sorted(trial.intermediate) == [1, 2]
    assert value == pytest.approx(trial.intermediate[2])  # no early stopping: the last epoch
    assert set(trial.user_attrs) >= {"train_loss", "validation_loss", "validation_score"}
    assert trial.params["lr_schedule"] == "cosine"  # the preset's default, used as is


def test_the_data_is_standardised_and_split():
    X_train, y_train, X_val, y_val = _module().load_data(seed=0)
    assert X_train.shape[1] == X_val.shape[1] == 64
    assert len(X_val) == pytest.approx(0.3 * (len(X_train) + len(X_val)), abs=1)
    assert np.allclose(X_train.mean(axis=0), 0.0, atol=1e-6)
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_val))
