from __future__ import annotations

import numpy as np
import pytest

from hyperdial.analysis import ConvergenceAdvice, convergence


def test_continue_on_a_steadily_improving_study(make_values_history):
    rng = np.random.default_rng(0)
    values = [(1.0 + 0.2 * rng.random()) / (i + 1) for i in range(80)]
    advice = convergence(make_values_history(values))
    assert isinstance(advice, ConvergenceAdvice)
    assert advice.advice == "continue" and advice.improving
    assert advice.expected_gain > 0
    assert advice.n_trials == 80 and advice.best_value == pytest.approx(min(values))
    assert advice.trials_since_best < 20
    assert "improved by" in advice.reason and "20 trials" in advice.reason


def test_stop_on_a_plateau(make_values_history):
    rng = np.random.default_rng(1)
    values = [0.2] + list(0.5 + rng.random(99))
    advice = convergence(make_values_history(values))
    assert advice.advice == "stop" and not advice.improving
    assert advice.expected_gain == 0.0
    assert advice.trials_since_best == 99
    assert "has not improved in the last 25 trials" in advice.reason
    assert "99 trials ago" in advice.reason


def test_maximize(make_values_history):
    rising = [float(i) for i in range(40)]
    advice = convergence(make_values_history(rising, direction="maximize"))
    assert advice.advice == "continue" and advice.best_value == 39.0
    assert advice.expected_gain == pytest.approx(10.0)
    flat = [5.0] + [1.0] * 39
    assert convergence(make_values_history(flat, direction="maximize")).advice == "stop"


def test_slowing_improvements_shrink_the_expected_gain(make_values_history):
    # Improvements of 8, 2 and 0.5 per window: the next should gain about 0.5 * 0.5 / 2.
    values = [20.0] * 10 + [12.0] * 10 + [10.0] * 10 + [9.5] * 10
    advice = convergence(make_values_history(values))
    assert advice.expected_gain == pytest.approx(0.5 * 0.5 / 2.0)
