"""Objectives that run an external command per trial, without a shell.

A :class:`CommandTemplate` is split into arguments with :func:`shlex.split` *before* the
parameter values are substituted, so a value is always exactly one argument and is never
interpreted by a shell. :class:`CommandObjective` runs the rendered command, kills it (with its
children) after a per-trial timeout and reads the objective value from the last non-empty line
of its standard output; ``report STEP VALUE`` lines, read while it runs, are intermediate values
that let the study's scheduler stop it early.

Example:
    >>> from hyperdial import SearchSpace
    >>> space = SearchSpace.from_dict({"lr": {"type": "float", "low": 0.001, "high": 0.1}})
    >>> CommandTemplate.parse("python train.py --lr {lr}", space).render({"lr": 0.01})
    ['python', 'train.py', '--lr', '0.01']
    >>> parse_output("epoch 3\\n0.25\\n").values
    0.25
    >>> parse_report("report 3 0.25")
    (3, 0.25)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hyperdial._types import JSON, ParamValue
from hyperdial.cli._process import End, run, shorten
from hyperdial.exceptions import HyperdialError, InvalidValueError, SpecError, TrialPruned

if TYPE_CHECKING:
    from hyperdial.space import SearchSpace
    from hyperdial.trial import Trial

__all__ = [
    "CommandError",
    "CommandObjective",
    "CommandOutcome",
    "CommandTemplate",
    "format_value",
    "parse_output",
    "parse_report",
]

# ``{name}`` is a placeholder; ``{{`` and ``}}`` are literal braces; other braces stay as written
# (so ``python -c "print({'value': 1})"`` needs no escaping).
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][\w.\-]*)\}")
_LINEAGE_VARIABLES = ("HYPERDIAL_BUDGET", "HYPERDIAL_PARENT")


class CommandError(HyperdialError):
    """A trial's command failed: non-zero exit, timeout, or output without a value."""


