from __future__ import annotations

import math

import pytest

import hyperdial
from hyperdial import Categorical, Direction, Float, FrozenTrial, History, TrialPruned, TrialState
from hyperdial.analysis import explain_best, explain_trial
from hyperdial.exceptions import InvalidValueError, NoCompletedTrialsError
from hyperdial.samplers import RandomSampler
from hyperdial.schedulers import MedianPruner


def _lineage_history():
    x = Float(0, 1)
    trials = (
        FrozenTrial(0, 0, TrialState.COMPLETE, {"x": 0.5}, {"x": x}, (0.4,), budget=1.0),
        FrozenTrial(1, 1, TrialState.COMPLETE, {"x": 0.2}, {"x": x}, (0.3,), budget=1.0),
        FrozenTrial(
            2, 2, TrialState.COMPLETE, {"x": 0.2}, {"x": x}, (0.25,), budget=3.0, parent=1,
            reason="ASHA: promoted to rung 1",
        ),
        FrozenTrial(
            3, 3, TrialState.COMPLETE, {"x": 0.2}, {"x": x}, (0.1,), budget=9.0, parent=2,
            reason="ASHA: promoted to rung 2",
        ),
        FrozenTrial(
            4, 4, TrialState.PRUNED, {"x": 0.9}, {"x": x}, (0.8,), intermediate={3: 0.8},
            error="MedianPruner at step 3: 0.8 is worse than the median 0.35",
        ),
        FrozenTrial(
            5, 5, TrialState.FAILED, {"x": 0.7}, {"x": x},
            error="Traceback (most recent call last):\n  ...\nValueError: loss is NaN",
        ),
    )  # fmt: skip
    return History((Direction.MINIMIZE,), trials)


def test_explains_a_completed_trial_with_its_lineage():
    text = explain_trial(_lineage_history(), 3)
    assert text.startswith("Trial 3 is COMPLETE with value 0.1 (minimize), ranked 1 of 4")
    assert "x=0.2" in text
    assert "ASHA: promoted to rung 2" in text
    assert "budget 9" in text and "continued trial 2 (budget 3), from trial 1 (budget 1)" in text


def test_explains_pruned_and_failed_trials():
    history = _lineage_history()
    pruned = explain_trial(history, 4)
    assert "PRUNED with last reported value 0.8" in pruned and "stopped early" in pruned
    assert "MedianPruner at step 3: 0.8 is worse than the median 0.35" in pruned
    failed = explain_trial(history, 5)
    assert "FAILED" in failed and "ValueError: loss is NaN" in failed
    assert "full traceback" in failed


def test_explains_trials_of_a_real_study():
    study = hyperdial.create_study(
        sampler=RandomSampler(), scheduler=MedianPruner(n_startup_trials=2), seed=0
    )

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 6:
            raise ValueError("the data loader broke")
        for step in range(3):
            trial.report(x + step, step)
            if trial.should_prune():
                raise TrialPruned()
        return x

    study.optimize(objective, n_trials=12, catch=(ValueError,))
    failed = explain_trial(study, 6)
    assert "FAILED" in failed and "ValueError: the data loader broke" in failed
    complete = explain_trial(study, 0)
    assert "COMPLETE" in complete and "Why these parameters:" in complete
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert pruned
    text = explain_trial(study, pruned[0].number)
    assert "stopped early" in text and "PRUNED" in text


def test_unknown_trial_number():
    with pytest.raises(InvalidValueError, match="number must be the number of a trial"):
        explain_trial(_lineage_history(), 42)


def test_explain_best_names_values_and_the_good_region(make_history):
    space = {"lr": Float(1e-4, 1e-1, log=True), "noise": Float(0, 1)}
    history = make_history(lambda p: (math.log10(p["lr"]) + 2) ** 2, space, n_trials=120)
    text = explain_best(history)
    best = history.best
    assert f"Trial {best.number} is the best of 120 completed trials" in text
    assert "the median is" in text and "runner-up" in text
    line = next(line for line in text.splitlines() if line.startswith("lr = "))
    assert "lies in its good region" in line and "between" in line
    assert "noise =" not in text  # it explains nothing


def test_explain_best_maximize_and_categorical(make_history):
    space = {"opt": Categorical(["adam", "sgd", "rmsprop"]), "x": Float(0, 1)}
    history = make_history(
        lambda p: 3.0 * (p["opt"] == "sgd") + 0.1 * p["x"],
        space,
        n_trials=60,
        directions=["maximize"],
    )
    text = explain_best(history)
    assert "(maximize)" in text
    assert history.best.params["opt"] == "sgd"
    assert "opt = 'sgd' lies in its good region" in text
    assert "best for opt = 'sgd'" in text


def test_explain_best_with_few_trials(make_values_history):
    text = explain_best(make_values_history([3.0, 1.0, 2.0]))
    assert text.startswith("Trial 1 is the best of 3 completed trials with 1 (minimize)")
    assert "fewer than 5 completed trials" in text
    with pytest.raises(NoCompletedTrialsError, match="at least 2 completed trials"):
        explain_best(make_values_history([1.0]))
