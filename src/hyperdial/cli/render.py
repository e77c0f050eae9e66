"""Rich tables and summaries the CLI prints about studies and trials."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console, Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial.history import History
from hyperdial.storage.base import StudyInfo
from hyperdial.trial import FrozenTrial, TrialState

__all__ = [
    "best_trials",
    "format_number",
    "print_study",
    "pruned_summary",
    "scheduler_line",
    "state_counts",
    "studies_table",
    "trials_table",
]

_MAX_PARAM_COLUMNS = 8
_MAX_REASON = 80
_MAX_PRUNE_REASONS = 3
_MODULE_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=\w+:)")


def format_number(value: float | None) -> str:
    """Return a short text for a value (6 significant digits; ``-`` for ``None``)."""
    return "-" if value is None else f"{value:.6g}"


def _format_param(value: ParamValue) -> str:
    if isinstance(value, float):
        return format_number(value)
    return "-" if value is None else str(value)


def _values(trial: FrozenTrial) -> str:
    if trial.values is None:
        return "-"
    return ", ".join(format_number(v) for v in trial.values)


def _first_line(text: str | None, limit: int = _MAX_REASON) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    line = lines[0].strip() if lines else ""
    if line.startswith("Traceback"):
        # The exception's own line follows the last indented frame line.
        frames = [i for i, text in enumerate(lines) if text.startswith(" ")]
        after = frames[-1] + 1 if frames else len(lines) - 1
        line = _MODULE_PATH.sub("", lines[min(after, len(lines) - 1)].strip())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def state_counts(trials: Sequence[FrozenTrial]) -> str:
    """Return e.g. ``"12 trials: 10 complete, 2 failed"``."""
    counts = Counter(t.state for t in trials)
    parts = [f"{counts[s]} {s.name.lower()}" for s in TrialState if counts[s]]
    noun = "trial" if len(trials) == 1 else "trials"
    return f"{len(trials)} {noun}" + (": " + ", ".join(parts) if parts else "")


def best_trials(history: History, top: int | None = None) -> list[FrozenTrial]:
    """Return completed trials best first (single objective) or the Pareto front."""
    if history.n_objectives > 1:
        front = list(history.pareto)
        return front if top is None else front[:top]
    sign = -1.0 if history.directions[0] is Direction.MAXIMIZE else 1.0
    done = sorted(history.completed, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]
    return done if top is None else done[:top]


def _table(
    title: str | None,
    columns: Sequence[tuple[str, JustifyMethod]],
    rows: list[list[str]],
    width: int | None,
    keep: int,
) -> Table:
    """Return a compact table that fits ``width`` by leaving out whole columns from the right.

    Values are never cut (unless even the first ``keep`` columns, which always stay, are too
    wide).
    """
    widths = [max([len(row[i]) for row in rows] + [len(h)]) for i, (h, _) in enumerate(columns)]
    n = len(columns)
    while width is not None and n > keep and sum(widths[:n]) + 3 * (n - 1) > width:
        n -= 1
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    for i, (header, justify) in enumerate(columns[:n]):
        table.add_column(header, justify=justify, no_wrap=True, min_width=widths[i])
    for row in rows:
        table.add_row(*row[:n])
    return table


def trials_table(
    trials: Sequence[FrozenTrial],
    directions: Sequence[Direction],
    title: str,
    width: int | None = None,
) -> Table:
    """Return a table of trials: number, state, values, parameters, duration, reason.

    Parameters after the first eight are left out, and columns on the right too when the
    table would be wider than ``width``.
    """
    arrows = ", ".join("min" if d is Direction.MINIMIZE else "max" for d in directions)
    header = "value" if len(directions) == 1 else "values"
    names: list[str] = []
    for trial in trials:
        names.extend(n for n in trial.params if n not in names)
    shown = names[:_MAX_PARAM_COLUMNS]
    columns: list[tuple[str, JustifyMethod]] = [
        ("#", "right"),
        ("state", "left"),
        (f"{header} ({arrows})", "right"),
    ]
    columns += [(name, "right") for name in shown]
    if len(names) > len(shown):
        columns.append((f"+{len(names) - len(shown)} more", "left"))
    columns += [("time (s)", "right"), ("reason / error", "left")]
    rows = []
    for trial in trials:
        note = _first_line(trial.error) if trial.state is TrialState.FAILED else trial.reason
        row = [str(trial.number), trial.state.name, _values(trial)]
        row += [_format_param(trial.params[n]) if n in trial.params else "" for n in shown]
        if len(names) > len(shown):
            row.append("")
        row += [format_number(trial.duration_s), _first_line(note)]
        rows.append(row)
    return _table(title, columns, rows, width, keep=3)


def _best_block(history: History) -> Group | Text:
    best = best_trials(history)
    if not best:
        return Text("No completed trial yet.")
    if history.n_objectives > 1:
        return Text(f"{len(best)} trial(s) on the Pareto front: {[t.number for t in best]}")
    trial = best[0]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("best trial", str(trial.number))
    table.add_row("value", format_number(trial.values[0]))  # type: ignore[index]
    for name, value in trial.params.items():
        table.add_row(f"  {name}", _format_param(value))
    if trial.reason:
        table.add_row("reason", trial.reason)
    return Group(table)


def scheduler_line(record: JSON) -> Text | None:
    """Return ``scheduler: <method>: <why>`` from the study's ``scheduler`` record, if any.

    Example:
        >>> scheduler_line({"settings": {}, "now": "none: no trial reports"}).plain
        'scheduler: none: no trial reports'
    """
    now = record.get("now") if isinstance(record, Mapping) else None
    if not isinstance(now, str) or not now.strip():
        return None
    return Text(f"scheduler: {_first_line(now, 10 * _MAX_REASON)}")


def _prune_group(error: str | None) -> str:
    """Return where a trial was pruned: its reason up to the last ``": "`` (the details)."""
    line = _first_line(error, limit=10 * _MAX_REASON)
    if not line:
        return "no reason recorded"
    head, sep, _ = line.rpartition(": ")
    return _first_line(head if sep else line)


def pruned_summary(trials: Sequence[FrozenTrial]) -> Text | None:
    """Return how many trials were pruned and the most common reasons, or ``None``.

    Reasons are grouped by where the trial was stopped (the scheduler's reason without its
    details after the last ``": "``, e.g. the rank), most common first.

    Example:
        >>> from hyperdial.trial import FrozenTrial, TrialState
        >>> t = FrozenTrial(trial_id=0, number=0, state=TrialState.PRUNED,
        ...                 error="pruned at step 1 (rung 0, resource 1): rank 3 of 3")
        >>> print(pruned_summary([t]).plain)
        1 pruned trial, by reason:
          1  pruned at step 1 (rung 0, resource 1)
    """
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    if not pruned:
        return None
    groups = Counter(_prune_group(t.error) for t in pruned).most_common()
    shown = groups[:_MAX_PRUNE_REASONS]
    width = len(str(shown[0][1]))
    noun = "trial" if len(pruned) == 1 else "trials"
    lines = [f"{len(pruned)} pruned {noun}, by reason:"]
    lines += [f"  {count:>{width}}  {reason}" for reason, count in shown]
    if len(groups) > len(shown):
        rest = len(groups) - len(shown)
        lines.append(f"  (+{rest} other reason{'s' if rest > 1 else ''})")
    return Text("\n".join(lines))


def print_study(
    console: Console, name: str, history: History, top: int, *, scheduler: JSON = None
) -> None:
    """Print a study: its counts, scheduler, best trial, ``top`` best and pruned trials.

    Args:
        console: Where to print.
        name: The study's name.
        history: The study's trials.
        top: How many of the best trials to list.
        scheduler: The study's ``scheduler`` record (``{"settings": ..., "now": ...}``), if
            any.
    """
    directions = ", ".join(d.value for d in history.directions)
    console.print(f"[bold]{name}[/bold] ({directions}) - {state_counts(history.trials)}")
    line = scheduler_line(scheduler)
    if line is not None:
        console.print(line)
    console.print(_best_block(history))
    best = best_trials(history, top)
    if best:
        title = "Pareto front" if history.n_objectives > 1 else f"Top {len(best)} trials"
        console.print(trials_table(best, history.directions, title, console.width))
    summary = pruned_summary(history.trials)
    if summary is not None:
        console.print(summary)
    failed = [t for t in history.trials if t.state is TrialState.FAILED][-3:]
    if failed:
        title = "Latest failed trials"
        console.print(trials_table(failed, history.directions, title, console.width))


def studies_table(rows: Sequence[tuple[StudyInfo, History]], width: int | None = None) -> Table:
    """Return a table of studies: directions, trials by state, best value, creation time.

    ``queued`` counts the configurations enqueued and not yet started (WAITING).
    """
    columns: list[tuple[str, JustifyMethod]] = [
        ("study", "left"),
        ("directions", "left"),
        ("best", "right"),
    ]
    states = ("trials", "complete", "pruned", "failed", "running", "queued")
    columns += [(h, "right") for h in states]
    columns += [("created", "left")]
    cells = []
    for info, history in rows:
        counts = Counter(t.state for t in history.trials)
        if history.n_objectives == 1:
            best = history.best
            best_text = format_number(best.values[0] if best and best.values else None)
        else:
            best_text = f"{len(history.pareto)} on front"
        created = info.created_at.strftime("%Y-%m-%d %H:%M") if info.created_at else "-"
        cells.append(
            [
                info.name,
                ", ".join(d.value for d in info.directions),
                best_text,
                str(len(history.trials)),
                str(counts[TrialState.COMPLETE]),
                str(counts[TrialState.PRUNED]),
                str(counts[TrialState.FAILED]),
                str(counts[TrialState.RUNNING]),
                str(counts[TrialState.WAITING]),
                created,
            ]
        )
    return _table(None, columns, cells, width, keep=3)
