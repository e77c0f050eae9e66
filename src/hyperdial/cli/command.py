"""Objectives that run an external command per trial, without a shell.

A :class:`CommandTemplate` is split into arguments with :func:`shlex.split` *before* the
parameter values are substituted, so a value is always exactly one argument and is never
interpreted by a shell. :class:`CommandObjective` runs the rendered command, kills it (with its
children) after a per-trial timeout and reads the objective value from the last non-empty line
of its standard output.

Example:
    >>> from hyperdial import SearchSpace
    >>> space = SearchSpace.from_dict({"lr": {"type": "float", "low": 0.001, "high": 0.1}})
    >>> CommandTemplate.parse("python train.py --lr {lr}", space).render({"lr": 0.01})
    ['python', 'train.py', '--lr', '0.01']
    >>> parse_output("epoch 3\\n0.25\\n").values
    0.25
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import HyperdialError, SpecError

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
]

# ``{name}`` is a placeholder; ``{{`` and ``}}`` are literal braces; other braces stay as written
# (so ``python -c "print({'value': 1})"`` needs no escaping).
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][\w.\-]*)\}")
_TAIL_LINES = 20
_TAIL_CHARS = 2000
_KILL_GRACE_S = 5.0


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
        f'with a "value" or "values" key; got {_shorten(line, 200)!r}.'
    )


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def _tail(text: str) -> str:
    return _shorten("\n".join(text.rstrip().splitlines()[-_TAIL_LINES:]), _TAIL_CHARS)


@dataclass(frozen=True)
class _Completed:
    returncode: int | None  # None after a timeout
    stdout: str
    stderr: str


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and, on POSIX, every process of its session."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.kill()


def _run(
    args: Sequence[str], cwd: Path, timeout_s: float | None, env: Mapping[str, str]
) -> _Completed:
    # A new session lets a timeout kill grandchildren too (``subprocess.run`` kills only the
    # child and then waits forever if a grandchild holds the pipes open).
    proc = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=os.name == "posix",
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
        returncode: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill(proc)
        try:
            out, err = proc.communicate(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:  # a detached grandchild keeps the pipes open
            out, err = b"", b""
        returncode = None
    except BaseException:  # Ctrl-C: the child is in its own session, so end it here
        _kill(proc)
        proc.wait()
        raise
    return _Completed(returncode, _decode(out), _decode(err))


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


class CommandObjective:
    """Run a command per trial and read its objective value(s) from stdout.

    Each call draws the trial's parameters with :meth:`Trial.suggest_space`, renders the
    template, runs it (no shell; working directory ``cwd``) and returns the parsed value. A
    non-zero exit, a timeout or an unreadable output raises :class:`CommandError`, which the
    study records as a FAILED trial with the message as its error. The command line, exit code
    and the tails of stdout and stderr are stored as user attributes (``command``,
    ``returncode``, ``stdout_tail``, ``stderr_tail``).

    The command's environment adds ``HYPERDIAL_TRIAL_NUMBER`` (and whatever ``env`` holds) to
    the current one.

    Args:
        template: The command line to render.
        space: The parameters to draw.
        cwd: The working directory of the command.
        timeout_s: Seconds after which the command and its children are killed.
        env: Extra environment variables.

    Example:
        >>> from hyperdial import FixedTrial, SearchSpace
        >>> space = SearchSpace.from_dict({"x": {"type": "int", "low": 0, "high": 9}})
        >>> template = CommandTemplate.parse(["python", "-c", "print({x} ** 2)"], space)
        >>> CommandObjective(template, space, cwd=Path("."))(FixedTrial({"x": 3}))
        9.0
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

    def __call__(self, trial: Trial) -> float | list[float]:
        """Run the command for ``trial`` and return its objective value(s).

        Raises:
            CommandError: the command failed, timed out or printed no value.
        """
        params = trial.suggest_space(self.space)
        args = self.template.render(params)
        trial.set_user_attr("command", shlex.join(args))
        env = {**os.environ, **self.env, "HYPERDIAL_TRIAL_NUMBER": str(trial.number)}
        try:
            done = _run(args, self.cwd, self.timeout_s, env)
        except OSError as exc:
            raise CommandError(f"cannot run {args[0]!r}: {exc.strerror or exc}.") from None
        stdout_tail, stderr_tail = _tail(done.stdout), _tail(done.stderr)
        trial.set_user_attr("returncode", done.returncode)
        trial.set_user_attr("stdout_tail", stdout_tail)
        trial.set_user_attr("stderr_tail", stderr_tail)
        if done.returncode is None:
            raise CommandError(f"timed out after {self.timeout_s:g} s{_stderr_note(stderr_tail)}")
        if done.returncode != 0:
            raise CommandError(
                f"the command exited with code {done.returncode}{_stderr_note(stderr_tail)}"
            )
        try:
            outcome = parse_output(done.stdout)
        except CommandError as exc:
            lines = [line for line in stderr_tail.splitlines() if line.strip()][-5:]
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
    note = f": {_shorten(lines[-1].strip(), 200)}"
    if len(lines) > 1:
        note += "\nstderr ends with:\n" + "\n".join(lines[-5:])
    return note
