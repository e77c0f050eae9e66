"""A report on a large study must stay quick: the analyses share one forest per snapshot."""

from __future__ import annotations

import math

import pytest

from hyperdial import Categorical, Float, Int
from hyperdial.analysis import _forest, importance, interactions, partial_dependence

SPACE = {f"f{i}": Float(0, 1) for i in range(6)}
SPACE.update(
    lr=Float(1e-5, 1e-1, log=True),
    depth=Int(1, 8),
    optimizer=Categorical(["adam", "sgd", "rmsprop"]),
    width=Int(16, 1024, log=True),
)


def _objective(p):
    return (
        (math.log10(p["lr"]) + 3) ** 2
        + 3 * p["f0"]
        + 2 * p["f1"] * p["f2"]
        + (p["optimizer"] == "sgd")
    )


@pytest.mark.slow
def test_ten_thousand_trials_of_ten_parameters(make_history, monkeypatch):
    # What keeps the analyses of a large study quick: one forest for all of them (speed
    # itself is for benchmarks, not tests).
    history = make_history(_objective, SPACE, n_trials=10_000, noise=0.1)
    fits = []
    real_fit = _forest._fit

    def counting_fit(owner, data, seed):
        forest = real_fit(owner, data, seed)
        fits.append(data)
        return forest

    monkeypatch.setattr(_forest, "_fit", counting_fit)
    shares = importance(history)
    interactions(history)
    for name in ("lr", "f0", "depth", "optimizer", "width"):
        partial_dependence(history, name)
    assert list(shares)[:2] == ["lr", "f0"]
    assert len(fits) == 1  # one forest served every analysis of the snapshot
