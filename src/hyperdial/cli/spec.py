"""Study specifications: the YAML file that ``hyperdial tune`` reads.

:func:`load_spec` reads and checks the whole file before anything touches a storage, so a bad
spec fails with one :class:`~hyperdial.exceptions.SpecError` naming the key or parameter.

Example:
    >>> spec = spec_from_dict(
    ...     {"objective": "train:fit", "space": {"lr": {"type": "float", "low": 1e-4, "high": 1}}},
    ...     name="demo",
    ... )
    >>> spec.study, spec.storage, spec.directions
    ('demo', 'sqlite:///hyperdial.db', ('minimize',))
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial._yaml import load_yaml
from hyperdial.cli.command import CommandTemplate
from hyperdial.cli.sampler import SamplerSpec, build_sampler, parse_grid, parse_sampler
from hyperdial.cli.scheduler import SchedulerSpec, build_scheduler, parse_scheduler
from hyperdial.exceptions import HyperdialError, SpecError
from hyperdial.space import SearchSpace

if TYPE_CHECKING:
    from hyperdial.samplers import Sampler
    from hyperdial.schedulers import Scheduler

__all__ = ["DEFAULT_STORAGE", "OBJECTIVE_PATTERN", "StudySpec", "load_spec", "spec_from_dict"]

DEFAULT_STORAGE = "sqlite:///hyperdial.db"
"""The storage of the CLI when neither the spec nor ``--storage`` names one."""

_KEYS = (
    "study",
    "storage",
    "direction",
    "directions",
    "sampler",
    "scheduler",
    "seed",
    "budget",
    "jobs",
    "objective",
    "command",
    "trial_timeout_s",
    "space",
    "grid",
)
_BUDGET_KEYS = ("trials", "timeout_s")
OBJECTIVE_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class StudySpec:
    """A checked study specification; see ``docs/cli.md`` for the YAML form.

    Attributes:
        study: The study's name.
        storage: The storage URL.
        directions: ``"minimize"`` or ``"maximize"``, one per objective.
        sampler: The sampler to build, or ``None`` for the study's default.
        scheduler: The scheduler to build, or ``None`` for the study's default.
        seed: The study's seed.
        n_trials: How many finished trials the study should hold (its total, so a rerun
            resumes), or ``None`` for no limit.
        timeout_s: Seconds this run may take, or ``None``.
        n_jobs: Trials run in parallel.
        objective: ``"module:function"``, or ``None`` when ``command`` is set.
        command: The command template, or ``None`` when ``objective`` is set.
        trial_timeout_s: Seconds after which a trial's command is killed.
        space: The declared search space, if any.
        grid: Values per parameter for the grid sampler, if given explicitly.
        base_dir: The spec file's directory: on ``sys.path`` for ``objective`` and the
            working directory of ``command``.
    """

    study: str
    storage: str = DEFAULT_STORAGE
    directions: tuple[str, ...] = ("minimize",)
    sampler: SamplerSpec | None = None
    scheduler: SchedulerSpec | None = None
    seed: int | None = None
    n_trials: int | None = None
    timeout_s: float | None = None
    n_jobs: int = 1
    objective: str | None = None
    command: CommandTemplate | None = None
    trial_timeout_s: float | None = None
    space: SearchSpace | None = None
    grid: Mapping[str, tuple[ParamValue, ...]] | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def with_overrides(self, **changes: object) -> StudySpec:
        """Return a copy with the given fields replaced; ``None`` values are ignored.

        Raises:
            SpecError: a field name is unknown.

        Example:
            >>> spec = StudySpec("a", objective="m:f")
            >>> spec.with_overrides(n_trials=5, seed=None).n_trials
            5
        """
        unknown = [k for k in changes if k not in self.__dataclass_fields__]
        if unknown:
            raise SpecError(f"StudySpec: unknown fields {unknown!r}.")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

    def make_sampler(self) -> Sampler | None:
        """Build the sampler the spec names (``None`` leaves the choice to the study).

        Raises:
            SpecError: the sampler is not available, or its options are invalid.
        """
        if self.sampler is None:
            return None
        return build_sampler(self.sampler, self.space, self.grid)

    def make_scheduler(self) -> Scheduler | None:
        """Build the scheduler the spec names (``None`` leaves the choice to the study).

        Raises:
            SpecError: an option is invalid, or the scheduler handles one objective and the
                spec has several.
        """
        if self.scheduler is None:
            return None
        scheduler = build_scheduler(self.scheduler)
        if len(self.directions) > 1 and not scheduler.supports_multi_objective:
            raise SpecError(
                f"scheduler: {self.scheduler.name!r} handles one objective; this study has "
                f"{len(self.directions)}. Use one that ranks by Pareto front, e.g. asha or "
                "hyperband."
            )
        return scheduler


def load_spec(path: str | Path) -> StudySpec:
    """Read and check a study specification file.

    The study's name defaults to the file name without its extension.

    Raises:
        SpecError: the YAML is invalid, a key is unknown, or a value is wrong; the message
            names the file and the key or parameter.
        OSError: the file cannot be read.
    """
    path = Path(path)
    text = _read_text(path, path.name)
    data = load_yaml(text, path.name)
    try:
        return spec_from_dict(data, name=path.stem, base_dir=path.resolve().parent)
    except SpecError as exc:
        raise SpecError(f"{path.name}: {exc}") from None


def spec_from_dict(data: JSON, *, name: str, base_dir: Path | None = None) -> StudySpec:
    """Check a parsed specification and return it as a :class:`StudySpec`.

    Args:
        data: The mapping read from YAML.
        name: The study name used when ``data`` has no ``study`` key.
        base_dir: The directory relative paths are resolved against (default: the current one).

    Raises:
        SpecError: a key is unknown or a value is wrong.
    """
    if not isinstance(data, Mapping):
        got = "an empty file" if data is None else type(data).__name__
        raise SpecError(f"a spec must be a mapping of keys to values; got {got}.")
    _check_keys(data, _KEYS, "")
    base_dir = Path.cwd() if base_dir is None else Path(base_dir)
    space = _space(data.get("space"), base_dir)
    objective, command = _objective(data, space)
    sampler = parse_sampler(data.get("sampler"))
    scheduler = parse_scheduler(data.get("scheduler"))
    grid = parse_grid(data.get("grid"), space)
    if grid is not None and (sampler is None or sampler.name != "grid"):
        raise SpecError("grid: is used only with sampler: grid.")
    trial_timeout_s = _positive(data, "trial_timeout_s", float)
    if trial_timeout_s is not None and command is None:
        raise SpecError(
            "trial_timeout_s: applies to command: objectives only (a Python function cannot "
            "be stopped safely)."
        )
    budget = data.get("budget")
    budget = {} if budget is None else budget
    if not isinstance(budget, Mapping):
        raise SpecError(f"budget: must be a mapping with {list(_BUDGET_KEYS)}; got {budget!r}.")
    _check_keys(budget, _BUDGET_KEYS, "budget.")
    spec = StudySpec(
        study=_study_name(data.get("study", name)),
        storage=_string(data, "storage", DEFAULT_STORAGE),
        directions=_directions(data),
        sampler=sampler,
        scheduler=scheduler,
        seed=_seed(data.get("seed"), "seed"),
        n_trials=_positive(budget, "trials", int, prefix="budget."),
        timeout_s=_positive(budget, "timeout_s", float, prefix="budget."),
        n_jobs=_positive(data, "jobs", int) or 1,
        objective=objective,
        command=command,
        trial_timeout_s=trial_timeout_s,
        space=space,
        grid=grid,
        base_dir=base_dir,
    )
    if command is not None:
        command.check_program(base_dir)
    spec.make_sampler()  # fail now, not after the study was created
    spec.make_scheduler()
    return spec


def _check_keys(data: Mapping[Any, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" Did you mean {prefix}{close[0]!r}?" if close else ""
            raise SpecError(f"unknown key {prefix}{key!r}.{hint} Known keys: {', '.join(known)}.")


def _string(data: Mapping[str, JSON], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{key}: must be a non-empty string; got {value!r}.")
    return value.strip()


def _study_name(value: JSON) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise SpecError(f"study: must be a non-empty name; got {value!r}.")
    return str(value).strip()


def _directions(data: Mapping[str, JSON]) -> tuple[str, ...]:
    if "direction" in data and "directions" in data:
        raise SpecError("direction: give either direction: or directions:, not both.")
    if "directions" in data:
        raw = data["directions"]
        key = "directions"
        if not isinstance(raw, list) or not raw:
            raise SpecError(f"directions: must be a non-empty list; got {raw!r}.")
    else:
        raw = [data.get("direction", "minimize")]
        key = "direction"
    try:
        return tuple(Direction.parse(d).value for d in raw)
    except ValueError as exc:
        raise SpecError(f"{key}: {exc}") from None


def _seed(value: JSON, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"{key}: must be an int >= 0; got {value!r}.")
    return value


def _positive(
    data: Mapping[str, JSON], key: str, kind: type[int] | type[float], prefix: str = ""
) -> Any:
    value = data.get(key)
    if value is None:
        return None
    accepted = int if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, accepted) or not 0 < value < math.inf:
        what = "an int >= 1" if kind is int else "a number > 0"
        raise SpecError(f"{prefix}{key}: must be {what}; got {value!r}.")
    return kind(value)


def _read_text(path: Path, what: str) -> str:
    """Return the UTF-8 text of ``path``; a file of another encoding is a :class:`SpecError`."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{what}: not a UTF-8 text file (byte {exc.start} is {data[exc.start]:#04x}); "
            "a spec is YAML text."
        ) from None


