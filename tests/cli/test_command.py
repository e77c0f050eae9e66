from __future__ import annotations

import sys
import time

import pytest

from hyperdial import FixedTrial, SearchSpace
from hyperdial.cli.command import (
    CommandError,
    CommandObjective,
    CommandTemplate,
    format_value,
    parse_output,
)
from hyperdial.exceptions import SpecError

PY = sys.executable
SPACE = SearchSpace.from_dict(
    {
        "kernel": ["rbf", "linear"],
        "gamma": {"type": "float", "low": 1e-3, "high": 1.0, "log": True, "when": "kernel == rbf"},
    }
)


def make_objective(code, space=SPACE, timeout_s=None, extra=(), tmp_path=None, **kwargs):
    args = [PY, "-c", code, *extra]
    template = CommandTemplate.parse(args, space)
    return CommandObjective(template, space, cwd=tmp_path or ".", timeout_s=timeout_s, **kwargs)


@pytest.mark.parametrize(
    "value, text",
    [(0.01, "0.01"), (1e-5, "1e-05"), (64, "64"), (True, "true"), (None, "null"), ("a b", "a b")],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_values_stay_single_arguments_and_are_never_shell_interpreted():
    space = SearchSpace.from_dict({"name": ["a b; rm -rf /", "$(touch x)"]})
    template = CommandTemplate.parse("echo --name={name} '{{literal}}'", space)
    args = template.render({"name": "a b; rm -rf /"})
    assert args == ["echo", "--name=a b; rm -rf /", "{literal}"]
    assert template.render({"name": "$(touch x)"})[1] == "--name=$(touch x)"


def test_braces_that_are_not_placeholders_stay():
    space = SearchSpace.from_dict({"x": [1]})
    template = CommandTemplate.parse(["python", "-c", "print({'value': {x}})"], space)
    assert template.render({"x": 1})[2] == "print({'value': 1})"


def test_inactive_parameters_drop_their_argument_and_flag():
    template = CommandTemplate.parse("run --kernel {kernel} --gamma {gamma} --g={gamma} -v", SPACE)
    assert template.render({"kernel": "rbf", "gamma": 0.5}) == [
        "run",
        "--kernel",
        "rbf",
        "--gamma",
        "0.5",
        "--g=0.5",
        "-v",
    ]
    assert template.render({"kernel": "linear"}) == ["run", "--kernel", "linear", "-v"]


def test_template_problems():
    with pytest.raises(SpecError, match="must not be empty"):
        CommandTemplate.parse("  ", SPACE)
    with pytest.raises(SpecError, match="list of strings"):
        CommandTemplate.parse(["run", 3], SPACE)
    with pytest.raises(SpecError, match="'gamma' is never passed"):
        CommandTemplate.parse("run {kernel}", SPACE)


@pytest.mark.parametrize(
    "stdout, values, attrs",
    [
        pytest.param("0.5", 0.5, {}, id="number"),
        pytest.param("epoch 1\nloss 3\n\n  0.25  \n\n", 0.25, {}, id="last-line"),
        pytest.param("1e-3", 1e-3, {}, id="exponent"),
        pytest.param("7", 7.0, {}, id="int"),
        pytest.param("[1, 2.5]", [1.0, 2.5], {}, id="list"),
        pytest.param('{"value": 3, "acc": 0.9}', 3.0, {"acc": 0.9}, id="object"),
        pytest.param('{"values": [1, 2]}', [1.0, 2.0], {}, id="object-values"),
    ],
)
def test_parse_output(stdout, values, attrs):
    outcome = parse_output(stdout)
    assert outcome.values == values
    assert dict(outcome.attrs) == attrs


def test_parse_output_nan_is_passed_on():
    value = parse_output("nan").values
    assert value != value


@pytest.mark.parametrize(
    "stdout, expected",
    [
        pytest.param("", "printed nothing", id="empty"),
        pytest.param("done!", "'done!'", id="text"),
        pytest.param("true", "must be a number", id="bool"),
        pytest.param('{"acc": 1}', "must be a number", id="no-value-key"),
        pytest.param('["a"]', "must be a number", id="list-of-str"),
        pytest.param("[]", "must be a number", id="empty-list"),
    ],
)
def test_parse_output_rejects(stdout, expected):
    with pytest.raises(CommandError, match=expected):
        parse_output(stdout)


def test_objective_runs_the_command_and_records_attrs(tmp_path):
    code = (
        "import os, sys; print('log line'); print('warn', file=sys.stderr); "
        "print(sys.argv[1:], os.getcwd(), os.environ['HYPERDIAL_TRIAL_NUMBER']); "
        "print('{\"value\": %s, \"acc\": 0.5}' % (1.0 if sys.argv[2] == 'rbf' else 2.0))"
    )
    objective = make_objective(
        code, extra=["--kernel", "{kernel}", "--gamma", "{gamma}"], tmp_path=tmp_path
    )
    trial = FixedTrial({"kernel": "rbf", "gamma": 0.1}, number=4)
    assert objective(trial) == 1.0
    attrs = trial.user_attrs
    assert attrs["returncode"] == 0
    assert attrs["acc"] == 0.5
    assert "'--gamma', '0.1'" in attrs["stdout_tail"]
    assert str(tmp_path) in attrs["stdout_tail"] and attrs["stdout_tail"].count(" 4") >= 1
    assert attrs["stderr_tail"] == "warn"
    assert attrs["command"].endswith("--kernel rbf --gamma 0.1")
    trial = FixedTrial({"kernel": "linear"})
    assert objective(trial) == 2.0
    assert "--gamma" not in trial.user_attrs["command"]


def test_failing_command_reports_the_stderr_tail():
    code = "import sys; print('x'); sys.exit('ValueError: bad gamma')"
    objective = make_objective(code, extra=["{kernel}", "{gamma}"])
    trial = FixedTrial({"kernel": "linear"})
    with pytest.raises(CommandError, match="exited with code 1: ValueError: bad gamma"):
        objective(trial)
    assert trial.user_attrs["returncode"] == 1
    assert trial.user_attrs["stdout_tail"] == "x"


def test_unparsable_output_fails_with_the_stderr_tail():
    code = "import sys; print('one', file=sys.stderr); print('two', file=sys.stderr); print('ok')"
    objective = make_objective(code, extra=["{kernel}", "{gamma}"])
    with pytest.raises(CommandError, match="got 'ok'.\nstderr ends with:\none\ntwo"):
        objective(FixedTrial({"kernel": "linear"}))


def test_timeout_kills_the_command_and_its_children():
    # The grandchild holds stdout open: a plain subprocess.run would wait for it.
    code = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
        "time.sleep(30)"
    )
    objective = make_objective(code, timeout_s=0.5, extra=["{kernel}", "{gamma}"])
    trial = FixedTrial({"kernel": "linear"})
    start = time.monotonic()
    with pytest.raises(CommandError, match="timed out after 0.5 s"):
        objective(trial)
    assert time.monotonic() - start < 5
    assert trial.user_attrs["returncode"] is None


def test_missing_program_fails_the_trial(tmp_path):
    space = SearchSpace.from_dict({"x": [1]})
    objective = CommandObjective(
        CommandTemplate.parse(["./gone", "{x}"], space), space, cwd=tmp_path
    )
    with pytest.raises(CommandError, match="cannot run './gone'"):
        objective(FixedTrial({"x": 1}))


def test_timeout_must_be_positive():
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        make_objective("print(1)", timeout_s=0, extra=["{kernel}", "{gamma}"])
