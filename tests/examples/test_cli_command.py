from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hyperdial
from hyperdial.trial import TrialState

pytest.importorskip("sklearn")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cli_command"
MAIN = [sys.executable, "-c", "from hyperdial.cli import main; main()"]
# The spec's command starts "python": make it this interpreter, one thread per process.
ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    "OMP_NUM_THREADS": "1",
}


def hyperdial_cli(*args, cwd):
    return subprocess.run(
        [*MAIN, *map(str, args)], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_spec_tunes_train_py_and_prunes_a_weak_configuration(tmp_path):
    result = hyperdial_cli("tune", EXAMPLE / "spec.yaml", "--trials", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    url = f"sqlite:///{tmp_path / 'cli_command.db'}"  # relative to where tune runs
    trials = hyperdial.load_study("cli-command", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    for trial in trials:
        *reports, last = trial.user_attrs["stdout_tail"].splitlines()
        printed = json.loads(last)  # the script's own final line
        assert trial.value == printed["value"]
        assert trial.user_attrs["accuracy"] == printed["accuracy"]
        assert 0.5 < trial.user_attrs["accuracy"] <= 1.0
        assert trial.user_attrs["iterations"] == 200
        assert sorted(trial.intermediate) == list(range(20, 201, 20))
        assert trial.intermediate[200] == trial.value
        assert reports[-1] == f"report 200 {trial.value:.6f}"
        has_l2 = trial.params["regularization"] == "l2"
        assert ("l2" in trial.params) == has_l2
        assert ("--l2" in trial.user_attrs["command"]) == has_l2

    # A slow learner falls behind the median once 4 trials are complete: it is stopped.
    enqueued = hyperdial_cli(
        "enqueue",
        "cli-command",
        "--storage",
        url,
        "-p",
        "learning_rate=0.01",
        "-p",
        "max_leaf_nodes=4",
        "-p",
        "regularization=none",
        cwd=tmp_path,
    )
    assert enqueued.returncode == 0, enqueued.stderr
    result = hyperdial_cli("tune", EXAMPLE / "spec.yaml", "--trials", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    slow = hyperdial.load_study("cli-command", storage=url).trials[4]
    assert slow.params == {"learning_rate": 0.01, "max_leaf_nodes": 4, "regularization": "none"}
    assert slow.state is TrialState.PRUNED
    assert slow.last_step == 40  # the first step after the scheduler's warm-up

    shown = hyperdial_cli("show", "cli-command", "--storage", url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "cli-command (minimize) - 5 trials: 4 complete, 1 pruned" in shown.stdout


def test_train_py_refuses_a_penalty_without_l2_regularization():
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE / "train.py"),
            "--learning-rate",
            "0.1",
            "--max-leaf-nodes",
            "8",
            "--regularization",
            "none",
            "--l2",
            "1.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--l2 is required with --regularization l2 and only then" in result.stderr
