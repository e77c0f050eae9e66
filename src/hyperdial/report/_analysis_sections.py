"""Report sections drawn from :mod:`hyperdial.analysis`; each degrades to a note."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import yaml

from hyperdial.plot import _common as plot_common
from hyperdial.plot import _figures, plot_intermediate, plot_slice
from hyperdial.report import _blocks as b

_MAX_PAIRS = 10
_CONTOUR_PAIRS = 3
_MAX_SLICES = 12


def _for(ctx: b.Context, objective: int) -> str:
    if ctx.n_objectives == 1:
        return ""
    return f" (objective {objective}, {ctx.directions[objective].value})"


def _importance(ctx: b.Context, objective: int = 0) -> list[Any]:
    return list(ctx.analyse("importance_details", objective=objective))


def ranked_params(ctx: b.Context) -> list[str]:
    """Return the parameters most important first (by first appearance if unknown)."""
    names = plot_common.param_names(ctx.history, None, "write_report")
    try:
        ranked = [str(d.param) for d in _importance(ctx)]
    except Exception:  # noqa: BLE001 - fall back to the order of appearance
        return names
    return [n for n in ranked if n in names] + [n for n in names if n not in ranked]


def importance(ctx: b.Context) -> b.Section:
    """Return each parameter's share of the objective's variation, per objective."""
    section = b.Section("importance", "Parameter importance")
    for i in range(min(ctx.n_objectives, 3)):
        try:
            details = _importance(ctx, i)
        except Exception as exc:  # noqa: BLE001 - shown as a note
            section.blocks.append(b.Note(f"Not computed{_for(ctx, i)}: {b.why(exc)}"))
            continue
        title = f"Parameter importance{_for(ctx, i)}"
        chart = partial(_figures.importance_figure, details, title=title)
        section.blocks.append(b.Chart(f"importance-{i}", chart))
        rows = [
            [str(d.param), f"{float(d.share):.1%}", _share_std(d.std)]
            for d in sorted(details, key=lambda d: -float(d.share))
        ]
        caption = f"Share of the explained variance{_for(ctx, i)}"
        section.blocks.append(b.Table(["parameter", "share", "± std"], rows, caption))
    return section


def _share(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{float(value):.1%}"
    return b.json_text(value)


def _share_std(std: float | None) -> str:
    return "-" if std is None or not math.isfinite(std) else f"{float(std):.1%}"


def _strengths(ctx: b.Context) -> dict[tuple[str, str], float]:
    return dict(ctx.analyse("interactions", objective=0))


def interactions(ctx: b.Context) -> b.Section:
    """Return the heat map and the strongest pairs of parameters."""
    section = b.Section("interactions", "Interactions")
    try:
        strengths = _strengths(ctx)
    except Exception as exc:  # noqa: BLE001 - shown as a note
        section.blocks.append(b.Note(f"Not computed: {b.why(exc)}"))
        return section
    if not strengths:
        section.blocks.append(b.Note("The study has fewer than two parameters to pair."))
        return section
    section.blocks.append(b.Chart("interactions", lambda: _figures.interactions_figure(strengths)))
    top = sorted(strengths.items(), key=lambda kv: -kv[1])[:_MAX_PAIRS]
    rows = [[a, p, f"{v:.2%}"] for (a, p), v in top]
    caption = f"Strongest pairs{_for(ctx, 0)}"
    section.blocks.append(b.Table(["parameter", "with", "share of variance"], rows, caption))
    return section


def _top_pairs(ctx: b.Context) -> list[tuple[str, str]]:
    try:
        ranked = sorted(_strengths(ctx).items(), key=lambda kv: -kv[1])
        pairs = [pair for pair, _ in ranked]
    except Exception:  # noqa: BLE001 - pair the most important parameters instead
        names = ranked_params(ctx)[:3]
        pairs = [(a, c) for i, a in enumerate(names) for c in names[i + 1 :]]
    return pairs[:_CONTOUR_PAIRS]


def _best_cell(result: Any, minimize: bool) -> str:
    z = np.asarray(result.z, dtype=float)
    if z.size == 0 or not np.isfinite(z).any():
        return ""
    flat = np.nanargmin(z) if minimize else np.nanargmax(z)
    j, i = np.unravel_index(flat, z.shape)
    return (
        f"the model predicts the best value, {b.number(float(z[j, i]))}, near "
        f"{result.param_a} = {b.param(result.x[i])} and {result.param_b} = "
        f"{b.param(result.y[j])}."
    )


def contours(ctx: b.Context) -> b.Section:
    """Return the 2-D partial dependence of the most interacting pairs."""
    section = b.Section("contours", "Contours of the top pairs")
    if len(plot_common.param_names(ctx.history, None, "write_report")) < 2:
        section.blocks.append(b.Note("The study has fewer than two parameters."))
        return section
    minimize = ctx.directions[0].value == "minimize"
    for a, c in _top_pairs(ctx):
        try:
            result = ctx.analyse("partial_dependence_2d", a, c, objective=0)
        except Exception as exc:  # noqa: BLE001 - shown as a note
            section.blocks.append(b.Note(f"{a} and {c}: not computed: {b.why(exc)}"))
            continue
        chart = partial(_figures.contour_figure, result, ctx.history, 0)
        section.blocks.append(b.Chart(f"contour-{a}-{c}", chart))
        text = _best_cell(result, minimize)
        section.blocks.append(b.Text(f"{a} and {c}{_for(ctx, 0)}: {text}".rstrip(": ")))
    if not section.blocks:
        section.blocks.append(b.Note("No pair of parameters could be modelled."))
    return section


def slices(ctx: b.Context) -> b.Section:
    """Return the objective against each parameter (most important first)."""
    section = b.Section("slices", "Slices")
    if not ctx.done:
        section.blocks.append(b.Note("No trial has completed yet."))
        return section
    names = ranked_params(ctx)
    shown = names[:_MAX_SLICES]
    section.blocks.append(
        b.Chart("slices", lambda: plot_slice(ctx.history, objective=0, params=shown))
    )
    best = ctx.best(0)
    rows = []
    for name in shown:
        dist = plot_common.distribution_of(ctx.history, name)
        tried = sum(name in t.params for t in ctx.done)
        value = b.param(best.params[name]) if best and name in best.params else "unset"
        rows.append([name, b.describe(dist), f"{tried:,}", value])
    caption = "Parameters, most important first" + (
        f" ({len(names) - len(shown)} more not shown)" if len(names) > len(shown) else ""
    )
    headers = ["parameter", "distribution", "completed trials with it", "best trial"]
    section.blocks.append(b.Table(headers, rows, caption))
    return section


def intermediate(ctx: b.Context) -> b.Section:
    """Return the learning curves, when trials reported intermediate values."""
    section = b.Section("intermediate", "Learning curves")
    reporting = [t for t in ctx.history.trials if t.intermediate]
    if not reporting:
        section.blocks.append(b.Note("No trial reported intermediate values."))
        return section
    section.blocks.append(b.Chart("intermediate", lambda: plot_intermediate(ctx.history)))
    states = Counter(t.state.name.lower() for t in reporting)
    steps = [s for t in reporting for s in (min(t.intermediate), max(t.intermediate))]
    by_state = ", ".join(f"{n:,} {s}" for s, n in states.most_common())
    section.blocks.append(
        b.Text(
            f"{len(reporting):,} trial(s) reported intermediate values ({by_state}), "
            f"at steps {min(steps)} to {max(steps)}."
        )
    )
    return section


def diagnostics(ctx: b.Context) -> b.Section:
    """Return the over- and underfitting verdicts, when trials stored both scores."""
    section = b.Section("diagnostics", "Diagnostics")
    try:
        diagnosis = ctx.analyse("diagnose")
    except Exception as exc:  # noqa: BLE001 - shown as a note
        section.blocks.append(b.Note(f"Not available: {b.why(exc)}"))
        return section
    if getattr(diagnosis, "summary", ""):
        section.blocks.append(b.Text(str(diagnosis.summary)))
    section.blocks.append(b.Chart("diagnostics", lambda: _figures.diagnostics_figure(diagnosis)))
    verdicts = Counter(str(d.verdict) for d in diagnosis.trials)
    rows = [[v, f"{n:,}"] for v, n in verdicts.most_common()]
    section.blocks.append(b.Table(["verdict", "trials"], rows, caption="Verdicts"))
    drivers = getattr(diagnosis, "drivers", None)
    if isinstance(drivers, Mapping) and drivers:
        rows = [[str(k), _share(v)] for k, v in drivers.items()]
        caption = "What drives the gap between training and validation"
        section.blocks.append(b.Table(["parameter", "share of the gap's variance"], rows, caption))
    regions = list(getattr(diagnosis, "regions", []) or [])
    if regions:
        section.blocks.append(b.Text("\n".join(f"- {r}" for r in regions)))
    return section


def convergence(ctx: b.Context) -> b.Section:
    """Return whether running more trials is likely to pay off."""
    section = b.Section("convergence", "Convergence")
    try:
        advice = ctx.analyse("convergence", objective=0)
    except Exception as exc:  # noqa: BLE001 - shown as a note
        section.blocks.append(b.Note(f"Not available: {b.why(exc)}"))
        return section
    section.blocks.append(b.Text(str(advice.advice)))
    rows = [
        ("completed trials", f"{advice.n_trials:,}"),
        ("best value", b.number(advice.best_value)),
        ("trials since the best", f"{advice.trials_since_best:,}"),
        ("still improving", "yes" if advice.improving else "no"),
        ("expected gain", b.number(advice.expected_gain)),
        ("why", str(advice.reason)),
    ]
    section.blocks.append(b.Pairs(rows, caption=f"Convergence{_for(ctx, 0)}"))
    return section


def suggested_space(ctx: b.Context) -> b.Section:
    """Return a narrower search space around the best trials."""
    section = b.Section("space", "Suggested narrower space")
    try:
        space = ctx.analyse("suggest_space", objective=0)
    except Exception as exc:  # noqa: BLE001 - shown as a note
        section.blocks.append(b.Note(f"Not available: {b.why(exc)}"))
        return section
    conditions = getattr(space, "conditions", {}) or {}
    rows = []
    for name, dist in space.items():
        searched = b.describe(plot_common.distribution_of(ctx.history, name))
        when = " and ".join(str(c) for c in conditions.get(name, ()))
        rows.append([name, searched, b.describe(dist), when or "-"])
    section.blocks.append(
        b.Text("A space around the best trials, to start a follow-up study from.")
    )
    headers = ["parameter", "searched", "suggested", "condition"]
    section.blocks.append(b.Table(headers, rows, caption=f"Suggested space{_for(ctx, 0)}"))
    to_dict = getattr(space, "to_dict", None)
    if callable(to_dict):
        text = yaml.safe_dump({"space": to_dict()}, sort_keys=False, default_flow_style=None)
        section.blocks.append(b.Text("As a spec's space (SearchSpace.from_dict reads it):"))
        section.blocks.append(b.Code(text, "yaml"))
    return section