def _space(value: JSON, base_dir: Path) -> SearchSpace | None:
    if value is None:
        return None
    if isinstance(value, str):  # a separate YAML file, relative to the spec
        path = base_dir / value
        try:
            text = _read_text(path, f"space: {value}")
        except OSError as exc:
            raise SpecError(f"space: cannot read {value!r}: {exc.strerror or exc}.") from None
        value = load_yaml(text, value)
    if isinstance(value, Mapping) and not value:
        raise SpecError(
            "space: declares no parameters; declare at least one, or leave space: out and let "
            "the objective suggest its own."
        )
    try:
        return SearchSpace.from_dict(value)
    except HyperdialError as exc:
        raise SpecError(f"space: {exc}") from None


def _objective(
    data: Mapping[str, JSON], space: SearchSpace | None
) -> tuple[str | None, CommandTemplate | None]:
    objective, command = data.get("objective"), data.get("command")
    if objective is not None and command is not None:
        raise SpecError("objective: give either objective: or command:, not both.")
    if objective is None and command is None:
        raise SpecError(
            "objective: missing; give objective: module:function or command: a command line."
        )
    if objective is not None:
        if not isinstance(objective, str) or not OBJECTIVE_PATTERN.match(objective.strip()):
            raise SpecError(
                f"objective: must read 'module:function' (e.g. train:run); got {objective!r}."
            )
        return objective.strip(), None
    if space is None:
        raise SpecError("command: needs a space: whose parameters fill its {placeholders}.")
    return None, CommandTemplate.parse(command, space)  # type: ignore[arg-type]
