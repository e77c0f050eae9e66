from __future__ import annotations

import sys
import textwrap

import pytest

from hyperdial._yaml import load_yaml
from hyperdial.cli.spec import DEFAULT_STORAGE, StudySpec, load_spec, spec_from_dict
from hyperdial.exceptions import SpecError
from hyperdial.samplers import GridSampler, QMCSampler, RandomSampler
from hyperdial.schedulers import ASHA, Hyperband
from hyperdial.space import Float

FULL = """
study: yield-regression
storage: sqlite:///other.db
direction: maximize
sampler: {name: qmc, qmc_type: halton, seed: 3}
scheduler: {name: hyperband, min_resource: 1, max_resource: 27}
seed: 0
budget: {trials: 50, timeout_s: 600}
jobs: 2
command: PYTHON train.py --lr {learning_rate} --depth {max_depth} --kernel {kernel} --gamma {gamma}
trial_timeout_s: 300
space:
  learning_rate: {type: float, low: 1e-4, high: 0.1, log: true, default: 0.01}
  max_depth: {type: int, low: 2, high: 10}
  kernel: [rbf, linear]
  gamma: {type: float, low: 1e-3, high: 1, log: true, when: "kernel == rbf"}
"""


@pytest.fixture
def make_spec(tmp_path):
    def make(text, name="spec.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).replace("PYTHON", sys.executable))
        return path

    return make


def test_full_spec_is_read(make_spec, tmp_path):
    spec = load_spec(make_spec(FULL))
    assert spec.study == "yield-regression"
    assert spec.storage == "sqlite:///other.db"
    assert spec.directions == ("maximize",)
    assert (spec.seed, spec.n_trials, spec.timeout_s, spec.n_jobs) == (0, 50, 600.0, 2)
    assert spec.trial_timeout_s == 300.0
    assert spec.space["learning_rate"] == Float(1e-4, 0.1, log=True, default=0.01)
    assert spec.space.conditions["gamma"][0].value == "rbf"
    assert spec.command.names == {"learning_rate", "max_depth", "kernel", "gamma"}
    assert spec.base_dir == tmp_path.resolve()
    sampler = spec.make_sampler()
    assert isinstance(sampler, QMCSampler) and sampler.qmc_type == "halton"
    scheduler = spec.make_scheduler()
    assert isinstance(scheduler, Hyperband)
    assert (scheduler.min_resource, scheduler.max_resource) == (1, 27)


def test_defaults_and_name_from_file(make_spec):
    spec = load_spec(make_spec("objective: train:run\n", name="my-study.yml"))
    assert spec.study == "my-study"
    assert spec.storage == DEFAULT_STORAGE
    assert spec.directions == ("minimize",)
    assert spec.sampler is None and spec.make_sampler() is None
    assert spec.scheduler is None and spec.make_scheduler() is None
    assert spec.n_trials is None and spec.n_jobs == 1


def test_several_directions():
    spec = spec_from_dict(
        {"objective": "m:f", "directions": ["maximize", "MINIMIZE"], "sampler": "random"},
        name="x",
    )
    assert spec.directions == ("maximize", "minimize")
    assert isinstance(spec.make_sampler(), RandomSampler)


def test_several_directions_need_a_pareto_aware_scheduler():
    data = {"objective": "m:f", "directions": ["minimize", "minimize"], "scheduler": "asha"}
    assert isinstance(spec_from_dict(data, name="x").make_scheduler(), ASHA)
    with pytest.raises(SpecError, match="'median' handles one objective; this study has 2"):
        spec_from_dict({**data, "scheduler": "median"}, name="x")


def test_overrides_ignore_none():
    spec = StudySpec("a", objective="m:f", n_trials=5)
    changed = spec.with_overrides(n_trials=None, storage="sqlite:///b.db", seed=3)
    assert (changed.n_trials, changed.storage, changed.seed) == (5, "sqlite:///b.db", 3)


def test_grid_from_space_and_explicit_values():
    data = {
        "objective": "m:f",
        "sampler": {"name": "grid", "shuffle": True},
        "space": {
            "kernel": ["rbf", "linear"],
            "depth": {"type": "int", "low": 2, "high": 8, "step": 3},
            "frac": {"type": "float", "low": 0.1, "high": 0.3, "step": 0.1},
            "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        },
        "grid": {"lr": [1e-3, 1e-2]},
    }
    sampler = spec_from_dict(data, name="x").make_sampler()
    assert isinstance(sampler, GridSampler)
    assert sampler.search_space == {
        "lr": [1e-3, 1e-2],
        "kernel": ["rbf", "linear"],
        "depth": [2, 5, 8],
        "frac": [0.1, 0.2, 0.3],
    }


def test_space_in_a_separate_file(make_spec, tmp_path):
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 1e-3, high: 1}\n")
    spec = load_spec(make_spec("objective: m:f\nspace: space.yaml\n"))
    assert spec.space["x"].low == 1e-3


def test_yaml_reads_exponents_as_floats():
    assert load_yaml("a: 1e-4\nb: -2E3\nc: 1.5\nd: 7\ne: '1e-4'") == {
        "a": 1e-4,
        "b": -2000.0,
        "c": 1.5,
        "d": 7,
        "e": "1e-4",
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("objective: [unclosed\n", "line 2", id="yaml-syntax"),
        pytest.param("objective: m:f\nobjective: m:g\n", "duplicate key 'objective'", id="dup"),
        pytest.param("- a\n- b\n", "must be a mapping", id="not-mapping"),
        pytest.param("", "got an empty file", id="empty"),
        pytest.param("objective: m:f\nbudjet: {trials: 3}\n", "Did you mean 'budget'", id="key"),
        pytest.param(
            "objective: m:f\nbudget: {trails: 3}\n", "unknown key budget.'trails'", id="budget-key"
        ),
        pytest.param("objective: m:f\nbudget: {trials: 0}\n", "budget.trials", id="trials"),
        pytest.param("objective: m:f\nbudget: {timeout_s: -1}\n", "budget.timeout_s", id="tmo"),
        pytest.param("objective: m:f\nbudget: 5\n", "budget: must be a mapping", id="budget"),
        pytest.param("objective: m:f\nseed: -1\n", "seed: must be an int", id="seed"),
        pytest.param("objective: m:f\njobs: 1.5\n", "jobs: must be an int", id="jobs"),
        pytest.param("objective: m:f\nstudy: ''\n", "study: must be", id="study"),
        pytest.param("objective: m:f\ndirection: up\n", "direction: direction must", id="dir"),
        pytest.param(
            "objective: m:f\ndirection: minimize\ndirections: [minimize]\n", "not both", id="dirs"
        ),
        pytest.param("objective: m:f\ndirections: []\n", "non-empty list", id="dirs-empty"),
        pytest.param(
            "objective: m:f\nschedular: asha\n", "Did you mean 'scheduler'", id="sched-key"
        ),
        pytest.param(
            "objective: m:f\nscheduler: early\n", "unknown scheduler 'early'", id="sched"
        ),
        pytest.param(
            "objective: m:f\nscheduler: {name: asha, eta: 3}\n",
            "scheduler: 'asha' has no option 'eta'. Its options: min_resource,",
            id="sched-opt",
        ),
        pytest.param(
            "objective: m:f\nscheduler: {name: hyperband, max_resource: 0}\n",
            "scheduler: Hyperband: max_resource must be a finite number > 0; got 0.",
            id="sched-value",
        ),
        pytest.param("sampler: random\n", "objective: missing", id="no-objective"),
        pytest.param("objective: m:f\ncommand: x\n", "not both", id="both"),
        pytest.param("objective: train.py\n", "module:function", id="objective-format"),
        pytest.param("objective: m:f\nsampler: anneal\n", "unknown sampler 'anneal'", id="sam"),
        pytest.param("objective: m:f\nsampler: {qmc_type: x}\n", "'name' key", id="sam-map"),
        pytest.param(
            "objective: m:f\nsampler: {name: qmc, qmc_type: magic}\n", "sampler:", id="sam-opt"
        ),
        pytest.param(
            "objective: m:f\nsampler: {name: random, flavour: 1}\n",
            "invalid options for 'random'",
            id="sam-kwarg",
        ),
        pytest.param(
            "objective: m:f\nspace: {x: {type: float, low: 0, high: 1, log: true}}\n",
            "space: parameter 'x': Float: low must be > 0",
            id="space",
        ),
        pytest.param(
            "objective: m:f\nspace: {x: {type: normal}}\n", "parameter 'x'", id="space-type"
        ),
        pytest.param(
            "objective: m:f\nspace: {y: {type: int, low: 0, high: 3, when: 'x == 1'}}\n",
            "condition of 'y'",
            id="space-cond",
        ),
        pytest.param("objective: m:f\nspace: missing.yaml\n", "cannot read", id="space-file"),
        pytest.param("command: echo {x}\n", "needs a space", id="command-no-space"),
        pytest.param(
            "objective: m:f\ntrial_timeout_s: 3\n", "command: objectives only", id="trial-tmo"
        ),
        pytest.param(
            "objective: m:f\nspace: {x: [1, 2]}\ngrid: {x: [1]}\n", "sampler: grid", id="grid-use"
        ),
        pytest.param(
            "objective: m:f\nsampler: grid\nspace: {x: [1, 2]}\ngrid: {x: [3]}\n",
            "grid: parameter 'x'",
            id="grid-value",
        ),
        pytest.param(
            "objective: m:f\nsampler: grid\nspace: {x: [1, 2]}\ngrid: {y: [3]}\n",
            "not in the space",
            id="grid-name",
        ),
        pytest.param(
            "objective: m:f\nsampler: grid\nspace: {x: {type: float, low: 0, high: 1}}\n",
            "continuous float",
            id="grid-continuous",
        ),
        pytest.param(
            "objective: m:f\nsampler: grid\nspace: {x: {type: int, low: 0, high: 5000}}\n",
            "5001 values",
            id="grid-huge",
        ),
        pytest.param("objective: m:f\nsampler: grid\n", "needs a space", id="grid-empty"),
    ],
)
def test_bad_specs_name_the_problem(make_spec, text, expected):
    with pytest.raises(SpecError) as info:
        load_spec(make_spec(text))
    message = str(info.value)
    assert message.startswith("spec.yaml: ")
    assert expected in message


