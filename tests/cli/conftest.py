from __future__ import annotations

import sys
import textwrap
import uuid

import pytest
from typer.testing import CliRunner

from hyperdial.cli import app

OBJECTIVE = """
import sys

def run(params):
    return (params["x"] - 0.25) ** 2 + 0.01 * params["n"]

def pair(trial):
    x = trial.params["x"]
    return [x, (1 - x) ** 2]

def broken(trial):
    raise ValueError("the model diverged")

def leave(trial):
    sys.exit(3)

def interrupt(trial):
    if trial.number == 2:
        raise KeyboardInterrupt
    return 1.0
"""

SPACE = """
space:
  x: {type: float, low: 0, high: 1}
  n: {type: int, low: 1, high: 4}
"""


@pytest.fixture
def make_spec(tmp_path):
    """Write a spec (and an objective module with a unique name) and return its path.

    ``MODULE`` in the text is replaced by the module's name and ``PYTHON`` by this Python.
    """

    def make(text, name="spec.yaml", space=SPACE):
        module = f"objective_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{module}.py").write_text(OBJECTIVE)
        body = textwrap.dedent(text).replace("MODULE", module).replace("PYTHON", sys.executable)
        path = tmp_path / name
        path.write_text(body + (space or ""))
        return path

    return make


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'studies.db'}"


@pytest.fixture
def run_cli():
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, [str(a) for a in args])

    return run
