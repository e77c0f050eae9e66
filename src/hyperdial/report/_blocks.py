"""The pieces a report is made of, the facts every section shares, and text formatting.

Sections are built once as plain blocks (text, notes, tables, charts); the HTML and Markdown
writers only lay them out. A chart is a function called by the HTML writer alone, so the
Markdown report never builds a figure.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial.exceptions import HyperdialError
from hyperdial.history import History
from hyperdial.plot import _common as plot_common
from hyperdial.space import Categorical, Distribution, Float, Int
from hyperdial.trial import FrozenTrial

if TYPE_CHECKING:
    from hyperdial.study import Study

_logger = logging.getLogger(__name__)

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Text:
    """A paragraph; line breaks are kept."""

    text: str


@dataclass(frozen=True)
class Code:
    """Preformatted text, e.g. YAML to copy."""

    text: str
    language: str = ""


@dataclass(frozen=True)
class Note:
    """A short remark, e.g. why a section has nothing to show."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``only`` limits it to one format (``"html"`` or ``"md"``)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""
    only: str | None = None


@dataclass(frozen=True)
class Pairs:
    """A two-column table of names and values."""

    rows: Sequence[tuple[str, str]]
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    """A figure, built only when the HTML report is written."""

    key: str
    make: Callable[[], Any]


Block = Text | Code | Note | Table | Pairs | Chart


@dataclass
class Section:
    """A titled part of the report."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


class Unavailable(Exception):
    """An analysis is missing from this installation."""


class Context:
    """What every section reads: the history, the study's attributes and cached analyses."""

    def __init__(self, study: Study | History, owner: str) -> None:
        self.history = plot_common.as_history(study, owner)
        self.name: str | None = getattr(study, "study_name", None)
        attrs = getattr(study, "user_attrs", None)
        self.attrs: Mapping[str, JSON] = attrs if isinstance(attrs, Mapping) else {}
        self.directions: tuple[Direction, ...] = self.history.directions
        self.done = [t for t in self.history.completed if t.values is not None]
        self._cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}

    @property
    def n_objectives(self) -> int:
        """Return the number of objectives."""
        return len(self.directions)

    def analyse(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Return ``hyperdial.analysis.<name>(history, *args, **kwargs)``, computed once.

        Raises:
            Unavailable: this installation has no such analysis.
            Exception: whatever the analysis raised (also remembered).
        """
        key = (name, tuple(args) + tuple(sorted(kwargs.items())))
        if key not in self._cache:
            try:
                from hyperdial import analysis

                function = getattr(analysis, name, None)
                if function is None:
                    raise Unavailable(f"hyperdial.analysis.{name} is not available.")
                self._cache[key] = (True, function(self.history, *args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - a section shows it as a note
                _logger.debug("report: %s failed", name, exc_info=True)
                self._cache[key] = (False, exc)
        ok, value = self._cache[key]
        if not ok:
            raise value
        return value

    def _key(self, objective: int) -> Callable[[FrozenTrial], tuple[float, int]]:
        s = plot_common.sign(self.directions[objective])
        return lambda t: (s * plot_common.value_of(t, objective), t.number)

    def best(self, objective: int = 0) -> FrozenTrial | None:
        """Return the completed trial best on one objective (lowest number on ties)."""
        return min(self.done, key=self._key(objective)) if self.done else None

    def ranked(self, trials: Sequence[FrozenTrial] | None = None) -> list[FrozenTrial]:
        """Return completed ``trials`` (default: all) best first on the first objective."""
        return sorted(self.done if trials is None else trials, key=self._key(0))


def why(exc: BaseException) -> str:
    """Return an exception as a short sentence for a note."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (HyperdialError, ValueError, Unavailable)):
        return text
    return f"{type(exc).__name__}: {text}"


def number(value: float | None) -> str:
    """Return a short text for a number (``-`` for ``None``).

    Example:
        >>> number(0.000123456789), number(None), number(3)
        ('0.000123457', '-', '3')
    """
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.6g}"


def param(value: ParamValue) -> str:
    """Return a short text for a parameter value."""
    if isinstance(value, float):
        return number(value)
    return "None" if value is None else str(value)


def values(trial: FrozenTrial) -> str:
    """Return a trial's objective values, comma-separated (``-`` when it has none)."""
    if trial.values is None:
        return "-"
    return ", ".join(number(v) for v in trial.values)


def describe(dist: Distribution | None) -> str:
    """Return a distribution as text, e.g. ``float [0.0001, 0.1] log``.

    Example:
        >>> describe(Int(1, 9, step=2)), describe(Categorical(["a", "b"]))
        ('int [1, 9] step 2', 'categorical {a, b}')
    """
    if isinstance(dist, Categorical):
        return "categorical {" + ", ".join(param(c) for c in dist.choices) + "}"
    if isinstance(dist, (Float, Int)):
        kind = "float" if isinstance(dist, Float) else "int"
        text = f"{kind} [{number(dist.low)}, {number(dist.high)}]"
        if dist.log:
            text += " log"
        if dist.step is not None and not (isinstance(dist, Int) and dist.step == 1):
            text += f" step {number(dist.step)}"
        return text
    return "-" if dist is None else str(dist)


def first_line(text: str | None, limit: int = 120) -> str:
    """Return the telling line of a message: for a traceback, the exception's own line."""
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[0].strip()
    if line.startswith("Traceback"):
        tail = [i for i, t in enumerate(lines) if not t.startswith(" ")]
        line = lines[tail[-1]].strip() if tail else lines[-1].strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."


def duration(seconds: float | None) -> str:
    """Return a duration as text, e.g. ``2 h 03 min`` or ``4.2 s``.

    Example:
        >>> duration(7380), duration(4.21), duration(None)
        ('2 h 03 min', '4.21 s', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def json_text(value: JSON) -> str:
    """Return a JSON value as compact text (mappings as ``k=v`` pairs)."""
    if value is None:
        return NOT_RECORDED
    return _json_inner(value)


def _json_inner(value: JSON) -> str:
    if value is None:
        return "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_json_inner(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_json_inner(v) for v in value) + "]"
    if isinstance(value, float):
        return number(value)
    return str(value)
