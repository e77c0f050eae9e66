from __future__ import annotations

import math

import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial.samplers import RandomSampler


def _single(n_trials: int, seed: int):
    """A minimised study with log, int, categorical and conditional parameters."""
    study = hyperdial.create_study("single", sampler=RandomSampler(seed=seed), seed=seed)
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
        trial.set_user_attr("train_score", 1 - loss / 10)
        trial.set_user_attr("validation_score", 1 - loss / 10 - 0.01 * depth)
        if i % 7 == 3:
            study.tell(trial, state=TrialState.PRUNED)
        elif i % 11 == 5:
            study.tell(trial, state=TrialState.FAILED, error="ValueError: the model diverged")
        else:
            study.tell(trial, loss)
    return study


def _multi(n_trials: int, seed: int, n_objectives: int = 2):
    directions = ["minimize", "maximize", "minimize"][:n_objectives]
    study = hyperdial.create_study(
        "multi", directions=directions, sampler=RandomSampler(seed=seed), seed=seed
    )
    for _ in range(n_trials):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 1e-3, 1, log=True)
        values = [x + y, (1 - x) + y, x * y][:n_objectives]
        study.tell(trial, values)
    return study


@pytest.fixture
def make_single():
    return lambda n_trials=30, seed=0: _single(n_trials, seed)


@pytest.fixture
def make_multi():
    return lambda n_trials=30, seed=0, n_objectives=2: _multi(n_trials, seed, n_objectives)
