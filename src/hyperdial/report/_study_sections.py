"""Report sections read from the trials themselves: summary, history, front, failures, table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.plot import _common as plot_common
from hyperdial.plot import (
    plot_history,
    plot_parallel_coordinates,
    plot_pareto_front,
    plot_timeline,
)
from hyperdial.report import _blocks as b
from hyperdial.trial import FrozenTrial, TrialState

MAX_TRIAL_ROWS = 100
_MAX_PARAM_COLUMNS = 10
_MAX_FRONT_ROWS = 50
_MAX_REASONS = 5
_MAX_IMPROVEMENTS = 15


def state_counts(trials: Sequence[FrozenTrial]) -> str:
    """Return e.g. ``12 trials: 10 complete, 2 failed``."""
    counts = Counter(t.state for t in trials)
    parts = [f"{counts[s]:,} {s.name.lower()}" for s in TrialState if counts[s]]
    noun = "trial" if len(trials) == 1 else "trials"
    return f"{len(trials):,} {noun}" + (": " + ", ".join(parts) if parts else "")


def _methods(ctx: b.Context, key: str) -> str:
    record, methods = ctx.attrs.get("record"), ctx.attrs.get("methods")
    for source in (record, methods):
        if isinstance(source, Mapping) and source.get(key) is not None:
            return b.json_text(source[key])
    return b.NOT_RECORDED


def _time_span(ctx: b.Context) -> tuple[str, str]:
    starts = [t.started_at for t in ctx.history.trials if t.started_at is not None]
    ends = [t.finished_at for t in ctx.history.trials if t.finished_at is not None]
    if not starts or not ends:
        return "-", "-"
    first, last = min(starts), max(ends)
    span = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    busy = sum(t.duration_s or 0.0 for t in ctx.history.trials)
    return span, f"{b.duration((last - first).total_seconds())} ({b.duration(busy)} of trials)"


def _explanation(ctx: b.Context, objective: int, label: str = "") -> b.Block:
    try:
        return b.Text(label + str(ctx.analyse("explain_best", objective=objective)))
    except Exception as exc:  # noqa: BLE001 - shown as a note
        return b.Note(f"{label}no explanation: {b.why(exc)}")


def summary(ctx: b.Context) -> b.Section:
    """Return the study at a glance and its best trial(s) with the reasons behind them."""
    section = b.Section("summary", "Summary")
    span, elapsed = _time_span(ctx)
    scheduler = ctx.attrs.get("scheduler")
    now = scheduler.get("now") if isinstance(scheduler, Mapping) else None
    section.blocks.append(
        b.Pairs(
            [
                ("study", ctx.name or "(a history without a study name)"),
                ("directions", ", ".join(d.value for d in ctx.directions)),
                ("trials", state_counts(ctx.history.trials)),
                ("time", span),
                ("elapsed", elapsed),
                ("sampler", _methods(ctx, "sampler")),
                ("scheduler", str(now) if now else _methods(ctx, "scheduler")),
            ]
        )
    )
    if not ctx.done:
        section.blocks.append(b.Note("No trial has completed yet, so there is no best trial."))
        return section
    if ctx.n_objectives == 1:
        best = ctx.best()
        assert best is not None  # ctx.done is not empty
        section.blocks.append(
            b.Pairs(
                [
                    ("best trial", f"#{best.number}"),
                    ("value", b.number(plot_common.value_of(best, 0))),
                    ("duration", b.duration(best.duration_s)),
                ],
                caption="Best trial",
            )
        )
        rows = [[name, b.param(v)] for name, v in best.params.items()]
        section.blocks.append(b.Table(["parameter", "value"], rows, caption="Its parameters"))
        reason = best.reason.strip() or "the sampler recorded no reason"
        section.blocks.append(b.Text(f"Why the sampler proposed it: {reason}"))
        section.blocks.append(_explanation(ctx, 0, "Explanation: "))
        return section
    front = plot_common.pareto_trials(ctx.history)
    section.blocks.append(
        b.Text(
            f"{len(front):,} of {len(ctx.done):,} completed trials are on the Pareto front "
            "(no other trial is at least as good on every objective and better on one)."
        )
    )
    rows = []
    for i, direction in enumerate(ctx.directions):
        best = ctx.best(i)
        assert best is not None
        rows.append(
            [
                str(i),
                direction.value,
                b.number(plot_common.value_of(best, i)),
                f"#{best.number}",
                ", ".join(f"{k}={b.param(v)}" for k, v in best.params.items()),
                best.reason.strip() or "-",
            ]
        )
    headers = ["objective", "direction", "best", "trial", "parameters", "why proposed"]
    section.blocks.append(b.Table(headers, rows, caption="Best trial of each objective"))
    for i in range(min(ctx.n_objectives, 3)):
        section.blocks.append(_explanation(ctx, i, f"Objective {i}: "))
    return section


def history(ctx: b.Context) -> b.Section:
    """Return the objective per trial with the best so far, and when trials ran."""
    section = b.Section("history", "History")
    if not ctx.done:
        section.blocks.append(b.Note("No trial has completed yet."))
        return section
    for i in range(min(ctx.n_objectives, 3)):
        chart = partial(plot_history, ctx.history, objective=i)
        section.blocks.append(b.Chart(f"history-{i}", chart))
        direction = ctx.directions[i]
        raw = [plot_common.value_of(t, i) for t in ctx.done]
        values = np.asarray(raw, dtype=float)
        running = plot_common.best_so_far(values, direction)
        steps = np.flatnonzero(np.r_[True, running[1:] != running[:-1]])
        last = ctx.done[steps[-1]].number
        label = "The" if ctx.n_objectives == 1 else f"Objective {i}: the"
        section.blocks.append(
            b.Text(
                f"{label} best value improved {len(steps) - 1} time(s) after the first "
                f"completed trial; the last improvement was trial #{last}, "
                f"{len(ctx.done) - 1 - steps[-1]:,} completed trial(s) ago."
            )
        )
        rows = [
            [f"#{ctx.done[k].number}", b.number(values[k])] for k in steps[-_MAX_IMPROVEMENTS:]
        ]
        section.blocks.append(
            b.Table(["trial", "new best"], rows, caption="Improvements (latest)", only="md")
        )
    if any(t.started_at is not None for t in ctx.history.trials):
        section.blocks.append(b.Chart("timeline", lambda: plot_timeline(ctx.history)))
    return section


def _where_best(ctx: b.Context) -> b.Table:
    """Return, per parameter, its range over all trials and over the best tenth."""
    ranked = ctx.ranked()
    top = ranked[: max(1, len(ranked) // 10)]
    rows = []
    names = plot_common.param_names(ctx.history, None, "write_report")
    for name in names[:30]:
        dist = plot_common.distribution_of(ctx.history, name)
        every = [t.params[name] for t in ranked if name in t.params]
        best = [t.params[name] for t in top if name in t.params]
        rows.append([name, b.describe(dist), _range(every), _range(best) if best else "unset"])
    caption = f"Where the best {len(top):,} completed trial(s) lie"
    return b.Table(["parameter", "distribution", "all trials", "best tenth"], rows, caption)


def _range(items: Sequence[ParamValue]) -> str:
    numbers = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(items):
        return f"{b.number(min(numbers))} to {b.number(max(numbers))}"
    counts = Counter(b.param(v) for v in items).most_common(3)
    return ", ".join(f"{v} ({n / len(items):.0%})" for v, n in counts)


def parallel(ctx: b.Context) -> b.Section:
    """Return the parallel-coordinates view and where the best trials lie."""
    section = b.Section("parallel", "Parallel coordinates")
    if not ctx.done:
        section.blocks.append(b.Note("No trial has completed yet."))
        return section
    section.blocks.append(
        b.Chart("parallel", lambda: plot_parallel_coordinates(ctx.history, objective=0))
    )
    section.blocks.append(_where_best(ctx))
    return section


def pareto(ctx: b.Context) -> b.Section:
    """Return the Pareto front of a multi-objective study."""
    section = b.Section("pareto", "Pareto front")
    if ctx.n_objectives == 1:
        section.blocks.append(b.Note("The study has one objective; its best trial is above."))
        return section
    front = plot_common.pareto_trials(ctx.history)
    if not front:
        section.blocks.append(b.Note("No trial has completed yet."))
        return section
    section.blocks.append(b.Chart("pareto", lambda: plot_pareto_front(ctx.history)))
    front.sort(key=lambda t: (t.values, t.number))
    rows = [
        [
            f"#{t.number}",
            *(b.number(v) for v in t.values),  # type: ignore[union-attr]
            ", ".join(f"{k}={b.param(v)}" for k, v in t.params.items()),
            t.reason.strip() or "-",
        ]
        for t in front[:_MAX_FRONT_ROWS]
    ]
    headers = ["trial", *(f"objective {i} ({d.value})" for i, d in enumerate(ctx.directions))]
    caption = f"Trials on the front ({min(len(front), _MAX_FRONT_ROWS)} of {len(front)})"
    section.blocks.append(b.Table([*headers, "parameters", "why proposed"], rows, caption))
    return section


def _prune_group(error: str | None) -> str:
    """Return where a trial was pruned: its reason without the details after ``": "``."""
    line = b.first_line(error, limit=400)
    if not line:
        return "no reason recorded"
    head, sep, _ = line.rpartition(": ")
    return b.first_line(head if sep else line)


def _reasons(trials: list[FrozenTrial], group: object) -> list[list[str]]:
    keyed: dict[str, list[int]] = {}
    for t in trials:
        keyed.setdefault(group(t.error), []).append(t.number)  # type: ignore[operator]
    ranked = sorted(keyed.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:_MAX_REASONS]
    return [
        [reason, f"{len(numbers):,}", ", ".join(f"#{n}" for n in numbers[:5])]
        for reason, numbers in ranked
    ]


def failures(ctx: b.Context) -> b.Section:
    """Return how many trials were pruned or failed and the most common reasons."""
    section = b.Section("failures", "Failed and pruned trials")
    trials = list(ctx.history.trials)
    counts = Counter(t.state for t in trials)
    rows = [
        [s.name.lower(), f"{counts[s]:,}", f"{counts[s] / max(len(trials), 1):.1%}"]
        for s in TrialState
        if counts[s]
    ]
    section.blocks.append(b.Table(["state", "trials", "share"], rows, caption="Trials by state"))
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    failed = [t for t in trials if t.state is TrialState.FAILED]
    if not pruned and not failed:
        section.blocks.append(b.Note("No trial was pruned or failed."))
        return section
    headers = ["reason", "trials", "examples"]
    if pruned:
        steps = [t.last_step for t in pruned if t.last_step is not None]
        if steps:
            section.blocks.append(
                b.Text(
                    f"Pruned trials stopped at step {min(steps)} to {max(steps)} "
                    f"(median {float(np.median(steps)):g})."
                )
            )
        section.blocks.append(
            b.Table(headers, _reasons(pruned, _prune_group), caption="Why trials were pruned")
        )
    if failed:

        def error_line(error: str | None) -> str:
            return b.first_line(error) or "no error recorded"

        section.blocks.append(
            b.Table(headers, _reasons(failed, error_line), caption="Why trials failed")
        )
    return section


def trials_table(ctx: b.Context) -> b.Section:
    """Return a table of the best trials (capped), then the others by number."""
    section = b.Section("trials", "Trials")
    trials = ctx.history.trials
    if not trials:
        section.blocks.append(b.Note("The study has no trials."))
        return section
    if ctx.n_objectives == 1:
        ranked = ctx.ranked()
    else:
        front = plot_common.pareto_trials(ctx.history)
        on_front = {t.number for t in front}
        rest = [t for t in ctx.done if t.number not in on_front]
        ranked = ctx.ranked(front) + ctx.ranked(rest)
    if len(ranked) < MAX_TRIAL_ROWS:
        ranked += [t for t in trials if t.state is not TrialState.COMPLETE][
            : MAX_TRIAL_ROWS - len(ranked)
        ]
    shown = ranked[:MAX_TRIAL_ROWS]
    names: list[str] = []
    for t in shown:
        names.extend(n for n in t.params if n not in names)
    columns = names[:_MAX_PARAM_COLUMNS]
    header = "value" if ctx.n_objectives == 1 else "values"
    headers = ["#", "state", header, *columns, "time", "reason or error"]
    rows = []
    for t in shown:
        note = b.first_line(t.error) if t.state is not TrialState.COMPLETE else t.reason
        cells = [b.param(t.params[n]) if n in t.params else "" for n in columns]
        rows.append(
            [
                str(t.number),
                t.state.name.lower(),
                b.values(t),
                *cells,
                b.duration(t.duration_s),
                b.first_line(note, 100),
            ]
        )
    order = "best first" if ctx.n_objectives == 1 else "Pareto front first"
    caption = f"{len(shown):,} of {len(trials):,} trials ({order})"
    if len(names) > len(columns):
        caption += f"; {len(names) - len(columns)} more parameter(s) not shown"
    section.blocks.append(b.Table(headers, rows, caption))
    return section
