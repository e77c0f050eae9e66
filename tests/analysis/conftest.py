"""Factories that build studies' histories from literals, without storage."""

from __future__ import annotations

import numpy as np
import pytest

from hyperdial import Direction, FrozenTrial, History, SearchSpace, TrialState
from hyperdial.distributions import from_unit


def _draw(space: SearchSpace, rng: np.random.Generator) -> dict:
    params: dict = {}
    for name, dist in space.items():
        if space.is_active(name, params):
            params[name] = from_unit(dist, float(rng.random()))
    return params


def _make_history(
    objective,
    space,
    *,
    n_trials=200,
    seed=0,
    directions=("minimize",),
    user_attrs=None,
    noise=0.0,
):
    """Return a History of random trials of ``objective(params)`` on ``space``.

    ``space`` is a SearchSpace or a mapping of name to distribution; ``noise`` adds Gaussian
    noise of that standard deviation to every value; ``user_attrs(params, rng)`` returns each
    trial's user attributes.
    """
    if not isinstance(space, SearchSpace):
        space = SearchSpace(dict(space))
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n_trials):
        params = _draw(space, rng)
        value = objective(params)
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        values = tuple(float(v) + noise * float(rng.standard_normal()) for v in values)
        attrs = user_attrs(params, rng) if user_attrs is not None else {}
        trials.append(
            FrozenTrial(
                trial_id=i,
                number=i,
                state=TrialState.COMPLETE,
                params=params,
                distributions={k: space[k] for k in params},
                values=values,
                user_attrs=attrs,
                reason="random",
            )
        )
    return History(tuple(Direction.parse(d) for d in directions), tuple(trials))


def _make_values_history(values, *, direction="minimize"):
    """Return a History of trials with the given values and no parameters."""
    trials = tuple(
        FrozenTrial(i, i, TrialState.COMPLETE, values=(float(v),)) for i, v in enumerate(values)
    )
    return History((Direction.parse(direction),), trials)


@pytest.fixture
def make_history():
    return _make_history


@pytest.fixture
def make_values_history():
    return _make_values_history
