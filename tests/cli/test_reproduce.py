from __future__ import annotations

import hyperdial


def test_reproduce_a_study_tuned_from_a_spec(make_spec, db, run_cli, tmp_path):
    spec = make_spec("study: demo\nseed: 1\nbudget: {trials: 5}\nobjective: MODULE:run\n")
    assert run_cli("tune", spec, "--storage", db).exit_code == 0
    spec.unlink()  # the study keeps its spec
    result = run_cli("reproduce", "demo", "--storage", db)
    assert result.exit_code == 0, result.output
    best = hyperdial.load_study("demo", storage=db).best_trial
    assert f"Trial {best.number} of 'demo'" in result.output
    assert "reproduces exactly" in result.output


def test_reproduce_records_a_trial_on_request(make_spec, db, run_cli):
    spec = make_spec("study: demo\nseed: 1\nbudget: {trials: 3}\nobjective: MODULE:run\n")
    run_cli("tune", spec, "--storage", db)
    result = run_cli("reproduce", "demo", "--storage", db, "--trial", "0", "--record")
    assert result.exit_code == 0, result.output
    study = hyperdial.load_study("demo", storage=db)
    assert study.trials[-1].user_attrs["reproduces"] == 0
    assert "recorded as trial 3" in result.output


def test_reproduce_errors_are_one_line(db, run_cli):
    study = hyperdial.create_study("lam", storage=db)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2, show_progress_bar=False)
    result = run_cli("reproduce", "lam", "--storage", db)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "--objective" in result.output
    missing = run_cli("reproduce", "nope", "--storage", db)
    assert missing.exit_code == 2 and "nope" in missing.output


def test_reproduce_names_its_own_flags(db, run_cli):
    two = hyperdial.create_study("two", storage=db, directions=["minimize", "minimize"])
    two.optimize(lambda t: [t.suggest_float("x", 0, 1), 1.0], n_trials=2)
    result = run_cli("reproduce", "two", "--storage", db)
    assert result.exit_code == 2 and "give --trial N (its Pareto front: " in result.stderr
    hyperdial.create_study("empty", storage=db)
    result = run_cli("reproduce", "empty", "--storage", db)
    assert result.exit_code == 2 and "'empty' has no COMPLETE trial to re-run yet" in result.stderr
    result = run_cli("reproduce", "two", "--trial", "0", "--storage", db, "--objective", "model")
    assert result.exit_code == 2
    assert "--objective must read 'module:function'" in result.stderr


def test_a_rerun_that_exits_is_stored_failed(make_spec, db, run_cli, tmp_path, monkeypatch):
    spec = make_spec("study: demo\nbudget: {trials: 2}\nobjective: MODULE:run\n")
    assert run_cli("tune", spec, "--storage", db).exit_code == 0
    module = next(p.stem for p in tmp_path.glob("objective_*.py"))
    monkeypatch.chdir(tmp_path)
    result = run_cli(
        "reproduce", "demo", "--storage", db, "--record", "--objective", f"{module}:leave"
    )
    assert result.exit_code == 1
    assert "ended the program (SystemExit: 3); the re-run is stored FAILED in 'demo'." in (
        result.stderr
    )
    last = hyperdial.load_study("demo", storage=db).trials[-1]
    assert last.state is hyperdial.TrialState.FAILED and last.user_attrs["reproduces"] >= 0