def format_value(value: ParamValue) -> str:
    """Return the text a parameter value takes in a command line.

    Numbers use Python's shortest round-trip form, booleans and ``None`` their YAML spelling
    (``true``, ``false``, ``null``), strings are passed as they are.

    Example:
        >>> [format_value(v) for v in (0.01, 64, True, None, "rbf")]
        ['0.01', '64', 'true', 'null', 'rbf']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class CommandTemplate:
    """A command line with ``{name}`` placeholders, split into arguments once.

    Rendering substitutes each placeholder inside its argument. An argument that mentions a
    parameter that is inactive under its condition is dropped; when that argument is exactly
    ``{name}`` and follows an option flag (``--gamma {gamma}``), the flag is dropped too.

    Args:
        args: The template's arguments, after :func:`shlex.split`.
    """

    args: tuple[str, ...]

    @classmethod
    def parse(cls, template: str | Sequence[str], space: SearchSpace) -> CommandTemplate:
        """Split ``template`` and check its placeholders against ``space``.

        Args:
            template: A command line (split like a POSIX shell would, without running one) or
                a list of arguments.
            space: The parameters the command receives; each must appear in the template and
                every placeholder must name one of them.

        Raises:
            SpecError: the template is empty or unbalanced, names an unknown parameter, or
                leaves a parameter of the space unused.
        """
        if isinstance(template, str):
            try:
                args = tuple(shlex.split(template))
            except ValueError as exc:
                raise SpecError(f"command: cannot split {template!r}: {exc}.") from None
        elif isinstance(template, Sequence) and all(isinstance(a, str) for a in template):
            args = tuple(template)
        else:
            raise SpecError(f"command: must be a string or a list of strings; got {template!r}.")
        if not args:
            raise SpecError("command: must not be empty.")
        result = cls(args)
        used = result.names
        unknown = sorted(used - set(space))
        if unknown:
            raise SpecError(
                f"command: placeholder {{{unknown[0]}}} names no parameter of the space; "
                f"the space has {list(space)!r}."
            )
        unused = [name for name in space if name not in used]
        if unused:
            raise SpecError(
                f"command: parameter {unused[0]!r} is never passed to the command; "
                f"add {{{unused[0]}}} to it or remove the parameter from the space."
            )
        return result

    @property
    def names(self) -> frozenset[str]:
        """Return the parameter names the template mentions."""
        return frozenset(m.group(1) for a in self.args for m in _TOKEN.finditer(a) if m.group(1))

    @property
    def program(self) -> str:
        """Return the first argument: the program to run."""
        return self.args[0]

    def check_program(self, cwd: Path) -> None:
        """Check that the program exists, relative to ``cwd`` when it holds a path.

        Raises:
            SpecError: the program cannot be found or is not executable.
        """
        program = self.program
        if _TOKEN.search(program):
            return  # decided per trial
        if os.sep in program or (os.altsep and os.altsep in program):
            path = Path(program) if Path(program).is_absolute() else cwd / program
            if not path.is_file() or not os.access(path, os.X_OK):
                raise SpecError(f"command: program {program!r} is not an executable file.")
        elif shutil.which(program) is None:
            raise SpecError(f"command: program {program!r} is not found on PATH.")

    def render(self, params: Mapping[str, ParamValue]) -> list[str]:
        """Return the arguments for one configuration (inactive parameters left out).

        Example:
            >>> t = CommandTemplate(("run", "--kernel", "{kernel}", "--gamma", "{gamma}"))
            >>> t.render({"kernel": "linear"})
            ['run', '--kernel', 'linear']
        """
        out: list[str] = []
        flag_index: int | None = None  # position in ``out`` of a literal option flag
        for arg in self.args:
            names = [m.group(1) for m in _TOKEN.finditer(arg) if m.group(1)]
            if any(name not in params for name in names):
                if flag_index is not None and arg == f"{{{names[0]}}}" and len(names) == 1:
                    del out[flag_index]
                flag_index = None
                continue
            out.append(_TOKEN.sub(lambda m: _substitute(m, params), arg))
            is_flag = not names and arg.startswith("-") and len(arg) > 1
            flag_index = len(out) - 1 if is_flag else None
        return out


def _substitute(match: re.Match[str], params: Mapping[str, ParamValue]) -> str:
    text = match.group(0)
    if text == "{{":
        return "{"
    if text == "}}":
        return "}"
    return format_value(params[match.group(1)])


@dataclass(frozen=True)
class CommandOutcome:
    """What a command's standard output said.

    Attributes:
        values: One float, or a list of floats for several objectives.
        attrs: The other keys of a JSON object output, kept as user attributes.
    """

    values: float | list[float]
    attrs: Mapping[str, JSON] = field(default_factory=dict)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def parse_output(stdout: str) -> CommandOutcome:
    """Read the objective value(s) from the last non-empty line of ``stdout``.

    The line holds a number (``0.25``, ``nan``), a JSON list of numbers (several objectives), or
    a JSON object with a ``"value"`` or ``"values"`` key whose other keys become user attributes.

    Raises:
        CommandError: there is no such line or it holds none of these.

    Example:
        >>> parse_output('{"value": 0.5, "accuracy": 0.9}')
        CommandOutcome(values=0.5, attrs={'accuracy': 0.9})
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise CommandError(
            "the command printed nothing on stdout; its last line must hold the objective value."
        )
    line = lines[-1]
    try:
        data: object = json.loads(line)
    except ValueError:
        try:
            data = float(line)
        except ValueError:
            data = None
    attrs: dict[str, JSON] = {}
    if isinstance(data, dict):
        key = "values" if "values" in data else "value"
        attrs = {k: v for k, v in data.items() if k not in ("value", "values")}
        data = data.get(key)
    number = _number(data)
    if number is not None:
        return CommandOutcome(number, attrs)
    if isinstance(data, list) and data:
        numbers = [_number(v) for v in data]
        if all(n is not None for n in numbers):
            return CommandOutcome([n for n in numbers if n is not None], attrs)
    raise CommandError(
        "the last line of stdout must be a number, a JSON list of numbers or a JSON object "
        f'with a "value" or "values" key; got {shorten(line, 200)!r}.'
    )


_REPORT = re.compile(r"^report\s+([-+]?[0-9]\S*)(?:\s+(.*))?$")
_REPORT_FORM = (
    "write 'report STEP VALUE' (STEP an int >= 0, VALUE a number or a JSON list of numbers)"
)


