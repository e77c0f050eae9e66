"""Every user error: exit code 2, one ``error:`` line, no traceback, stored data untouched."""

from __future__ import annotations

import uuid

import pytest

import hyperdial

GOOD = "study: base\nbudget: {trials: 3}\nobjective: MODULE:run\n"


@pytest.fixture
def seeded(make_spec, db, run_cli):
    """A database holding the study 'base' with 3 trials."""
    result = run_cli("tune", make_spec(GOOD, name="base.yaml"), "--storage", db)
    assert result.exit_code == 0, result.output
    return db


def snapshot(db):
    return [
        (
            s.name,
            [
                (t.number, t.state, t.values)
                for t in hyperdial.load_study(s.name, storage=db).trials
            ],
        )
        for s in hyperdial.list_studies(db)
    ]


CASES = [
    pytest.param("objective: [MODULE:run\n", [], "spec.yaml: line", id="yaml-syntax"),
    pytest.param("objective: MODULE:run\nbudjet: 3\n", [], "Did you mean 'budget'", id="key"),
    pytest.param(
        "objective: MODULE:run\nspace: {lr: {type: float, low: 0, high: 1, log: true}}\n",
        [],
        "space: parameter 'lr': Float: low must be > 0",
        id="space",
    ),
    pytest.param(
        "objective: MODULE:run\nsampler: annealing\n",
        [],
        "unknown sampler 'annealing'",
        id="sampler",
    ),
    pytest.param("objective: nomodule_hd:run\n", [], "no module named 'nomodule_hd'", id="module"),
    pytest.param("objective: MODULE:nothere\n", [], "has no attribute 'nothere'", id="function"),
    pytest.param("objective: MODULE:run\nspace: null\n", [], "needs a space", id="params"),
    pytest.param(
        "command: PYTHON -c pass {lr}\n", [], "placeholder {lr} names no parameter", id="command"
    ),
    # the control case: resuming 'base' from its own spec works (BASE is that file)
    pytest.param(None, ["tune", "BASE", "--trials", "4"], None, id="ok-control"),
    pytest.param(None, ["tune", "BASE", "--seed", "1"], "exists with seed", id="seed"),
    pytest.param(
        GOOD.replace("budget: {trials: 3}", "budget: 0"),
        [],
        "budget: must be a mapping with ['trials', 'timeout_s']; got 0.",
        id="budget-zero",
    ),
    pytest.param("objective: MODULE:run\nspace: {}\n", [], "declares no parameters", id="space-0"),
    pytest.param(GOOD, ["--timeout", "inf"], "--timeout must be a finite number", id="timeout"),
    pytest.param(
        GOOD.replace("study: base", "study: fresh"),
        ["--dask-scheduler", "nohost"],
        "cannot reach the Dask scheduler at nohost",
        id="dask-address",
    ),
    pytest.param(
        GOOD + "space:\n  x: {type: float, low: 0, high: 2}\n  n: {type: int, low: 1, high: 4}\n",
        [],
        "was tuned from",
        id="resume-other-space",
    ),
    pytest.param(GOOD, [], "with another objective than", id="resume-other-code"),
    pytest.param(
        GOOD.replace("study: base", "study: base\ndirection: maximize"),
        [],
        "exists with directions ['minimize']; got ['maximize']",
        id="directions",
    ),
    pytest.param(
        GOOD,
        ["--storage", "postgresql+psycopg://postgres@127.0.0.1:1/none"],
        "cannot connect",
        id="unreachable",
    ),
    pytest.param(GOOD, ["--storage", "nonsense"], "must be a database URL", id="url"),
    pytest.param(GOOD, ["--trials", "0"], "Invalid value for '--trials'", id="flag"),
    pytest.param(None, ["tune", "missing.yaml"], "No such file or directory", id="no-spec"),
    pytest.param(None, ["show", "nope"], "No study named 'nope'", id="show-unknown"),
    pytest.param(None, ["export", "nope"], "No study named 'nope'", id="export-unknown"),
    pytest.param(None, ["export", "base", "--format", "xml"], "'xml' is not one of", id="format"),
    pytest.param(None, ["enqueue", "nope", "-p", "x=1"], "No study named 'nope'", id="enq-study"),
    pytest.param(None, ["enqueue", "base", "-p", "n=9"], "parameter 'n'", id="enq-value"),
    pytest.param(None, ["enqueue", "base", "-p", "n"], "must read name=value", id="enq-syntax"),
    pytest.param(None, ["enqueue", "base", "-p", "n=[1"], "--param n: line 1", id="enq-yaml"),
    pytest.param(None, ["enqueue", "base"], "Missing option '--param'", id="enq-missing"),
    pytest.param(
        None, ["enqueue", "base", "-p", "x=0.5", "-p", "x=0.7"], "is given twice", id="enq-twice"
    ),
    pytest.param(None, ["show", "base", "--storage", "foo://bar"], "foo://bar names", id="url-db"),
    pytest.param(None, ["export", "base", "-o", "DBFILE"], "the study's database", id="export-db"),
    pytest.param(None, ["report", "base", "-o", "DBFILE-wal"], "study's database", id="rep-db"),
    pytest.param(None, ["frobnicate"], "No such command 'frobnicate'", id="command-name"),
]


