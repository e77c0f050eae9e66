"""Understand a study: which parameters matter, how they interact, and why a trial is best.

Every function takes a :class:`~hyperdial.Study` or a :class:`~hyperdial.History` and reads
the COMPLETE trials with a finite value of the chosen objective. The model-based analyses
(importance, interactions, partial dependence, the drivers of :func:`diagnose`) share one
forest per study snapshot and seed, and need scikit-learn: ``pip install 'hyperdial[analysis]'``.

Example:
    >>> import hyperdial
    >>> from hyperdial import analysis
    >>> from hyperdial.samplers import RandomSampler
    >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
    >>> study.optimize(
    ...     lambda t: 10 * t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1),
    ...     n_trials=40,
    ... )
    >>> list(analysis.importance(study))
    ['x', 'y']
    >>> analysis.convergence(study).advice in ("continue", "stop")
    True
"""

from __future__ import annotations

from hyperdial.analysis.convergence import ConvergenceAdvice, convergence
from hyperdial.analysis.diagnostics import Diagnosis, TrialDiagnosis, diagnose
from hyperdial.analysis.effects import (
    PartialDependence,
    PartialDependence2D,
    partial_dependence,
    partial_dependence_2d,
)
from hyperdial.analysis.explain import explain_best, explain_trial
from hyperdial.analysis.importance import (
    ParamImportance,
    importance,
    importance_details,
    interactions,
)
from hyperdial.analysis.suggest import suggest_space

__all__ = [
    "ConvergenceAdvice",
    "Diagnosis",
    "ParamImportance",
    "PartialDependence",
    "PartialDependence2D",
    "TrialDiagnosis",
    "convergence",
    "diagnose",
    "explain_best",
    "explain_trial",
    "importance",
    "importance_details",
    "interactions",
    "partial_dependence",
    "partial_dependence_2d",
    "suggest_space",
]