def test_command_problems_are_spec_errors(make_spec):
    space = "space: {x: {type: int, low: 0, high: 3}}\n"
    with pytest.raises(SpecError, match="placeholder {y} names no parameter"):
        load_spec(make_spec(f"command: PYTHON {{x}} {{y}}\n{space}"))
    with pytest.raises(SpecError, match="'x' is never passed"):
        load_spec(make_spec(f"command: PYTHON -V\n{space}"))
    with pytest.raises(SpecError, match="not found on PATH"):
        load_spec(make_spec(f"command: no-such-program-hd {{x}}\n{space}"))
    with pytest.raises(SpecError, match="not an executable file"):
        load_spec(make_spec(f"command: ./train.sh {{x}}\n{space}"))
    with pytest.raises(SpecError, match="cannot split"):
        load_spec(make_spec(f"command: PYTHON '{{x}}\n{space}"))


def test_a_sampler_missing_from_this_version_is_a_spec_error(monkeypatch):
    import hyperdial.samplers

    exported = [n for n in hyperdial.samplers.__all__ if n != "QMCSampler"]
    monkeypatch.setattr(hyperdial.samplers, "__all__", exported)
    with pytest.raises(
        SpecError, match="'qmc' is not available .* use one of \\['random', 'grid'"
    ):
        spec_from_dict({"objective": "m:f", "sampler": "qmc"}, name="x")