def parse_report(line: str) -> tuple[int, float | list[float]] | None:
    """Read a ``report STEP VALUE`` line; return ``None`` for any other line.

    A line that starts with the word ``report`` and a number is a report line: ``STEP`` must
    be an int >= 0 and ``VALUE`` a number or a JSON list of numbers (several objectives).

    Raises:
        CommandError: the line is a report line, but malformed.

    Example:
        >>> parse_report("report 3 0.25"), parse_report("report 3 [0.5, 2]")
        ((3, 0.25), (3, [0.5, 2.0]))
        >>> parse_report("0.25") is None
        True
    """
    match = _REPORT.match(line.strip())
    if match is None:
        return None
    step_text, value_text = match.group(1), (match.group(2) or "").strip()
    step = int(step_text) if step_text.isascii() and step_text.isdigit() else -1
    if step < 0:
        raise CommandError(
            f"stdout line {shorten(line, 200)!r}: STEP must be an int >= 0; {_REPORT_FORM}."
        )
    value: float | list[float] | None = None
    if value_text.startswith("["):
        try:
            data = json.loads(value_text)
        except ValueError:
            data = None
        numbers = [_number(v) for v in data] if isinstance(data, list) else []
        if numbers and all(n is not None for n in numbers):
            value = [n for n in numbers if n is not None]
    else:
        try:
            value = float(value_text)
        except ValueError:
            pass
    if value is None:
        raise CommandError(
            f"stdout line {shorten(line, 200)!r}: VALUE must be a number or a JSON list of "
            f"numbers; {_REPORT_FORM}."
        )
    return step, value


