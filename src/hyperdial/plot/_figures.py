"""Figures drawn from analysis results, shared by the public plots and the report.

The report computes each analysis once and draws it from the result, so these builders take
results rather than studies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperdial.history import History
from hyperdial.plot import _common as c

VERDICT_COLORS = {"ok": "#2ca02c", "overfit": "#d62728", "underfit": "#1f77b4"}
_OTHER_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]


def importance_figure(details: Sequence[Any], *, title: str = "Parameter importance") -> Any:
    """Return horizontal bars of importance shares with their std as error bars."""
    go = c.graph_objects("plot_importance")
    rows = sorted(details, key=lambda d: float(d.share))  # largest at the top
    shares = [float(d.share) for d in rows]
    errors = [0.0 if d.std is None or not math.isfinite(d.std) else float(d.std) for d in rows]
    names = [str(d.param) for d in rows]
    bars = go.Bar(
        x=shares,
        y=names,
        orientation="h",
        error_x={"type": "data", "array": errors, "visible": True, "color": "#444"},
        marker={"color": "#1f77b4"},
        hovertemplate="%{y}: %{x:.1%} ± %{error_x.array:.1%}<extra></extra>",
        name="importance",
    )
    top = max([s + e for s, e in zip(shares, errors)] + [0.05])
    # The shares as a column of text right of the longest error bar, so nothing overlaps.
    labels = go.Scatter(
        x=[top * 1.04] * len(rows),
        y=names,
        mode="text",
        text=[f"{s:.1%}" for s in shares],
        textposition="middle right",
        hoverinfo="skip",
        showlegend=False,
        name="share",
    )
    height = max(260, 90 + 28 * len(rows))
    return go.Figure(
        data=[bars, labels],
        layout=c.layout(
            title,
            height=height,
            showlegend=False,
            xaxis={
                "title": {"text": "share of the explained variance"},
                "tickformat": ".0%",
                "range": [0, top * 1.18],
            },
            yaxis={"automargin": True},
        ),
    )


def interactions_figure(strengths: Mapping[tuple[str, str], float]) -> Any:
    """Return a symmetric heat map of pair interaction strengths."""
    go = c.graph_objects("plot_interactions")
    names: list[str] = []
    for a, b in strengths:
        for name in (a, b):
            if name not in names:
                names.append(name)
    index = {n: i for i, n in enumerate(names)}
    z = np.full((len(names), len(names)), np.nan)
    for (a, b), value in strengths.items():
        z[index[a], index[b]] = z[index[b], index[a]] = float(value)
    text = [["" if np.isnan(v) else f"{v:.1%}" for v in row] for row in z]
    heat = go.Heatmap(
        z=z,
        x=names,
        y=names,
        colorscale="Blues",
        zmin=0,
        text=text,
        texttemplate="%{text}",
        hovertemplate="%{y} × %{x}: %{z:.2%}<extra></extra>",
        colorbar={"title": {"text": "share"}, "tickformat": ".0%"},
        hoverongaps=False,
    )
    size = max(c.HEIGHT, 120 + 45 * len(names))
    return go.Figure(
        data=[heat],
        layout=c.layout(
            "Parameter interactions",
            height=min(size, 900),
            xaxis={"type": "category"},
            yaxis={"type": "category", "autorange": "reversed"},
        ),
    )


def _values_axis(values: Sequence[Any], log: bool) -> tuple[list[Any], str]:
    if any(isinstance(v, (str, bool)) or v is None for v in values):
        return [c.label(v) for v in values], "category"
    return list(values), "log" if log else "linear"


def contour_figure(result: Any, history: History, objective: int, max_points: int = 2000) -> Any:
    """Return the 2-D partial dependence of a pair with the trials that tried it on top."""
    go = c.graph_objects("plot_contour")
    x, x_type = _values_axis(result.x, bool(result.log_a))
    y, y_type = _values_axis(result.y, bool(result.log_b))
    label = c.objective_label(history, objective)
    surface: dict[str, Any] = {
        "x": x,
        "y": y,
        "z": np.asarray(result.z, dtype=float),
        "colorscale": "Viridis",
        "reversescale": history.directions[objective].value == "minimize",
        "colorbar": {"title": {"text": "predicted"}},
        "hovertemplate": f"{result.param_a}=%{{x}}<br>{result.param_b}=%{{y}}"
        f"<br>{label}: %{{z:.4g}}<extra></extra>",
        "name": "partial dependence",
    }
    if "category" in (x_type, y_type):  # contour lines between categories would mislead
        traces = [go.Heatmap(**surface)]
    else:
        contours = {"coloring": "heatmap", "showlabels": True}
        traces = [go.Contour(**surface, contours=contours, line={"width": 0.5})]
    a, b = result.param_a, result.param_b
    tried = [t for t in history.completed if a in t.params and b in t.params]
    tried = [tried[i] for i in c.spread(len(tried), max_points)]
    if tried:
        xs = [t.params[a] for t in tried]
        ys = [t.params[b] for t in tried]
        traces.append(
            go.Scatter(
                x=[c.label(v) for v in xs] if x_type == "category" else xs,
                y=[c.label(v) for v in ys] if y_type == "category" else ys,
                mode="markers",
                name="trials",
                marker={"color": "white", "size": 5, "line": {"color": "black", "width": 1}},
                hovertext=[f"trial {t.number}" for t in tried],
                hoverinfo="text",
            )
        )
    return go.Figure(
        data=traces,
        layout=c.layout(
            f"Partial dependence of {a} and {b}",
            xaxis={"title": {"text": a}, "type": x_type},
            yaxis={"title": {"text": b}, "type": y_type},
            showlegend=False,
        ),
    )


def partial_dependence_figure(
    results: Sequence[Any], history: History, objective: int, columns: int = 3
) -> Any:
    """Return one panel per parameter: the predicted objective with a one-std band."""
    owner = "plot_partial_dependence"
    go = c.graph_objects(owner)
    n_cols = max(1, min(columns, len(results)))
    n_rows = math.ceil(len(results) / n_cols)
    fig = c.make_subplots(
        owner,
        rows=n_rows,
        cols=n_cols,
        shared_yaxes=True,
        subplot_titles=[str(r.param) for r in results],
        horizontal_spacing=0.05,
        vertical_spacing=min(0.14, 0.5 / n_rows),
    )
    label = c.objective_label(history, objective)
    for i, result in enumerate(results):
        row, col = i // n_cols + 1, i % n_cols + 1
        mean = np.asarray(result.mean, dtype=float)
        std = np.asarray(result.std, dtype=float) if result.std is not None else 0 * mean
        x, kind = _values_axis(result.values, bool(result.log))
        if result.categorical:
            x, kind = [c.label(v) for v in result.values], "category"
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=mean,
                    error_y={"type": "data", "array": std, "visible": True},
                    marker={"color": "#1f77b4"},
                    name=str(result.param),
                    showlegend=False,
                ),
                row=row,
                col=col,
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=[*x, *x[::-1]],
                    y=[*(mean + std), *(mean - std)[::-1]],
                    fill="toself",
                    fillcolor="rgba(31, 119, 180, 0.2)",
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    name=f"{result.param} ± std",
                ),
                row=row,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=mean,
                    mode="lines",
                    line={"color": "#1f77b4", "width": 2},
                    name=str(result.param),
                    showlegend=False,
                ),
                row=row,
                col=col,
            )
        fig.update_xaxes(type=kind, row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text=f"predicted {label}", row=row, col=col)
    fig.update_layout(**c.layout("Partial dependence", height=max(c.HEIGHT, 300 * n_rows + 80)))
    return fig


def _verdict_color(verdict: str, extra: dict[str, str]) -> str:
    key = str(verdict).lower()
    if key in VERDICT_COLORS:
        return VERDICT_COLORS[key]
    if key not in extra:
        extra[key] = _OTHER_COLORS[len(extra) % len(_OTHER_COLORS)]
    return extra[key]


def diagnostics_figure(diagnosis: Any, max_points: int = 2000) -> Any:
    """Return validation against training score per trial, coloured by verdict."""
    go = c.graph_objects("plot_diagnostics")
    rows = [
        d
        for d in diagnosis.trials
        if d.train is not None
        and d.validation is not None
        and math.isfinite(d.train)
        and math.isfinite(d.validation)
    ]
    rows = [rows[i] for i in c.spread(len(rows), max_points)]
    groups: dict[str, list[Any]] = {}
    for d in rows:
        groups.setdefault(str(d.verdict), []).append(d)
    extra: dict[str, str] = {}
    traces = []
    for verdict, group in groups.items():
        traces.append(
            go.Scatter(
                x=[d.train for d in group],
                y=[d.validation for d in group],
                mode="markers",
                name=verdict,
                marker={"color": _verdict_color(verdict, extra), "size": 7, "opacity": 0.85},
                hovertext=[
                    f"trial {d.number}: {verdict}<br>gap {d.gap:.4g}"
                    if d.gap is not None
                    else f"trial {d.number}: {verdict}"
                    for d in group
                ],
                hoverinfo="text+x+y",
            )
        )
    if rows:
        both = [v for d in rows for v in (d.train, d.validation)]
        lo, hi = min(both), max(both)
        traces.append(
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                line={"color": "#888", "dash": "dash", "width": 1},
                name="train = validation",
                hoverinfo="skip",
            )
        )
    metric = "score" if getattr(diagnosis, "higher_is_better", True) else "loss"
    return go.Figure(
        data=traces,
        layout=c.layout(
            c.shown("Training against validation", len(rows), len(diagnosis.trials)),
            xaxis={"title": {"text": f"training {metric}"}},
            yaxis={"title": {"text": f"validation {metric}"}},
        ),
    )
