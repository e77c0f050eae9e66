"""Schedulers a spec may name, and how the CLI builds them.

Example:
    >>> spec = parse_scheduler({"name": "hyperband", "min_resource": 1, "max_resource": 27})
    >>> build_scheduler(spec).settings()["max_resource"]
    27
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyperdial._types import JSON
from hyperdial.exceptions import HyperdialError, SpecError

if TYPE_CHECKING:
    from hyperdial.schedulers import Scheduler

__all__ = ["SCHEDULERS", "SchedulerSpec", "build_scheduler", "parse_scheduler"]

SCHEDULERS: tuple[str, ...] = (
    "auto",
    "none",
    "median",
    "percentile",
    "asha",
    "successive_halving",
    "hyperband",
    "bohb",
    "pbt",
)
"""Scheduler names a spec may use (``none`` never prunes; ``auto`` is the study's default)."""

_CLASSES = {
    "auto": "AutoScheduler",
    "none": "NoScheduler",
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "asha": "ASHA",
    "successive_halving": "SuccessiveHalving",
    "hyperband": "Hyperband",
    "bohb": "BOHB",
    "pbt": "PBT",
}


@dataclass(frozen=True)
class SchedulerSpec:
    """Which scheduler to build and its keyword arguments.

    Attributes:
        name: One of :data:`SCHEDULERS`.
        options: Keyword arguments of the scheduler's constructor.
    """

    name: str
    options: Mapping[str, JSON] = field(default_factory=dict)


def _scheduler_class(name: str) -> Any:
    import hyperdial.schedulers

    return getattr(hyperdial.schedulers, _CLASSES[name])


def _parameters(name: str) -> list[inspect.Parameter]:
    """Return the constructor's parameters a spec may set, in their order."""
    signature = inspect.signature(_scheduler_class(name).__init__)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p for p in list(signature.parameters.values())[1:] if p.kind in kinds]


def _check_options(name: str, options: Mapping[str, JSON]) -> None:
    parameters = _parameters(name)
    known = [p.name for p in parameters]
    for key in options:
        if key not in known:
            if not known:
                raise SpecError(f"scheduler: {name!r} takes no options; got {key!r}.")
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SpecError(
                f"scheduler: {name!r} has no option {key!r}.{hint} "
                f"Its options: {', '.join(known)}."
            )
    for p in parameters:
        if p.default is inspect.Parameter.empty and p.name not in options:
            raise SpecError(
                f"scheduler: {name!r} needs the option {p.name!r} "
                f"(e.g. {{name: {name}, {p.name}: ...}})."
            )


def parse_scheduler(value: JSON) -> SchedulerSpec | None:
    """Check the ``scheduler:`` entry of a spec: a name or ``{name: ..., **options}``.

    Option names are checked against the scheduler's constructor; their values are checked
    by :func:`build_scheduler`.

    Raises:
        SpecError: the scheduler is unknown, an option is unknown or a required one is
            missing, or the entry is malformed.

    Example:
        >>> parse_scheduler({"name": "median", "n_warmup_steps": 2})
        SchedulerSpec(name='median', options={'n_warmup_steps': 2})
    """
    if value is None:
        return None
    if isinstance(value, str):
        name, options = value, {}
    elif isinstance(value, Mapping) and isinstance(value.get("name"), str):
        name = value["name"]
        options = {str(k): v for k, v in value.items() if k != "name"}
    else:
        raise SpecError(
            f"scheduler: must be a name or a mapping with a 'name' key; got {value!r}."
        )
    name = name.strip().lower()
    if name not in SCHEDULERS:
        raise SpecError(f"scheduler: unknown scheduler {name!r}; use one of {list(SCHEDULERS)!r}.")
    _check_options(name, options)
    return SchedulerSpec(name, options)


def build_scheduler(spec: SchedulerSpec) -> Scheduler:
    """Build the scheduler ``spec`` names (``none`` gives a :class:`NoScheduler`).

    Raises:
        SpecError: an option's value is invalid; the message is the scheduler's own.

    Example:
        >>> type(build_scheduler(SchedulerSpec("none"))).__name__
        'NoScheduler'
    """
    cls = _scheduler_class(spec.name)
    try:
        return cls(**dict(spec.options))  # type: ignore[no-any-return]  # class found by name
    except TypeError as exc:
        raise SpecError(f"scheduler: invalid options for {spec.name!r}: {exc}.") from None
    except HyperdialError as exc:
        raise SpecError(f"scheduler: {exc}") from None
