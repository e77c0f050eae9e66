from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

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


def test_a_study_resumes_from_its_space_reordered_with_priors(make_spec, db, run_cli):
    spec = make_spec("budget: {trials: 3}\nobjective: MODULE:run\n")
    assert run_cli("tune", spec, "--storage", db).exit_code == 0
    text = spec.read_text()
    body = text[: text.index("space:")]
    spec.write_text(
        body + "space:\n  n: {type: int, low: 1, high: 4}\n"
        "  x: {type: float, low: 0, high: 1, default: 0.3}\n"
    )
    result = run_cli("tune", spec, "--storage", db, "--trials", "5")
    assert result.exit_code == 0, result.output
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


def test_an_objective_that_exits_leaves_no_trial_running(make_spec, db, run_cli):
    spec = make_spec("budget: {trials: 3}\nobjective: MODULE:leave\n")
    for _ in range(2):  # a rerun neither hangs on nor repeats a RUNNING trial
        result = run_cli("tune", spec, "--storage", db)
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            "error: the objective of 'spec' ended the program (SystemExit: 3); its trial is "
            "stored FAILED. An objective should return a value or raise."
        )
    trials = hyperdial.load_study("spec", storage=db).trials
    assert [t.state for t in trials] == [TrialState.FAILED] * 2
    assert trials[0].error.startswith("the objective exited (SystemExit: 3)")


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


TRAIN = """
import os, sys, time
x = float(sys.argv[1])
with open(os.path.join("pids", os.environ["HYPERDIAL_TRIAL_NUMBER"]), "w") as f:
    f.write(str(os.getpid()))
steps = int(os.environ["HYPERDIAL_BUDGET"])
for step in range(1, steps + 1):
    print("report", step, (x - 0.3) ** 2 + 1 / step)  # no flush: the CLI unbuffers Python
    time.sleep(0.01)
time.sleep(0.15)  # a pruned command is killed by now
print("training done")
print((x - 0.3) ** 2 + 1 / steps)
"""


def curve(x, step):
    return (x - 0.3) ** 2 + 1 / step


def is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
def test_command_reports_let_hyperband_prune(make_spec, db, run_cli, tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "pids").mkdir()
    spec = make_spec(
        "seed: 0\nsampler: random\nbudget: {trials: 10}\n"
        "scheduler: {name: hyperband, min_resource: 1, max_resource: 9}\n"
        'command: [PYTHON, train.py, "{x}"]\n',
        space="space:\n  x: {type: float, low: 0, high: 1}\n",
    )
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 0, result.output
    study = hyperdial.load_study("spec", storage=db)
    assert study.user_attrs["scheduler"]["settings"]["class"] == "Hyperband"
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete and len(pruned) + len(complete) == 10
    for trial in pruned:
        last = max(trial.intermediate)
        assert last in (1, 3)  # hyperband's rungs below max_resource
        assert (
            trial.value
            == trial.intermediate[last]
            == pytest.approx(curve(trial.params["x"], last))
        )
        assert trial.error.startswith("pruned at step")
        assert trial.user_attrs["returncode"] is None
        assert "training done" not in trial.user_attrs["stdout_tail"]  # killed while it ran
        pid = int((tmp_path / "pids" / str(trial.number)).read_text())
        deadline = time.monotonic() + 3
        while is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not is_running(pid)
    for trial in complete:
        assert sorted(trial.intermediate) == list(range(1, 10))
        assert trial.value == pytest.approx(curve(trial.params["x"], 9))
        assert trial.user_attrs["returncode"] == 0

    result = run_cli("show", "spec", "--storage", db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "scheduler: Hyperband" in lines
    assert f"{len(pruned)} pruned trial{'s' if len(pruned) > 1 else ''}, by reason:" in lines
    reasons = lines[lines.index(next(x for x in lines if "by reason:" in x)) + 1 :]
    counted = [int(line.split()[0]) for line in reasons if "pruned at step" in line]
    assert sum(counted) == len(pruned)


def test_a_lineage_scheduler_passes_the_budget_and_parent(make_spec, db, run_cli):
    code = (
        "import json, os, sys; budget = os.environ['HYPERDIAL_BUDGET']; "
        "print(json.dumps({'value': float(sys.argv[1]) + 1 / float(budget), "
        "'budget': budget, 'parent': os.environ.get('HYPERDIAL_PARENT')}))"
    )
    spec = make_spec(
        "seed: 1\nsampler: random\nbudget: {trials: 4}\n"
        "scheduler: {name: successive_halving, n_configs: 3}\n"
        f'command: [PYTHON, -c, "{code}", "{{x}}"]\n',
        space="space:\n  x: {type: float, low: 0, high: 1}\n",
    )
    result = run_cli("tune", spec, "--storage", db)
    assert result.exit_code == 0, result.output
    trials = hyperdial.load_study("spec", storage=db).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert [(t.user_attrs["budget"], t.user_attrs["parent"]) for t in trials[:3]] == [
        ("1", None)
    ] * 3
    best = min(trials[:3], key=lambda t: t.value)
    promoted = trials[3]
    assert promoted.parent == best.number and promoted.params == best.params
    assert (promoted.user_attrs["budget"], promoted.user_attrs["parent"]) == (
        "3",
        str(best.number),
    )
    assert promoted.value == pytest.approx(best.params["x"] + 1 / 3)


def test_a_single_objective_scheduler_with_several_objectives_fails_early(
    make_spec, run_cli, tmp_path
):
    spec = make_spec(
        "directions: [minimize, minimize]\nscheduler: median\nobjective: MODULE:pair\n"
    )
    db = tmp_path / "never.db"
    result = run_cli("tune", spec, "--storage", f"sqlite:///{db}")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: spec.yaml: scheduler: 'median' handles one objective; this study has 2."
    )
    assert not db.exists()
