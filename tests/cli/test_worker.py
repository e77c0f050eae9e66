"""``hyperdial worker``: processes join one study and stop together at its budget."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import hyperdial
from hyperdial import TrialState


def _objective_module(tmp_path):
    (tmp_path / "work_objective.py").write_text(
        textwrap.dedent(
            """
            import time

            def run(trial):
                x = trial.suggest_float("x", 0, 1)
                time.sleep(0.01)
                return (x - 0.5) ** 2
            """
        )
    )


def test_workers_share_a_study_and_its_budget(tmp_path, fresh_url):
    """On SQLite, PostgreSQL and MariaDB: the command a user runs on each machine."""
    db = fresh_url
    _objective_module(tmp_path)
    hyperdial.create_study("shared", storage=db, heartbeat_s=1)
    command = [
        sys.executable, "-m", "hyperdial", "worker", "--storage", db, "--study", "shared",
        "--objective", "work_objective:run",
    ]  # fmt: skip
    first = subprocess.Popen([*command, "--max-trials", "30"], cwd=tmp_path, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    # a second worker joins with no budget of its own: it follows the one kept with the study
    second = None
    for _ in range(100):
        if hyperdial.load_study("shared", storage=db).user_attrs.get("max_trials") == 30:
            second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                                    timeout=120)  # fmt: skip
            break
        time.sleep(0.1)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second is not None and second.returncode == 0, second.stderr
    trials = hyperdial.load_study("shared", storage=db).trials
    assert len(trials) == 30 and all(t.state is TrialState.COMPLETE for t in trials)
    assert "shared (minimize) - 30 trials: 30 complete" in out


def test_worker_errors_are_one_line(tmp_path, db, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("worker", "--storage", db)
    assert result.exit_code == 2
    assert "worker needs SPEC.yaml or --study, --objective" in result.output
    _objective_module(tmp_path)
    hyperdial.create_study("nobudget", storage=db)
    result = run_cli(
        "worker", "--storage", db, "--study", "nobudget", "--objective", "work_objective:run"
    )
    assert result.exit_code == 2
    assert "has no budget yet; give --max-trials" in result.output
    assert len(hyperdial.load_study("nobudget", storage=db).trials) == 0


def test_a_spec_worker_and_tune_with_processes(make_spec, db, run_cli, tmp_path):
    spec = make_spec(
        """
        study: procs
        objective: MODULE:run
        budget: {trials: 6}
        """
    )
    result = run_cli("tune", spec, "--storage", db, "--processes", "--jobs", "2")
    assert result.exit_code == 0, result.output
    study = hyperdial.load_study("procs", storage=db)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    result = run_cli("worker", spec, "--storage", db, "--max-trials", "9")
    assert result.exit_code == 0, result.output
    assert len(hyperdial.load_study("procs", storage=db).trials) == 9
    result = run_cli("tune", spec, "--storage", db, "--processes", "--dask-scheduler", "x")
    assert result.exit_code == 2 and "not both" in result.output


def test_a_worker_that_cannot_start_changes_nothing(tmp_path, db, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _objective_module(tmp_path)
    hyperdial.create_study("kept", storage=db).set_user_attr("max_trials", 10)
    base = ["worker", "--storage", db, "--study", "kept", "--objective", "work_objective:run"]
    for bad in (["--processes", "--dask-scheduler", "tcp://x:1"], ["--dask-scheduler", "nohost"]):
        result = run_cli(*base, "--max-trials", "50", *bad)
        assert result.exit_code == 2 and result.stderr.startswith("error: "), result.output
    study = hyperdial.load_study("kept", storage=db)
    assert study.user_attrs["max_trials"] == 10 and study.trials == []


def test_a_spec_budget_is_the_budget_of_a_study_without_one(make_spec, db, run_cli):
    spec = make_spec("budget: {trials: 3}\nobjective: MODULE:run\n")
    result = run_cli("worker", spec, "--storage", db)
    assert result.exit_code == 0, result.output
    study = hyperdial.load_study("spec", storage=db)
    assert study.user_attrs["max_trials"] == 3 and len(study.trials) == 3
    none = make_spec("objective: MODULE:run\n", name="nobudget.yaml")
    result = run_cli("worker", none, "--storage", db)
    assert result.exit_code == 2 and "has no budget yet" in result.stderr
    assert "nobudget" not in [s.name for s in hyperdial.list_studies(db)]
