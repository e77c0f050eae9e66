"""The sampler benchmark's problems have the optima they claim, and the harness runs."""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from hyperdial import FixedTrial

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@functools.cache
def _load(name: str):
    """Import a benchmark script by path (``benchmarks/`` is not a package)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # samplers.py imports problems.py by name
    spec = importlib.util.spec_from_file_location(f"hyperdial_bench_{name}", BENCHMARKS / name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


problems = _load("problems.py")
SYNTHETIC = [p for p in problems.PROBLEMS if p.kind == "synthetic"]
REAL = [p for p in problems.PROBLEMS if p.kind == "real"]


def _ids(ps):
    return [pytest.param(p, id=p.name) for p in ps]


def test_catalogue_covers_the_required_kinds():
    tags = set().union(*(p.tags for p in problems.PROBLEMS))
    assert len(problems.PROBLEMS) >= 12
    assert {"categorical", "conditional", "noisy", "prior", "high-dim", "integer"} <= tags
    assert len(REAL) >= 3
    assert len({p.name for p in problems.PROBLEMS}) == len(problems.PROBLEMS)


@pytest.mark.parametrize("problem", _ids(problems.PROBLEMS))
def test_reference_is_worse_than_the_optimum(problem):
    assert problem.f_ref > problem.f_star
    assert problem.regret(problem.f_star) == 0.0
    assert problem.regret(problem.f_ref) == 1.0
    assert problem.regret(problem.f_ref + 1e9) == 1.0
    assert problem.regret(problem.f_star - 1.0) == 0.0


@pytest.mark.parametrize("problem", _ids(SYNTHETIC))
def test_known_optimiser_gives_the_known_minimum(problem):
    trial = FixedTrial(problem.optimum)
    params = problem.suggest(trial)
    assert problem.evaluate(params) == pytest.approx(problem.f_star, abs=1e-6)


@pytest.mark.parametrize("problem", _ids(SYNTHETIC))
def test_random_configurations_are_no_better_than_the_optimum(problem):
    values, configs = problems.random_values(problem, 300, seed=1)
    assert np.all(values >= problem.f_star - 1e-9)
    # f_ref is the median of 10,000 random configurations; 300 agree with it roughly.
    median = float(np.median(values))
    scale = problem.f_ref - problem.f_star
    assert abs(median - problem.f_ref) < 0.35 * scale


@pytest.mark.parametrize("problem", _ids(problems.PROBLEMS))
def test_suggestions_stay_within_bounds(problem):
    trial = problems.UniformTrial(np.random.default_rng(3))
    for _ in range(20):
        params = problem.suggest(trial)
        assert set(params) <= set(trial.params)
    # The optimiser itself must be a legal configuration (FixedTrial checks every value).
    if problem.optimum:
        assert problem.suggest(FixedTrial(problem.optimum)) == dict(problem.optimum)


@pytest.mark.parametrize(
    "fn, argmins, minimum",
    [
        pytest.param(
            problems.branin,
            [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)],
            0.397887,
            id="branin-three-minima",
        ),
        pytest.param(problems.hartmann6, [problems.H6_ARGMIN], -3.32237, id="hartmann6"),
        pytest.param(problems.styblinski_tang, [[problems.ST_ARGMIN] * 3], -117.49850, id="st3"),
    ],
)
def test_functions_match_published_minima(fn, argmins, minimum):
    for x in argmins:
        assert fn(np.asarray(x, dtype=float)) == pytest.approx(minimum, abs=1e-5)


def test_noisy_problem_records_the_noise_free_value():
    problem = problems.get_problem("hartmann6_noisy")
    a, b = FixedTrial(problem.optimum, number=4), FixedTrial(problem.optimum, number=4)
    observed = problem.define(a)
    assert observed == problem.define(b)  # the noise depends on the trial number only
    assert a.user_attrs["true_value"] == pytest.approx(problem.f_star, abs=1e-6)
    assert observed != a.user_attrs["true_value"]
    other = problem.define(FixedTrial(problem.optimum, number=5))
    assert other != observed


@pytest.mark.parametrize(
    "name, default_regret",
    [
        pytest.param("prior_good", (0.0, 0.2), id="good"),
        pytest.param("prior_misleading", (0.15, 1.0), id="misleading"),
    ],
)
def test_prior_problems_pass_defaults_to_hyperdial(name, default_regret):
    problem = problems.get_problem(name)
    trial = FixedTrial({})  # with nothing fixed, a FixedTrial returns the defaults
    params = problem.suggest(trial)
    low, high = default_regret
    assert low <= problem.regret(problem.evaluate(params)) <= high
    assert all(dist.default is not None for dist in trial.distributions.values())
    # Any other trial (Optuna's) gets the plain suggest_* calls without a default.
    plain = problems.UniformTrial(np.random.default_rng(0))
    assert set(problem.suggest(plain)) == set(params)


def test_misleading_default_is_a_local_basin():
    problem = problems.get_problem("prior_misleading")
    default = problem.suggest(FixedTrial({}))
    assert problem.evaluate(default) == pytest.approx(1.0)
    assert problem.evaluate(problem.optimum) == 0.0


def test_get_problem_names_the_choices():
    with pytest.raises(KeyError, match="branin"):
        problems.get_problem("nope")


@pytest.mark.slow
@pytest.mark.parametrize("problem", _ids(REAL))
def test_real_problems_reach_their_best_known_value(problem):
    pytest.importorskip("sklearn")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):  # HistGradientBoosting's OpenMP threads crawl
        value = problem.evaluate(problem.suggest(FixedTrial(problem.optimum)))
    assert value == pytest.approx(problem.f_star, rel=1e-9, abs=1e-12)


def test_harness_smoke(tmp_path, monkeypatch):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    samplers = _load("samplers.py")
    out = tmp_path / "report.md"
    raw = tmp_path / "raw.json"
    argv = [
        "--seeds", "2", "--trials", "6", "--jobs", "1", "--problems", "branin,conditional",
        "--samplers", "hd-random,hd-qmc", "--output", str(out), "--raw", str(raw),
    ]  # fmt: skip
    text = samplers.main(argv)
    assert "### Regret after 6 trials" in text
    assert "| branin |" in text and "| conditional |" in text
    assert "hd Random" in text and "FAILED" not in text
    assert "failed on" not in text
    report = out.read_text()
    assert "<!-- regret:start -->" in report and "--seeds 2" in report
    # Re-rendering the saved runs gives the same tables, and the overhead mode adds a section.
    again = samplers.main(["--from-raw", str(raw), "--output", str(out)])
    assert again.split("### Problems")[1] == text.split("### Problems")[1]
    samplers.main(
        ["--overhead", "--overhead-trials", "5,10", "--jobs", "1", "--samplers", "hd-random",
         "--output", str(out)]
    )  # fmt: skip
    report = out.read_text()
    assert report.count("<!-- regret:start -->") == 1
    assert "<!-- overhead:start -->" in report and "ask ms @10" in report


def test_best_so_far_skips_failed_trials():
    samplers = _load("samplers.py")
    best = samplers.best_so_far([3.0, float("nan"), 1.0, 2.0])
    assert best.tolist() == [3.0, 3.0, 1.0, 1.0]


def test_mean_ranks_average_ties_and_skip_incomplete_problems():
    samplers = _load("samplers.py")
    Cell = samplers.Cell
    cells = {
        ("p", "a", 10): Cell(0.1, 0.0, 3),
        ("p", "b", 10): Cell(0.1, 0.0, 3),
        ("p", "c", 10): Cell(0.5, 0.0, 3),
        ("q", "a", 10): Cell(0.9, 0.0, 3),  # b and c have no result on q: q is left out
    }
    ranks = samplers.mean_ranks(cells, ["p", "q"], ["a", "b", "c"], 10)
    assert ranks == {"a": (1.5, 1), "b": (1.5, 1), "c": (3.0, 1)}


def test_write_section_keeps_the_other_sections(tmp_path):
    samplers = _load("samplers.py")
    path = tmp_path / "report.md"
    samplers.write_section(path, "regret", "A\n")
    samplers.write_section(path, "overhead", "B\n")
    samplers.write_section(path, "regret", "C\n")
    text = path.read_text()
    assert "C\n" in text and "B\n" in text and "A\n" not in text
    assert text.index("regret:start") < text.index("overhead:start")
