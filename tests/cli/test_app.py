from __future__ import annotations

import csv
import io
import json

import pytest

import hyperdial
from hyperdial.trial import TrialState


def count_trials(db, study):
    return len(hyperdial.load_study(study, storage=db).trials)


def test_tune_then_show_studies_export_and_enqueue(make_spec, db, run_cli, tmp_path):
    spec = make_spec("study: demo\nseed: 1\nbudget: {trials: 6}\nobjective: MODULE:run\n")
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 0, result.output
    assert "demo (minimize) - 6 trials: 6 complete" in result.stdout
    assert "best trial" in result.stdout and "Top 5 trials" in result.stdout
    study = hyperdial.load_study("demo", storage=db)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6

    result = run_cli("studies", "--storage", db)
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("demo"))
    assert row.split()[:5] == ["demo", "minimize", f"{study.best_value:.6g}", "6", "6"]

    result = run_cli("show", "demo", "--storage", db, "--top", "2")
    assert result.exit_code == 0
    assert f"best trial  {study.best_trial.number}" in " ".join(result.stdout.split("\n"))
    assert "Top 2 trials" in result.stdout

    result = run_cli("export", "demo", "--format", "csv", "--storage", db)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6
    assert list(rows[0])[:5] == ["number", "state", "value", "params_x", "params_n"]
    assert float(rows[0]["value"]) == study.trials[0].value
    assert int(rows[0]["params_n"]) == study.trials[0].params["n"]

    out = tmp_path / "trials.json"
    result = run_cli("export", "demo", "-f", "json", "-o", out, "--storage", db)
    assert result.exit_code == 0 and "wrote 6 trials" in result.stderr
    document = json.loads(out.read_text())
    assert document["study"] == "demo" and document["directions"] == ["minimize"]
    first = document["trials"][0]
    assert first["params"] == dict(study.trials[0].params)
    assert first["values"] == [study.trials[0].value]
    assert first["reason"].startswith("auto: GP (") and first["started_at"].startswith("20")

    result = run_cli("enqueue", "demo", "-p", "x=0.25", "--param", "n=1", "--storage", db)
    assert result.exit_code == 0, result.output
    assert "enqueued trial 6 of 'demo': x=0.25, n=1" in result.stdout

    result = run_cli("tune", spec, "--storage", db, "--trials", "7")
    assert result.exit_code == 0, result.output
    trial = hyperdial.load_study("demo", storage=db).trials[6]
    assert dict(trial.params) == {"x": 0.25, "n": 1} and trial.value == pytest.approx(0.01)


def test_the_trial_budget_is_the_study_total(make_spec, db, run_cli):
    spec = make_spec("budget: {trials: 3}\nobjective: MODULE:run\n")
    assert run_cli("tune", spec, "--storage", db).exit_code == 0
    result = run_cli("tune", spec, "--storage", db)
    assert "already holds 3 finished trials" in result.stdout
    assert run_cli("tune", spec, "--storage", db, "--trials", "5").exit_code == 0
    assert count_trials(db, "spec") == 5


def test_flags_override_the_spec(make_spec, db, run_cli):
    spec = make_spec("study: a\nseed: 1\nbudget: {trials: 9}\nobjective: MODULE:run\n")
    args = ("--study", "b", "--trials", "2", "--seed", "7", "--jobs", "2", "--storage", db)
    assert run_cli("tune", spec, *args).exit_code == 0
    study = hyperdial.load_study("b", storage=db)
    assert len(study.trials) == 2 and study.seed == 7


def test_several_objectives_show_the_pareto_front(make_spec, db, run_cli):
    spec = make_spec(
        "directions: [minimize, minimize]\nbudget: {trials: 5}\nobjective: MODULE:pair\n"
    )
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 0, result.output
    assert "on the Pareto front" in result.stdout
    assert "values (min, min)" in result.stdout
    header = run_cli("export", "spec", "--storage", db).stdout.splitlines()[0]
    assert header.startswith("number,state,values_0,values_1,params_x")
    assert "5 on front" in run_cli("studies", "--storage", db).stdout


def test_grid_sampler_stops_when_the_grid_is_done(make_spec, db, run_cli):
    spec = make_spec(
        "sampler: grid\nbudget: {trials: 50}\nobjective: MODULE:run\n"
        "space: {x: [0.0, 0.5], n: {type: int, low: 1, high: 3}}\n",
        space=None,
    )
    assert run_cli("tune", spec, "--storage", db).exit_code == 0
    params = {
        (t.params["x"], t.params["n"]) for t in hyperdial.load_study("spec", storage=db).trials
    }
    assert params == {(x, n) for x in (0.0, 0.5) for n in (1, 2, 3)}


def test_command_objective_records_failures_and_goes_on(make_spec, db, run_cli):
    code = (
        "import sys; n = int(sys.argv[2]); "
        "sys.exit('ValueError: n is two') if n == 2 else print(float(sys.argv[1]) + n)"
    )
    spec = make_spec(
        f'budget: {{trials: 8}}\nseed: 3\ncommand: [PYTHON, -c, "{code}", "{{x}}", "{{n}}"]\n'
    )
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 0, result.output
    trials = hyperdial.load_study("spec", storage=db).trials
    assert len(trials) == 8
    for trial in trials:
        if trial.params["n"] == 2:
            assert trial.state is TrialState.FAILED
            assert "exited with code 1: ValueError: n is two" in trial.error
            assert trial.user_attrs["returncode"] == 1
        else:
            assert trial.value == pytest.approx(trial.params["x"] + trial.params["n"])
            assert trial.user_attrs["stderr_tail"] == ""
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert failed, "the seed should give at least one n == 2"
    assert f"warning: Trial {failed[0].number} failed: CommandError:" in result.stderr
    assert "Latest failed trials" in result.stdout


def test_objective_error_stops_with_exit_1(make_spec, db, run_cli):
    spec = make_spec("objective: MODULE:broken\n")
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("error: trial 0 of 'spec' raised ValueError: the model diverged")
    assert "Traceback" not in result.output
    (trial,) = hyperdial.load_study("spec", storage=db).trials
    assert trial.state is TrialState.FAILED and "Traceback" in trial.error


def test_ctrl_c_exits_130_with_a_resume_hint(make_spec, db, run_cli):
    spec = make_spec("budget: {trials: 5}\nobjective: MODULE:interrupt\n")
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 130
    assert "interrupted: 3 finished trials of 'spec'" in result.stderr
    assert f"Resume with: hyperdial tune {spec} --study spec --storage" in result.stderr
    states = [t.state for t in hyperdial.load_study("spec", storage=db).trials]
    assert states == [TrialState.COMPLETE] * 2 + [TrialState.FAILED]


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout == f"hyperdial {hyperdial.__version__}\n"


def test_no_studies(run_cli, tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    hyperdial.create_study("x", storage=db)
    hyperdial.delete_study("x", storage=db)
    assert "No studies in" in run_cli("studies", "--storage", db).stdout
