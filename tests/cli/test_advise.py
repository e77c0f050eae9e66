from __future__ import annotations


def test_advise_prints_the_plan_and_its_reasons(make_spec, run_cli, tmp_path):
    spec = make_spec(
        """
        study: advised
        objective: MODULE:run
        budget: {trials: 40}
        """
    )
    result = run_cli("advise", spec, "--seconds-per-trial", "2")
    assert result.exit_code == 0, result.output
    assert "initial design: 5 scrambled Sobol points" in result.output
    assert "Gaussian process" in result.output
    assert "why:" in result.output
    assert not list(tmp_path.glob("*.db"))  # nothing ran, nothing was stored


def test_advise_warns_when_the_grid_exceeds_the_budget(make_spec, run_cli):
    spec = make_spec(
        """
        study: gridded
        objective: MODULE:run
        sampler: grid
        budget: {trials: 5}
        grid: {x: [0.0, 0.25, 0.5, 0.75, 1.0]}
        """
    )
    result = run_cli("advise", spec)
    assert result.exit_code == 0, result.output
    assert "the grid has 20 points but the budget allows 5 trials" in " ".join(
        result.output.split()
    )


def test_advise_without_a_space_is_one_clear_error(make_spec, run_cli):
    spec = make_spec("study: bare\nobjective: MODULE:run\n", space=None)
    result = run_cli("advise", spec)
    assert result.exit_code == 2
    assert "advise needs the spec's space" in result.output
    assert "Traceback" not in result.output
