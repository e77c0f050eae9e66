from __future__ import annotations

import dataclasses

import hyperdial.analysis as analysis


def test_public_names():
    assert analysis.__all__ == [
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


def test_records_are_frozen_dataclasses():
    for name in analysis.__all__:
        obj = getattr(analysis, name)
        if isinstance(obj, type):
            assert dataclasses.is_dataclass(obj)
            assert obj.__dataclass_params__.frozen  # type: ignore[attr-defined]
