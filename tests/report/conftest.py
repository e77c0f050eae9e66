from __future__ import annotations

import math

import numpy as np
import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial._record import record_data
from hyperdial.samplers import RandomSampler

PRUNE_REASON = "pruned at step {step} (rung 0, resource 2): rank {rank} of 4"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "train.py", line 3, in fit\n'
    "    raise FloatingPointError('loss is NaN')\n"
    "FloatingPointError: loss is NaN"
)


def _single(n_trials: int, seed: int, name: str = "tuned"):
    """A minimised study: log/int/categorical/conditional params, curves, scores, failures."""
    study = hyperdial.create_study(name, sampler=RandomSampler(seed=seed), seed=seed)
    record_data(study, np.arange(12.0).reshape(4, 3), np.array([0, 1, 0, 1]), source="tests")
    for i in range(n_trials):
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        depth = trial.suggest_int("depth", 1, 8)
        kind = trial.suggest_categorical("kind", ["rbf", "linear"])
        gamma = trial.suggest_float("gamma", 0.01, 10, log=True) if kind == "rbf" else 1.0
        loss = (math.log10(lr) + 2) ** 2 + 0.1 * depth + (0.5 if kind == "linear" else 0)
        loss += 0.05 * abs(math.log10(gamma))
        for step in range(4):
            trial.report(loss * (1 + 1.0 / (step + 1)), step)
        trial.set_user_attr("train_score", 1 - loss / 10 + 0.01 * depth)
        trial.set_user_attr("validation_score", 1 - loss / 10 - 0.02 * max(depth - 5, 0))
        if i % 7 == 3:
            reason = PRUNE_REASON.format(step=3, rank=3 + i % 2)
            study.tell(trial, state=TrialState.PRUNED, error=reason)
        elif i % 11 == 5:
            study.tell(trial, state=TrialState.FAILED, error=TRACEBACK)
        else:
            study.tell(trial, loss)
    return study


def _multi(n_trials: int, seed: int, n_objectives: int = 2, name: str = "tradeoff"):
    directions = ["minimize", "maximize", "minimize"][:n_objectives]
    study = hyperdial.create_study(
        name, directions=directions, sampler=RandomSampler(seed=seed), seed=seed
    )
    for _ in range(n_trials):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 1e-3, 1, log=True)
        unit = trial.suggest_categorical("unit", ["a", "b"])
        bonus = 0.1 if unit == "a" else 0.0
        values = [x + y + bonus, x - y, x * y + bonus][:n_objectives]
        study.tell(trial, values)
    return study


@pytest.fixture
def make_single():
    return lambda n_trials=40, seed=0, name="tuned": _single(n_trials, seed, name)


@pytest.fixture
def make_multi():
    def make(n_trials=40, seed=0, n_objectives=2, name="tradeoff"):
        return _multi(n_trials, seed, n_objectives, name)

    return make