class _Reports:
    """Pass a trial's report lines to it, and keep its last other line (the value)."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.value_line = ""
        self.n_reports = 0
        self.pruned = False
        self.error: str | None = None

    def on_line(self, line: str) -> bool:
        """Handle one stdout line; return ``True`` to stop the command."""
        if not line.strip():
            return False
        try:
            report = parse_report(line)
            if report is None:
                self.value_line = line
                return False
            step, value = report
            self.trial.report(value, step)
        except (CommandError, InvalidValueError) as exc:  # malformed, or a wrong value count
            self.error = str(exc)
            return True
        self.n_reports += 1
        self.pruned = self.trial.should_prune()
        return self.pruned


def _budget_text(budget: float) -> str:
    """Return a budget as an int when it is a whole number (``27``, not ``27.0``)."""
    if isinstance(budget, float) and budget.is_integer():
        return str(int(budget))
    return format_value(budget)


class CommandObjective:
    """Run a command per trial and read its objective value(s) from stdout.

    Each call draws the trial's parameters with :meth:`Trial.suggest_space`, renders the
    template, runs it (no shell; working directory ``cwd``) and returns the parsed value: the
    last non-empty stdout line that is not a report line (see :func:`parse_output`). A
    non-zero exit, a timeout or an unreadable output raises :class:`CommandError`, which the
    study records as a FAILED trial with the message as its error. The command line, exit code
    (``None`` when it was killed) and the tails of stdout and stderr are stored as user
    attributes (``command``, ``returncode``, ``stdout_tail``, ``stderr_tail``).

    **Early stopping.** Stdout is read line by line while the command runs. A line
    ``report STEP VALUE`` (``STEP`` an int >= 0, the resource used so far such as an epoch;
    ``VALUE`` a number, or a JSON list of numbers for several objectives) calls
    ``trial.report(VALUE, STEP)`` and then ``trial.should_prune()``. When the study's scheduler
    says prune, the command and its children are killed and :class:`~hyperdial.TrialPruned` is
    raised: the study records the trial PRUNED, with its last reported value and the
    scheduler's reason. A report line that is malformed (see :func:`parse_report`) kills the
    command and raises :class:`CommandError`.

    The command's environment adds to the current one ``HYPERDIAL_TRIAL_NUMBER``,
    ``PYTHONUNBUFFERED=1`` (unless set; so a Python command's lines arrive as printed),
    whatever ``env`` holds and, under a scheduler that launches trials by lineage,
    ``HYPERDIAL_BUDGET`` (``trial.budget``: the resource to train up to, an int when whole)
    and ``HYPERDIAL_PARENT`` (``trial.parent``: the number of the trial to resume from; a
    command keeps its own checkpoints, e.g. in a file named after its trial number).

    Args:
        template: The command line to render.
        space: The parameters to draw.
        cwd: The working directory of the command.
        timeout_s: Seconds after which the command and its children are killed.
        env: Extra environment variables.

    Example:
        >>> from hyperdial import FixedTrial, SearchSpace
        >>> space = SearchSpace.from_dict({"x": {"type": "int", "low": 0, "high": 9}})
        >>> code = "print('report 0', {x} + 1); print({x} ** 2)"
        >>> template = CommandTemplate.parse(["python", "-c", code], space)
        >>> trial = FixedTrial({"x": 3})
        >>> CommandObjective(template, space, cwd=Path("."))(trial), trial.intermediate
        (9.0, {0: 4.0})
    """

    def __init__(
        self,
        template: CommandTemplate,
        space: SearchSpace,
        *,
        cwd: Path,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"CommandObjective: timeout_s must be > 0; got {timeout_s!r}.")
        self.template = template
        self.space = space
        self.cwd = Path(cwd)
        self.timeout_s = timeout_s
        self.env = dict(env or {})

    def _environment(self, trial: Trial) -> dict[str, str]:
        # An outer run's lineage variables must not leak into a trial without them.
        env = {k: v for k, v in os.environ.items() if k not in _LINEAGE_VARIABLES}
        # Python buffers a pipe in blocks: report lines would arrive at exit, too late to stop.
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self.env)
        env["HYPERDIAL_TRIAL_NUMBER"] = str(trial.number)
        if trial.budget is not None:
            env["HYPERDIAL_BUDGET"] = _budget_text(trial.budget)
        if trial.parent is not None:
            env["HYPERDIAL_PARENT"] = str(trial.parent)
        return env

    def __call__(self, trial: Trial) -> float | list[float]:
        """Run the command for ``trial`` and return its objective value(s).

        Raises:
            CommandError: the command failed, timed out, printed no value or a malformed
                report line.
            TrialPruned: the scheduler stopped the trial after a report line.
        """
        params = trial.suggest_space(self.space)
        args = self.template.render(params)
        trial.set_user_attr("command", shlex.join(args))
        reports = _Reports(trial)
        try:
            done = run(args, self.cwd, self.timeout_s, self._environment(trial), reports.on_line)
        except OSError as exc:
            raise CommandError(f"cannot run {args[0]!r}: {exc.strerror or exc}.") from None
        trial.set_user_attr("returncode", done.returncode)
        trial.set_user_attr("stdout_tail", done.stdout)
        trial.set_user_attr("stderr_tail", done.stderr)
        if reports.error is not None:
            raise CommandError(reports.error)
        if reports.pruned:
            raise TrialPruned(f"trial {trial.number} pruned after {reports.n_reports} reports")
        if done.end is End.TIMED_OUT:
            raise CommandError(f"timed out after {self.timeout_s:g} s{_stderr_note(done.stderr)}")
        if done.returncode != 0:
            raise CommandError(
                f"the command exited with code {done.returncode}{_stderr_note(done.stderr)}"
            )
        try:
            if not reports.value_line and reports.n_reports:
                raise CommandError(
                    "the command printed only report lines; print the objective value on a "
                    "last line of its own."
                )
            outcome = parse_output(reports.value_line)
        except CommandError as exc:
            lines = [line for line in done.stderr.splitlines() if line.strip()][-5:]
            more = "\nstderr ends with:\n" + "\n".join(lines) if lines else ""
            raise CommandError(f"{exc}{more}") from None
        for key, value in outcome.attrs.items():
            trial.set_user_attr(str(key), value)
        return outcome.values  # NaN or a wrong count: the study fails the trial with a reason


def _stderr_note(stderr_tail: str) -> str:
    """Return ``": <last stderr line>"`` and, below it, the last lines of stderr."""
    lines = [line for line in stderr_tail.splitlines() if line.strip()]
    if not lines:
        return "."
    note = f": {shorten(lines[-1].strip(), 200)}"
    if len(lines) > 1:
        note += "\nstderr ends with:\n" + "\n".join(lines[-5:])
    return note
