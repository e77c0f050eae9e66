from __future__ import annotations

import uuid

import pytest

from hyperdial import FixedTrial, SearchSpace
from hyperdial.cli.objective import FunctionObjective, build_objective, load_function
from hyperdial.cli.spec import spec_from_dict
from hyperdial.exceptions import SpecError

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": -1, "high": 1}})


@pytest.fixture
def make_module(tmp_path):
    """Write a module with a unique name to tmp_path and return that name."""

    def make(source):
        name = f"objective_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(source)
        return name

    return make


def test_load_function_from_the_spec_directory(make_module, tmp_path):
    name = make_module("class Box:\n    @staticmethod\n    def run(trial):\n        return 1\n")
    assert load_function(f"{name}:Box.run", tmp_path)(None) == 1


@pytest.mark.parametrize(
    "source, attr, expected",
    [
        pytest.param(None, "f", "no module named", id="missing-module"),
        pytest.param("x = 1\n", "f", "has no attribute 'f'", id="missing-function"),
        pytest.param("f = 3\n", "f", "is not callable", id="not-callable"),
        pytest.param("import not_a_module_hd\n", "f", "not_a_module_hd", id="bad-import"),
        pytest.param("raise RuntimeError('boom')\n", "f", "RuntimeError: boom", id="raises"),
        pytest.param("def f(:\n", "f", "SyntaxError", id="syntax"),
    ],
)
def test_load_function_errors(make_module, tmp_path, source, attr, expected):
    name = "no_such_module_hd" if source is None else make_module(source)
    with pytest.raises(SpecError, match=expected):
        load_function(f"{name}:{attr}", tmp_path)


def test_trial_convention_draws_the_space_first():
    seen = {}

    def objective(trial):
        seen.update(trial.params)
        return trial.suggest_float("x", -1, 1) * 2

    assert FunctionObjective(objective, SPACE)(FixedTrial({"x": 0.25})) == 0.5
    assert seen == {"x": 0.25}


def test_params_convention():
    assert FunctionObjective(lambda params: params["x"], SPACE)(FixedTrial({"x": 0.5})) == 0.5
    both = FunctionObjective(lambda trial, params: (trial.number, params["x"]), SPACE)
    assert both(FixedTrial({"x": 0.5}, number=3)) == (3, 0.5)


def test_params_convention_needs_a_space():
    with pytest.raises(SpecError, match="needs a space"):
        FunctionObjective(lambda params: 0.0, None)


def test_failure_is_remembered():
    def objective(trial):
        raise ValueError("bad")

    wrapped = FunctionObjective(objective, None)
    with pytest.raises(ValueError) as info:
        wrapped(FixedTrial({}, number=7))
    assert wrapped.failure == (7, info.value)


def test_build_objective_imports_now(make_module, tmp_path):
    name = make_module("def run(params):\n    return params['x'] + 1\n")
    data = {"objective": f"{name}:run", "space": {"x": [1, 2]}}
    objective = build_objective(spec_from_dict(data, name="s", base_dir=tmp_path))
    assert objective(FixedTrial({"x": 2})) == 3
    with pytest.raises(SpecError, match="no module named"):
        build_objective(spec_from_dict({"objective": "gone_hd:run"}, name="s", base_dir=tmp_path))
