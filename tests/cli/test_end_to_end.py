"""``hyperdial`` run as a separate process, as the console script runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import hyperdial
from hyperdial.trial import TrialState

MAIN = [sys.executable, "-c", "from hyperdial.cli import main; main()"]

TRAIN = """
import argparse, json

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--kernel", choices=["rbf", "linear"], required=True)
parser.add_argument("--gamma", type=float)
args = parser.parse_args()
if args.kernel == "rbf" and args.gamma is None:
    raise SystemExit("rbf needs --gamma")
print("epoch 1 done")
print(json.dumps({"value": abs(args.lr - 0.01) + (args.gamma or 0), "kernel": args.kernel}))
"""


def hyperdial_cli(*args, cwd, **kwargs):
    return subprocess.run(
        [*MAIN, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, **kwargs
    )


def write(path, text):
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.mark.slow
def test_tune_a_function_then_show(tmp_path):
    write(tmp_path / "model.py", "def fit(trial):\n    return trial.params['x'] ** 2\n")
    write(
        tmp_path / "quad.yaml",
        """
        objective: model:fit
        seed: 0
        budget: {trials: 4}
        space: {x: {type: float, low: -1, high: 1}}
        """,
    )
    result = hyperdial_cli("tune", "quad.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "quad (minimize) - 4 trials: 4 complete" in result.stdout
    assert (tmp_path / "hyperdial.db").is_file()  # the default storage
    study = hyperdial.load_study("quad", storage=f"sqlite:///{tmp_path / 'hyperdial.db'}")
    assert len(study.trials) == 4
    shown = hyperdial_cli("show", "quad", cwd=tmp_path)
    assert shown.returncode == 0 and f"{study.best_value:.6g}" in shown.stdout


@pytest.mark.slow
def test_tune_a_command_template(tmp_path):
    # The command runs in the spec's directory; the storage URL is relative to the caller's.
    (tmp_path / "exp").mkdir()
    write(tmp_path / "exp" / "train.py", TRAIN)
    write(
        tmp_path / "exp" / "svm.yaml",
        f"""
        study: svm
        storage: sqlite:///svm.db
        seed: 2
        budget: {{trials: 6}}
        command: {sys.executable} train.py --lr {{lr}} --kernel {{kernel}} --gamma {{gamma}}
        trial_timeout_s: 30
        space:
          lr: {{type: float, low: 1e-4, high: 1e-1, log: true}}
          kernel: [rbf, linear]
          gamma: {{type: float, low: 1e-3, high: 1, log: true, when: "kernel == rbf"}}
        """,
    )
    result = hyperdial_cli("tune", "exp/svm.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    trials = hyperdial.load_study("svm", storage=f"sqlite:///{tmp_path / 'svm.db'}").trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    for trial in trials:
        expected = abs(trial.params["lr"] - 0.01) + trial.params.get("gamma", 0)
        assert trial.value == pytest.approx(expected)
        assert trial.user_attrs["kernel"] == trial.params["kernel"]
        assert ("gamma" in trial.params) == (trial.params["kernel"] == "rbf")
        assert trial.user_attrs["stdout_tail"].startswith("epoch 1 done")
    exported = hyperdial_cli(
        "export", "svm", "-f", "json", "--storage", "sqlite:///svm.db", cwd=tmp_path
    )
    assert len(json.loads(exported.stdout)["trials"]) == 6


def test_a_bad_spec_prints_one_line_and_exits_2(tmp_path):
    write(
        tmp_path / "bad.yaml", "objective: model:fit\nspace: {x: {type: float, low: 2, high: 1}}\n"
    )
    result = hyperdial_cli("tune", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: bad.yaml: space: parameter 'x': Float: low must be <= high; got low=2.0, high=1.0."
    ]
    assert not (tmp_path / "hyperdial.db").exists()


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_stops_the_command_and_exits_130(tmp_path):
    code = "import sys, time; time.sleep(0.3 if int(sys.argv[1]) else 0); print(sys.argv[1])"
    write(
        tmp_path / "slow.yaml",
        f"""
        budget: {{trials: 50}}
        command: [{sys.executable}, -c, "{code}", "{{x}}"]
        space: {{x: {{type: int, low: 1, high: 9}}}}
        """,
    )
    proc = subprocess.Popen(
        [*MAIN, "tune", "slow.yaml"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"sqlite:///{tmp_path / 'hyperdial.db'}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # interrupt only once a trial has finished
        try:
            if any(
                t.state is TrialState.COMPLETE
                for t in hyperdial.load_study("slow", storage=url).trials
            ):
                break
        except Exception:  # noqa: BLE001 - the database or the study may not exist yet
            pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Resume with: hyperdial tune slow.yaml --study slow" in err.decode()
    trials = hyperdial.load_study("slow", storage=f"sqlite:///{tmp_path / 'hyperdial.db'}").trials
    assert trials[-1].state is TrialState.FAILED and "interrupted" in trials[-1].error
    assert all(t.state is TrialState.COMPLETE for t in trials[:-1])
