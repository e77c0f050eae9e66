"""The ``hyperdial`` command: tune a study from a YAML spec, then inspect and export it.

Every command reports a user error (bad spec, unknown study, unreachable database, ...) as one
``error: ...`` line on stderr and exit code 2, before anything is written to the storage. See
``docs/cli.md`` for the reference and examples.
"""

from __future__ import annotations

import enum
import logging
import math
import shlex
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from hyperdial._yaml import load_yaml
from hyperdial.cli._options import StorageOption, StudyArgument
from hyperdial.cli.report import report as _report
from hyperdial.cli.reproduce import SPEC_ATTR, reproduce_command, spec_record
from hyperdial.cli.spec import DEFAULT_STORAGE, load_spec
from hyperdial.exceptions import HyperdialError, HyperdialWarning, StorageError
from hyperdial.storage.factory import sqlite_file

if TYPE_CHECKING:
    from hyperdial.storage import Storage

__all__ = ["app", "main"]

EXIT_USER_ERROR = 2
EXIT_OBJECTIVE_ERROR = 1
EXIT_INTERRUPTED = 130

_FINISHED = ("COMPLETE", "PRUNED", "FAILED")
_PIPE_WIDTH = 160


class _ObjectiveError(Exception):
    """The user's objective raised; the trial is stored FAILED with its traceback."""


def _is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, (HyperdialError, OSError, ImportError)):
        return True
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")  # only if a SQL storage was used
    return sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.SQLAlchemyError)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(code)


# Recent Typer releases vendor their own click; take its classes from a public Typer one so
# both layouts work.
_UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
_ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort) + tuple(
    c
    for c in [getattr(sys.modules[_UsageError.__module__], "NoArgsIsHelpError", None)]
    if c is not None
)


def _usage_error(exc: Exception) -> NoReturn:
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "hyperdial"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    _fail(f"{message} (see: {command} --help)")


