from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hyperdial

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "defect_detection.py"
TUNED = ["learning_rate", "max_depth", "max_leaf_nodes", "l2_regularization", "min_samples_leaf"]


@pytest.mark.slow
def test_runs_a_stored_study_and_prints_the_best_configuration(tmp_path):
    url = f"sqlite:///{tmp_path / 'defects.db'}"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "4", "--storage", url, "--seed", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Best configuration:" in out
    assert all(name in out for name in TUNED)
    assert "false-positive rate" in out
    assert "accuracy" in out

    study = hyperdial.load_study("defect-detection", storage=url)
    trials = study.trials
    assert len(trials) == 4
    assert all(t.state is hyperdial.TrialState.COMPLETE for t in trials)
    for t in trials:
        assert sorted(t.params) == sorted(TUNED)
        assert 0.0 <= t.value <= 1.0
        assert 0.0 <= t.user_attrs["false_positive_rate"] <= 1.0
        assert 0.0 <= t.user_attrs["accuracy"] <= 1.0
        assert 0.0 <= t.user_attrs["recall"] <= 1.0
    assert f"trial {study.best_trial.number}" in out
    assert not (tmp_path / "hyperdial.db").exists()  # --storage was honoured
    assert study.user_attrs["data_fingerprint"]["shapes"] == [[2000, 20], [2000]]

    # The objective is recorded with the study: the best configuration runs again, same value.
    again = subprocess.run(
        [sys.executable, "-m", "hyperdial", "reproduce", "defect-detection", "--storage", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert "reproduces exactly" in again.stdout
