"""Plotly figures of a study's history, parameters and analysis (extra ``[plot]``).

Every function takes a :class:`~hyperdial.Study` or its :class:`~hyperdial.History` and
returns a ``plotly.graph_objects.Figure``; show it with ``fig.show()`` or save it with
``fig.write_html(path)``. Large studies are subsampled deterministically, so a figure of
10,000 trials stays quick to draw.

Example:
    >>> import hyperdial
    >>> from hyperdial.plot import plot_history
    >>> from hyperdial.samplers import RandomSampler
    >>> study = hyperdial.create_study(sampler=RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
    >>> plot_history(study).layout.title.text
    'Optimization history'
"""

from __future__ import annotations

from hyperdial.plot.curves import plot_intermediate
from hyperdial.plot.diagnostics import plot_diagnostics
from hyperdial.plot.effects import (
    plot_contour,
    plot_importance,
    plot_interactions,
    plot_partial_dependence,
)
from hyperdial.plot.history import plot_history, plot_timeline
from hyperdial.plot.params import plot_parallel_coordinates, plot_slice
from hyperdial.plot.pareto import plot_pareto_front

__all__ = [
    "plot_contour",
    "plot_diagnostics",
    "plot_history",
    "plot_importance",
    "plot_interactions",
    "plot_intermediate",
    "plot_parallel_coordinates",
    "plot_pareto_front",
    "plot_partial_dependence",
    "plot_slice",
    "plot_timeline",
]
