from __future__ import annotations

import pytest

from hyperdial import Float, Int
from hyperdial.analysis import Diagnosis, TrialDiagnosis, diagnose
from hyperdial.exceptions import InvalidValueError

SPACE = {"depth": Int(1, 16), "lr": Float(1e-4, 1e-1, log=True), "subsample": Float(0.5, 1.0)}


def _scores(p, rng):
    # Training is perfect; validation drops once trees grow deeper than 10.
    valid = 0.9 - 0.04 * max(p["depth"] - 10, 0) + 0.003 * rng.standard_normal()
    return {"train_score": 1.0, "validation_score": valid}


def test_flags_overfitting_and_names_the_driving_parameter(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=120, user_attrs=_scores)
    found = diagnose(history)
    assert isinstance(found, Diagnosis) and len(found.trials) == 120
    assert all(isinstance(t, TrialDiagnosis) for t in found.trials)
    by_number = {t.number: t for t in found.trials}
    for trial in history.trials:
        verdict = by_number[trial.number].verdict
        if trial.params["depth"] >= 13:
            assert verdict == "overfit"
        if trial.params["depth"] <= 10:
            assert verdict != "overfit"
    assert next(iter(found.drivers)) == "depth"
    assert found.drivers["depth"] > 0.8
    assert found.regions and found.regions[0].startswith("depth >= ")
    assert "trials over-fit" in found.regions[0]
    assert "over-fit" in found.summary and "depth" in found.summary
    assert found.higher_is_better and found.threshold > 0


def test_gap_is_positive_when_validation_is_worse(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=30, user_attrs=_scores)
    for t in diagnose(history).trials:
        assert t.gap == pytest.approx(t.train - t.validation)


def _losses(p, rng):
    train = 0.1 + 0.05 * rng.random()
    gap = 0.5 if p["subsample"] > 0.9 else 0.02 * rng.random()
    return {"train_loss": train, "validation_loss": train + gap}


def test_losses_are_lower_is_better(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=100, user_attrs=_losses)
    found = diagnose(history)
    assert not found.higher_is_better
    for t in found.trials:
        assert t.gap == pytest.approx(t.validation - t.train)
    over = {t.number for t in found.trials if t.verdict == "overfit"}
    expected = {t.number for t in history.trials if t.params["subsample"] > 0.9}
    assert over == expected
    assert next(iter(found.drivers)) == "subsample"
    assert any(r.startswith("subsample >= 0.9") for r in found.regions)


def _underfit(p, rng):
    # Tiny learning rates leave both metrics poor; there is no over-fitting at all.
    level = 0.5 if p["lr"] < 1e-3 else 0.9
    noise = 0.002 * rng.standard_normal()
    return {"train_score": level + 0.01 + noise, "validation_score": level + noise}


def test_underfitting_trials_are_poor_on_both(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=100, user_attrs=_underfit)
    found = diagnose(history, underfit_quantile=0.2)
    under = [t for t in found.trials if t.verdict == "underfit"]
    assert under and all(t.train < 0.6 and t.validation < 0.6 for t in under)
    assert not [t for t in found.trials if t.verdict == "overfit"]
    assert any("lr < " in r and "under-fit" in r for r in found.regions)


def test_explicit_threshold(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=40, user_attrs=_scores)
    everything = diagnose(history, gap_threshold=-1.0)
    assert {t.verdict for t in everything.trials} == {"overfit"}
    assert everything.threshold == -1.0


def test_trials_without_the_attributes_are_left_out(make_history):
    def some(p, rng):
        return _scores(p, rng) if p["depth"] % 2 else {}

    history = make_history(lambda p: 0.0, SPACE, n_trials=40, user_attrs=some)
    found = diagnose(history)
    assert 0 < len(found.trials) < 40
    assert all(history.by_number(t.number).params["depth"] % 2 for t in found.trials)


def test_few_trials_get_verdicts_without_drivers(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=4, user_attrs=_scores)
    found = diagnose(history)
    assert len(found.trials) == 4 and found.drivers == {} and found.regions == []
    assert found.summary.startswith("0 of 4 trials over-fit") or "of 4 trials" in found.summary


def test_missing_attributes_say_what_to_record(make_history):
    history = make_history(lambda p: 0.0, SPACE, n_trials=10)
    with pytest.raises(InvalidValueError, match="train_score.*validation_score.*train_loss"):
        diagnose(history)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"gap_threshold": float("nan")}, "gap_threshold must be", id="nan"),
        pytest.param({"underfit_quantile": 1.0}, "underfit_quantile must be", id="quantile"),
    ],
)
def test_invalid_arguments(make_history, kwargs, message):
    history = make_history(lambda p: 0.0, SPACE, n_trials=10, user_attrs=_scores)
    with pytest.raises(InvalidValueError, match=message):
        diagnose(history, **kwargs)