class _Group(TyperGroup):
    """The one place where errors become an ``error:`` line and an exit code."""

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        try:
            return super().make_context(info_name, args, *a, **kw)
        except _PASS_THROUGH:
            raise
        except _UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except _UsageError as exc:
            _usage_error(exc)
        except _ClickException:
            raise
        except _ObjectiveError as exc:
            _fail(str(exc), EXIT_OBJECTIVE_ERROR)
        except KeyboardInterrupt:
            typer.echo("interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if not _is_user_error(exc):
                raise  # a bug: keep the traceback
            message = str(exc) or type(exc).__name__
            if isinstance(exc, OSError) and exc.filename is not None:
                message = f"{exc.strerror or exc}: {exc.filename}"
            _fail(message)


app = typer.Typer(
    cls=_Group,
    name="hyperdial",
    help="Tune hyperparameters from a YAML spec and inspect the studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("hyperdial")
        except PackageNotFoundError:  # running from a source tree
            import hyperdial

            text = hyperdial.__version__
        typer.echo(f"hyperdial {text}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Tune hyperparameters from a YAML spec and inspect the studies."""


def _console() -> Console:
    # A pipe or a file gets wide tables rather than values cut to 80 columns.
    return Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH)


def _is_hyperdial_file(path: Path) -> bool:
    """Whether the SQLite file at ``path`` holds hyperdial's tables (read without writing)."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hyperdial_studies'"
        ).fetchone()
    except sqlite3.Error:  # not a database at all
        return False
    finally:
        connection.close()
    return row is not None


def _open_storage(url: str, *, must_exist: bool) -> Storage:
    """Open the storage at ``url``.

    With ``must_exist`` (the commands that read a study), a SQLite file must already hold
    hyperdial's tables: those commands neither create a file nor add tables to another one.
    """
    path = sqlite_file(url)
    if must_exist and path is not None:
        if not path.is_file():
            raise StorageError(
                f"no database at {path} ({url}); run 'hyperdial tune' first or pass --storage."
            )
        if not _is_hyperdial_file(path):
            raise StorageError(
                f"{path} ({url}) is not a hyperdial database: it has no hyperdial tables, and "
                "this command does not add them."
            )
    from hyperdial.storage import SQLStorage, get_storage

    storage = get_storage(url)
    if must_exist and path is None and isinstance(storage, SQLStorage):
        if not storage.has_schema():  # a server database: checked without adding tables
            raise StorageError(
                f"{url} is not a hyperdial database: it has no hyperdial tables, and this "
                "command does not add them."
            )
    return storage


def _read_study(name: str, storage: Storage) -> Any:
    """Load a study only to read it: no sampler or scheduler is rebuilt (none will run)."""
    from hyperdial.samplers import RandomSampler
    from hyperdial.schedulers import NoScheduler
    from hyperdial.study import load_study

    return load_study(name, storage=storage, sampler=RandomSampler(), scheduler=NoScheduler())


def _existing_study(name: str, storage: Storage) -> Any:
    """Return study ``name`` loaded to be read (see :func:`_read_study`), or ``None``."""
    from hyperdial.exceptions import StudyNotFoundError

    try:
        return _read_study(name, storage)
    except StudyNotFoundError:
        return None


def _check_output(output: Path, url: str) -> None:
    """Refuse to write a file over the study's own SQLite database (or its journals)."""
    path = sqlite_file(url)
    if path is None:
        return
    target = output.resolve()
    database = path.resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        if target == database.with_name(database.name + suffix):
            raise HyperdialError(
                f"--output {output} is the study's database file ({url}); writing it would "
                "destroy every study stored there. Give another path."
            )


# ---------------------------------------------------------------------------- tune
class _TrialLog(logging.Handler):
    """Print the study's warnings (e.g. a failed trial) as one line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Interrupted"):
            return  # the CLI prints its own resume hint
        message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        # Looked up now, not at construction, so Rich's progress bar can redirect it.
        print(f"warning: {message}", file=sys.stderr)


@contextmanager
def _trial_log() -> Iterator[None]:
    logger = logging.getLogger("hyperdial")
    handler = _TrialLog(logging.WARNING)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _resume_hint(spec_path: Path, study: str, storage: str, flags: list[str]) -> str:
    args = ["hyperdial", "tune", str(spec_path), "--study", study, "--storage", storage, *flags]
    return shlex.join(args)


@app.command()
def tune(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="The study spec.")],
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials", min=1, help="Finished trials the study should hold (a rerun resumes)."
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0, help="Seconds this run may take.")
    ] = None,
    storage: Annotated[str | None, typer.Option("--storage", help="Database URL.")] = None,
    study: Annotated[str | None, typer.Option("--study", help="Study name.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Study seed.")] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Trials run in parallel.")
    ] = None,
    processes: Annotated[
        bool, typer.Option("--processes", help="Run each trial in a process of its own.")
    ] = False,
    dask_scheduler: Annotated[
        str | None,
        typer.Option("--dask-scheduler", help="Run trials on a Dask cluster (tcp://host:8786)."),
    ] = None,
) -> None:
    """Run a study described by SPEC.yaml; flags override the spec.

    The trial budget is the study's total: running the same command again resumes an
    interrupted study and stops once it holds that many finished trials.
    """
    from hyperdial.cli.command import CommandError
    from hyperdial.cli.objective import FunctionObjective, build_objective
    from hyperdial.study import create_study

    if processes and dask_scheduler:
        raise HyperdialError("give --processes or --dask-scheduler, not both.")
    if timeout is not None and not math.isfinite(timeout):
        raise HyperdialError(f"--timeout must be a finite number of seconds; got {timeout}.")
    spec = load_spec(spec_path).with_overrides(
        n_trials=trials, timeout_s=timeout, storage=storage, study=study, seed=seed, n_jobs=jobs
    )
    sampler = spec.make_sampler()
    scheduler = spec.make_scheduler()
    objective = build_objective(spec)
    resolved = _open_storage(spec.storage, must_exist=False)
    _check_resume(resolved, spec, spec_path)
    executor = _executor(processes, dask_scheduler, spec.n_jobs)  # before anything is written
    the_study = create_study(
        spec.study,
        storage=resolved,
        directions=list(spec.directions),
        sampler=sampler,
        scheduler=scheduler,
        seed=spec.seed,
        load_if_exists=True,
    )
    overrides = {"trials": trials, "timeout": timeout, "storage": storage, "study": study}
    the_study.set_user_attr(SPEC_ATTR, spec_record(spec_path, {**overrides, "seed": seed}))
    console = _console()
    finished = sum(t.state.name in _FINISHED for t in the_study.trials)
    remaining = None if spec.n_trials is None else spec.n_trials - finished
    if remaining is not None and remaining <= 0:
        console.print(
            f"Study {spec.study!r} already holds {finished} finished trials (budget "
            f"{spec.n_trials}); nothing to run. Raise --trials to run more."
        )
    else:
        flags = [] if trials is None else ["--trials", str(trials)]
        catch = (CommandError,) if spec.command is not None else ()
        try:
            with _trial_log():
                the_study.optimize(
                    objective,
                    n_trials=remaining,
                    timeout=spec.timeout_s,
                    n_jobs=spec.n_jobs,
                    catch=catch,
                    executor=executor,
                )
        except KeyboardInterrupt:
            done = sum(t.state.name in _FINISHED for t in the_study.trials)
            typer.echo(
                f"interrupted: {done} finished trials of {spec.study!r} are stored in "
                f"{spec.storage}. Resume with: "
                f"{_resume_hint(spec_path, spec.study, spec.storage, flags)}",
                err=True,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except SystemExit as exc:
            raise _ObjectiveError(
                f"the objective of {spec.study!r} ended the program (SystemExit: {exc.code!r}); "
                "its trial is stored FAILED. An objective should return a value or raise."
            ) from None
        except Exception as exc:
            failure = getattr(objective, "failure", None)
            if isinstance(objective, FunctionObjective) and failure and failure[1] is exc:
                raise _ObjectiveError(
                    f"trial {failure[0]} of {spec.study!r} raised {type(exc).__name__}: {exc} "
                    f"(its traceback is stored; see: hyperdial show {shlex.quote(spec.study)} "
                    f"--storage {shlex.quote(spec.storage)})"
                ) from exc
            raise
    from hyperdial.cli.render import print_study

    print_study(
        console,
        spec.study,
        the_study.history(),
        top=5,
        scheduler=the_study.user_attrs.get("scheduler"),
    )


def _check_resume(storage: Storage, spec: Any, spec_path: Path) -> None:
    """Refuse to resume a study from a spec whose space or objective differs from its own.

    The study keeps the spec it was tuned with (``reproduce`` re-runs trials from it); another
    space would mix incomparable trials and another objective would make the record wrong.
    """
    from hyperdial.cli.spec import spec_from_dict

    existing = _existing_study(spec.study, storage)
    if existing is None:
        return
    kept = existing.user_attrs.get(SPEC_ATTR)
    if not isinstance(kept, dict) or not isinstance(kept.get("text"), str):
        return
    old_path = Path(str(kept.get("path", "spec.yaml")))
    try:
        data = load_yaml(str(kept["text"]), old_path.name)
        old = spec_from_dict(data, name=old_path.stem, base_dir=old_path.parent)
    except HyperdialError:
        return  # a spec that no longer parses (e.g. a removed program) cannot be compared
    if old.directions != spec.directions:
        return  # create_study names the directions
    differences = [
        what
        for what, a, b in (
            ("space", _space_shape(old.space), _space_shape(spec.space)),
            ("objective", old.objective, spec.objective),
            ("command", old.command, spec.command),
        )
        if a != b
    ]
    if differences:
        raise HyperdialError(
            f"study {spec.study!r} was tuned from {old_path} with another "
            f"{' and '.join(differences)} than {spec_path} gives; its trials would not be "
            f"comparable. Give a new --study name (or run {old_path} to resume it)."
        )


def _space_shape(space: Any) -> Any:
    """What makes trials of two spaces comparable: each parameter's range and the conditions.

    The order of the parameters and their priors (``default``) may change between runs.
    """
    if space is None:
        return None
    params = {
        name: {k: v for k, v in dist.to_json().items() if k != "default"}
        for name, dist in space.items()
    }
    return params, space.conditions


def _executor(processes: bool, dask_scheduler: str | None, jobs: int) -> Any:
    """Return the executor the flags ask for (``None``: threads in this process)."""
    if processes and dask_scheduler:
        raise HyperdialError("give --processes or --dask-scheduler, not both.")
    if processes:
        from hyperdial.execution import ProcessExecutor

        return ProcessExecutor(max_workers=jobs)
    if dask_scheduler:
        from hyperdial.execution import DaskExecutor

        try:
            from distributed import Client
        except ImportError as exc:
            from hyperdial.exceptions import missing

            raise missing("dask", "--dask-scheduler", "distributed") from exc
        try:
            client = Client(dask_scheduler, timeout=15)
        except (OSError, TimeoutError, ValueError) as exc:
            raise HyperdialError(
                f"cannot reach the Dask scheduler at {dask_scheduler}: {exc}"
            ) from None
        return DaskExecutor(client)
    return None


# ---------------------------------------------------------------------------- worker
_MAX_TRIALS_ATTR = "max_trials"


@app.command()
def worker(
    spec_path: Annotated[
        Path | None,
        typer.Argument(metavar="[SPEC.yaml]", help="A study spec (or give the options below)."),
    ] = None,
    storage: Annotated[str | None, typer.Option("--storage", help="Database URL.")] = None,
    study: Annotated[str | None, typer.Option("--study", help="Study name.")] = None,
    objective_ref: Annotated[
        str | None,
        typer.Option("--objective", metavar="MODULE:FUNCTION", help="The objective to run."),
    ] = None,
    max_trials: Annotated[
        int | None,
        typer.Option("--max-trials", min=1, help="The study's budget, shared by all its workers."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Trials run in parallel.")] = 1,
    processes: Annotated[
        bool, typer.Option("--processes", help="Run each trial in a process of its own.")
    ] = False,
    dask_scheduler: Annotated[
        str | None,
        typer.Option("--dask-scheduler", help="Run trials on a Dask cluster (tcp://host:8786)."),
    ] = None,
) -> None:
    """Join a study and run its trials until the study-wide budget is spent.

    Start one on every machine that should help: they share the study through its database
    (PostgreSQL or MySQL across machines). The budget is given once (--max-trials) and kept
    with the study; later workers follow it. Without SPEC.yaml, --storage, --study and
    --objective name the study and the objective (the study must exist).
    """
    from hyperdial.cli.command import CommandError
    from hyperdial.cli.objective import FunctionObjective, build_objective, load_function
    from hyperdial.study import create_study, load_study

    if spec_path is not None:
        spec = load_spec(spec_path).with_overrides(storage=storage, study=study)
        objective: Any = build_objective(spec)
        resolved = _open_storage(spec.storage, must_exist=False)
        _check_resume(resolved, spec, spec_path)
        if max_trials is None and spec.n_trials is None:
            _stored_budget(resolved, spec.study)  # fails before the study is created
        executor = _executor(processes, dask_scheduler, jobs)
        the_study = create_study(
            spec.study,
            storage=resolved,
            directions=list(spec.directions),
            sampler=spec.make_sampler(),
            scheduler=spec.make_scheduler(),
            seed=spec.seed,
            load_if_exists=True,
        )
        name, url = spec.study, spec.storage
        catch: tuple[type[BaseException], ...] = (
            (CommandError,) if spec.command is not None else ()
        )
    else:
        missing = [
            flag
            for flag, value in (
                ("--storage", storage),
                ("--study", study),
                ("--objective", objective_ref),
            )
            if value is None
        ]
        if missing:
            raise HyperdialError(
                f"worker needs SPEC.yaml or {', '.join(missing)} (the study and its objective)."
            )
        assert storage is not None and study is not None and objective_ref is not None
        objective = FunctionObjective(load_function(objective_ref, Path.cwd()), None)
        resolved = _open_storage(storage, must_exist=True)
        if max_trials is None:
            _stored_budget(resolved, study)
        executor = _executor(processes, dask_scheduler, jobs)
        the_study = load_study(study, storage=resolved)
        name, url, catch = study, storage, ()
        spec = None
    stored = the_study.user_attrs.get(_MAX_TRIALS_ATTR)
    if max_trials is None:
        # The study's budget; a spec's budget.trials is the budget of a study that has none.
        max_trials = stored if isinstance(stored, int) else spec.n_trials if spec else None
        assert max_trials is not None  # _stored_budget checked it
    if stored != max_trials:
        the_study.set_user_attr(_MAX_TRIALS_ATTR, max_trials)
    console = _console()
    try:
        with _trial_log():
            the_study.optimize(
                objective, max_trials=max_trials, n_jobs=jobs, catch=catch, executor=executor
            )
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted: the finished trials of {name!r} are stored in {url}; start the "
            "worker again to go on.",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        raise _ObjectiveError(
            f"the objective of {name!r} ended the program (SystemExit: {exc.code!r}); its "
            "trial is stored FAILED. An objective should return a value or raise."
        ) from None
    from hyperdial.cli.render import print_study

    print_study(
        console, name, the_study.history(), top=5, scheduler=the_study.user_attrs.get("scheduler")
    )


def _stored_budget(storage: Storage, name: str) -> int:
    """Return the budget kept with study ``name``; fail if it has none (or does not exist)."""

    existing = _existing_study(name, storage)
    stored = None if existing is None else existing.user_attrs.get(_MAX_TRIALS_ATTR)
    if not isinstance(stored, int):
        raise HyperdialError(
            f"study {name!r} has no budget yet; give --max-trials (it is kept with the study)."
        )
    return stored


# ---------------------------------------------------------------------------- studies
@app.command()
def advise(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="The study spec.")],
    seconds_per_trial: Annotated[
        float | None,
        typer.Option("--seconds-per-trial", min=0, help="Expected seconds of one trial."),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", min=1, help="Trials run in parallel.")
    ] = None,
) -> None:
    """Explain the search method SPEC.yaml's study would use, and why, before it runs."""
    from hyperdial.cli.advice import print_advice

    spec = load_spec(spec_path)
    print_advice(spec, _console(), seconds_per_trial=seconds_per_trial, n_workers=jobs)


@app.command()
def studies(storage: StorageOption = DEFAULT_STORAGE) -> None:
    """List the studies in a storage with their trial counts and best values."""
    from hyperdial.cli.render import studies_table

    resolved = _open_storage(storage, must_exist=True)
    rows = []
    for info in resolved.list_studies():
        study = _read_study(info.name, resolved)
        rows.append((info, study.history()))
    if not rows:
        _console().print(f"No studies in {storage}.")
        return
    console = _console()
    console.print(studies_table(rows, console.width))


# ---------------------------------------------------------------------------- show
@app.command()
def show(
    study: StudyArgument,
    storage: StorageOption = DEFAULT_STORAGE,
    top: Annotated[int, typer.Option("--top", min=1, help="Trials to list.")] = 10,
) -> None:
    """Show a study's best trials (or Pareto front), its scheduler and why trials were pruned."""
    from hyperdial.cli.render import print_study

    loaded = _read_study(study, _open_storage(storage, must_exist=True))
    record = loaded.user_attrs.get("scheduler")
    print_study(_console(), study, loaded.history(), top=top, scheduler=record)


app.command(name="report")(_report)


# ---------------------------------------------------------------------------- export
class ExportFormat(str, enum.Enum):
    """File formats of ``hyperdial export``."""

    CSV = "csv"
    JSON = "json"


@app.command()
def export(
    study: StudyArgument,
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ExportFormat.CSV,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    storage: StorageOption = DEFAULT_STORAGE,
) -> None:
    """Write all trials of a study as CSV (one column per parameter) or JSON."""
    from hyperdial.cli.export import to_csv, to_json

    if output is not None:
        _check_output(output, storage)
    loaded = _read_study(study, _open_storage(storage, must_exist=True))
    write = to_csv if format is ExportFormat.CSV else to_json
    trials = loaded.trials
    n_trials = len(trials)
    text = write(loaded.study_name, loaded.directions, trials)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HyperdialError(f"cannot write {output}: {exc.strerror or exc}.") from None
    typer.echo(f"wrote {n_trials} trials to {output}", err=True)


# ---------------------------------------------------------------------------- enqueue
def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise HyperdialError(f"--param must read name=value; got {text!r}.")
    value = load_yaml(raw, f"--param {name}") if raw.strip() else None
    if not (value is None or isinstance(value, (str, int, float, bool))):
        raise HyperdialError(f"--param {name}: the value must be a scalar; got {raw!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise HyperdialError(f"--param {name}: the value must be finite; got {raw!r}.")
    return name, value


@app.command()
def enqueue(
    study: StudyArgument,
    param: Annotated[
        list[str],
        typer.Option("--param", "-p", help="name=value, read as YAML (0.01, 64, rbf); repeat it."),
    ],
    storage: StorageOption = DEFAULT_STORAGE,
) -> None:
    """Queue a configuration; the study's next trial runs it before sampling.

    Parameters left out are sampled. Values are checked against the parameters the study has
    already seen.
    """

    params: dict[str, Any] = {}
    for text in param:
        name, value = _parse_param(text)
        if name in params:
            raise HyperdialError(
                f"--param {name} is given twice ({params[name]!r} and {value!r}); give it once."
            )
        params[name] = value
    loaded = _read_study(study, _open_storage(storage, must_exist=True))
    seen = {name for t in loaded.trials for name in t.params}
    unseen = sorted(set(params) - seen)
    if seen and unseen:
        typer.echo(
            f"warning: {study!r} has no trial with {', '.join(map(repr, unseen))} yet (its "
            f"parameters: {', '.join(sorted(seen))}); the objective must suggest "
            f"{'it' if len(unseen) == 1 else 'them'} for the value to be used.",
            err=True,
        )
    with warnings.catch_warnings():  # the line above says it the command line's way
        warnings.simplefilter("ignore", HyperdialWarning)
        trial = loaded.enqueue(params)
    shown = ", ".join(f"{k}={v!r}" for k, v in trial.fixed_params.items())
    typer.echo(f"enqueued trial {trial.number} of {study!r}: {shown}")


app.command("reproduce")(reproduce_command)


def main() -> None:
    """Run the ``hyperdial`` command line (the console script's entry point)."""
    app(prog_name="hyperdial")