@pytest.mark.parametrize("spec_text, args, expected", CASES)
def test_user_errors(seeded, make_spec, run_cli, tmp_path, spec_text, args, expected):
    before = snapshot(seeded)
    places = {"BASE": tmp_path / "base.yaml", "DBFILE": tmp_path / "studies.db"}
    for key, place in places.items():
        args = [a.replace(key, str(place)) if a.startswith(key) else a for a in args]
    if spec_text is not None:
        kwargs = {"space": None} if "space:" in spec_text else {}
        args = ["tune", make_spec(spec_text, **kwargs), *args]
    if "--storage" not in args:
        args = [*args, "--storage", seeded]
    result = run_cli(*args)
    if expected is None:  # the control case: the same invocation without the mistake works
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(seeded) == before


@pytest.mark.parametrize("command", ["studies", "show base", "export base"])
def test_read_commands_never_create_a_database(run_cli, tmp_path, command):
    path = tmp_path / "absent.db"
    result = run_cli(*command.split(), "--storage", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert f"no database at {path}" in result.stderr
    assert not path.exists()


@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00 but not really", None])
@pytest.mark.parametrize("command", ["studies", "show base", "export base"])
def test_read_commands_leave_other_files_alone(run_cli, tmp_path, command, content):
    path = tmp_path / "other.db"
    if content is None:  # a real SQLite database of another program
        import sqlite3

        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE users (name TEXT)")
        connection.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    result = run_cli(*command.split(), "--storage", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert f"{path} (sqlite:///{path}) is not a hyperdial database" in result.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no journal left


def test_a_spec_that_is_not_utf8_is_named(run_cli, tmp_path, seeded):
    spec = tmp_path / "latin.yaml"
    spec.write_bytes("study: café\nobjective: m:f\n".encode("latin-1"))
    for command in ("tune", "advise"):
        result = run_cli(command, spec, *(["--storage", seeded] if command == "tune" else []))
        assert result.exit_code == 2
        assert (
            result.stderr == "error: latin.yaml: not a UTF-8 text file (byte 10 is 0xe9); "
            "a spec is YAML text.\n"
        )


def test_enqueue_warns_of_a_name_the_study_has_not_seen(run_cli, seeded):
    result = run_cli("enqueue", "base", "-p", "x=0.5", "-p", "nn=3", "--storage", seeded)
    assert result.exit_code == 0, result.output
    assert "warning: 'base' has no trial with 'nn' yet (its parameters: n, x)" in result.stderr
    waiting = hyperdial.load_study("base", storage=seeded).trials[-1]
    assert waiting.state is hyperdial.TrialState.WAITING


@pytest.mark.server
@pytest.mark.parametrize("command", ["studies", "show base", "export base"])
def test_read_commands_add_no_tables_to_a_server_database(run_cli, mysql_server, command):
    import sqlalchemy as sa

    url = mysql_server.create(f"hyperdial_empty_{uuid.uuid4().hex[:8]}")
    try:
        result = run_cli(*command.split(), "--storage", url)
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: {url} is not a hyperdial database: it has no hyperdial tables, and this "
            "command does not add them.\n"
        )
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == []
        engine.dispose()
    finally:
        mysql_server.drop(url.rsplit("/", 1)[1])
