from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from hyperdial import FixedTrial, SearchSpace, TrialPruned
from hyperdial.cli.command import (
    CommandError,
    CommandObjective,
    CommandTemplate,
    format_value,
    parse_output,
    parse_report,
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


@pytest.mark.parametrize(
    "line, expected",
    [
        pytest.param("report 3 0.25", (3, 0.25), id="number"),
        pytest.param("  report\t0  -1e-3 ", (0, -1e-3), id="spacing"),
        pytest.param("report 2 nan", (2, "nan"), id="nan"),
        pytest.param("report 5 [0.5, 2]", (5, [0.5, 2.0]), id="list"),
        pytest.param("0.25", None, id="value-line"),
        pytest.param("report generated in 3 s", None, id="prose"),
        pytest.param("reported 1 2", None, id="other-word"),
    ],
)
def test_parse_report(line, expected):
    result = parse_report(line)
    if expected is not None and expected[1] == "nan":
        assert result[0] == expected[0] and result[1] != result[1]
    else:
        assert result == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        pytest.param("report 1.5 0.3", "STEP must be an int >= 0", id="float-step"),
        pytest.param("report -1 0.3", "STEP must be an int >= 0", id="negative-step"),
        pytest.param("report 2 high", "VALUE must be a number", id="word"),
        pytest.param("report 2", "VALUE must be a number", id="no-value"),
        pytest.param("report 2 [1, true]", "VALUE must be a number", id="bool-in-list"),
        pytest.param("report 2 []", "VALUE must be a number", id="empty-list"),
    ],
)
def test_parse_report_rejects_malformed_report_lines(line, expected):
    with pytest.raises(CommandError, match=expected):
        parse_report(line)


class PruningTrial(FixedTrial):
    """A fixed trial whose scheduler says prune once a report reaches ``prune_at``."""

    def __init__(self, params, prune_at, **kwargs):
        super().__init__(params, **kwargs)
        self.prune_at = prune_at

    def should_prune(self):
        return max(self.intermediate, default=-1) >= self.prune_at


def is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if not Path("/proc/self").exists():
        return True
    try:  # a zombie has ended; its parent (init, for a grandchild) reaps it when it can
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids, within_s=3.0):
    deadline = time.monotonic() + within_s
    while any(is_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [p for p in pids if is_running(p)]


REPORTING = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
with open(sys.argv[2], "w") as f:
    f.write("%d %d" % (os.getpid(), child.pid))
for step in range(9):
    print("report", step, 10 - step)
    time.sleep(0.05)
time.sleep(30)
print(1.0)
"""


def test_a_pruned_command_is_killed_with_its_children(tmp_path):
    (tmp_path / "train.py").write_text(REPORTING)
    space = SearchSpace.from_dict({"x": [1]})
    pids = tmp_path / "pids"
    template = CommandTemplate.parse([PY, "train.py", "{x}", str(pids)], space)
    objective = CommandObjective(template, space, cwd=tmp_path)
    trial = PruningTrial({"x": 1}, prune_at=2)
    start = time.monotonic()
    with pytest.raises(TrialPruned):
        objective(trial)
    assert time.monotonic() - start < 5
    assert trial.intermediate == {0: 10.0, 1: 9.0, 2: 8.0}
    assert trial.user_attrs["returncode"] is None
    assert trial.user_attrs["stdout_tail"].startswith("report 0 10\nreport 1 9\nreport 2 8")
    parent, child = (int(p) for p in pids.read_text().split())
    assert wait_gone([parent, child]) == []


def test_report_lines_are_not_values(tmp_path):
    code = "print('report 0 5'); print('0.25'); print('report 1 4'); print()"
    objective = make_objective(code, extra=["{kernel}", "{gamma}"])
    trial = FixedTrial({"kernel": "linear"})
    assert objective(trial) == 0.25
    assert trial.intermediate == {0: 5.0, 1: 4.0}
    assert trial.user_attrs["stdout_tail"] == "report 0 5\n0.25\nreport 1 4"


def test_reports_without_a_value_fail_the_trial():
    objective = make_objective("print('report 0 5')", extra=["{kernel}", "{gamma}"])
    with pytest.raises(CommandError, match="printed only report lines"):
        objective(FixedTrial({"kernel": "linear"}))


def test_a_malformed_report_fails_the_trial_and_stops_the_command():
    code = "import time; print('report 1.5 0.3', flush=True); time.sleep(30); print(1)"
    objective = make_objective(code, extra=["{kernel}", "{gamma}"])
    trial = FixedTrial({"kernel": "linear"})
    start = time.monotonic()
    with pytest.raises(CommandError, match="'report 1.5 0.3': STEP must be an int >= 0"):
        objective(trial)
    assert time.monotonic() - start < 5
    assert trial.intermediate == {}
    assert trial.user_attrs["returncode"] is None


def test_reports_arrive_while_a_python_command_runs():
    # No flush: PYTHONUNBUFFERED=1 makes the line arrive before the command ends.
    code = "import time; print('report 0 1'); time.sleep(30); print(1)"
    objective = make_objective(code, extra=["{kernel}", "{gamma}"])
    trial = PruningTrial({"kernel": "linear"}, prune_at=0)
    start = time.monotonic()
    with pytest.raises(TrialPruned):
        objective(trial)
    assert time.monotonic() - start < 5


def test_lineage_variables_reach_the_command(monkeypatch):
    monkeypatch.setenv("HYPERDIAL_PARENT", "99")  # an outer run's must not leak
    code = (
        "import json, os; "
        "print(json.dumps({'value': 0, 'env': [os.environ.get(k) for k in "
        "('HYPERDIAL_BUDGET', 'HYPERDIAL_PARENT', 'HYPERDIAL_TRIAL_NUMBER')]}))"
    )
    objective = make_objective(code, extra=["{kernel}", "{gamma}"])
    trial = FixedTrial({"kernel": "linear"}, number=7)
    objective(trial)
    assert trial.user_attrs["env"] == [None, None, "7"]
    trial = FixedTrial({"kernel": "linear"}, number=8, budget=27.0)
    trial.parent = 3
    objective(trial)
    assert trial.user_attrs["env"] == ["27", "3", "8"]
    trial = FixedTrial({"kernel": "linear"}, budget=2.5)
    objective(trial)
    assert trial.user_attrs["env"][:2] == ["2.5", None]
