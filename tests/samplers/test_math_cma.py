from __future__ import annotations

import math
from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pytest

from hyperdial.samplers._math import cma


def _generation(state, params, rng, f):
    xs = np.array(
        [cma.sample(state, rng.standard_normal(params.n)) for _ in range(params.popsize)]
    )
    return cma.update(state, params, xs, np.array([f(x) for x in xs]))


def _sphere(x):
    return float(((x - 0.3) ** 2).sum())


def _ellipsoid(x):
    scale = 1e3 ** (np.arange(len(x)) / max(len(x) - 1, 1))
    return float((scale * (x - 0.5) ** 2).sum())


@pytest.mark.parametrize("n, popsize", [(1, 4), (2, 6), (10, 10), (3, 40)])
def test_weights_follow_the_tutorial(n, popsize):
    params = cma.strategy_params(n, popsize)
    positive = params.weights[params.weights > 0]
    assert len(positive) == params.mu == popsize // 2
    assert math.isclose(positive.sum(), 1.0)
    assert np.all(np.diff(params.weights) <= 0)
    assert 1 <= params.mu_eff <= params.mu
    assert 0 < params.c_1 + params.c_mu <= 1
    assert 0 < params.c_sigma < 1 and params.d_sigma >= 1


def test_default_popsize():
    assert [cma.default_popsize(n) for n in (1, 2, 6, 10, 100)] == [4, 6, 9, 10, 17]


def test_strategy_params_reject_tiny_problems():
    with pytest.raises(ValueError, match="popsize >= 2"):
        cma.strategy_params(2, 1)


def test_the_mean_converges_on_a_two_dimensional_sphere():
    params = cma.strategy_params(2, 6)
    state = cma.initial_state(np.array([0.9, 0.9]), 0.2)
    rng = np.random.default_rng(0)
    for _ in range(80):
        state = _generation(state, params, rng, _sphere)
    assert np.allclose(state.mean, 0.3, atol=1e-4)
    assert state.sigma < 1e-3


def test_covariance_stays_symmetric_positive_definite_and_learns_the_scales():
    params = cma.strategy_params(4, 8)
    state = cma.initial_state(np.full(4, 0.2), 0.1)
    rng = np.random.default_rng(1)
    for _ in range(150):
        state = _generation(state, params, rng, _ellipsoid)
        assert np.array_equal(state.cov, state.cov.T)
        assert np.linalg.eigvalsh(state.cov).min() > 0
        assert np.allclose(state.basis @ np.diag(state.scales**2) @ state.basis.T, state.cov)
    variances = np.diag(state.cov)
    assert variances[0] > 10 * variances[-1]  # wide where the ellipsoid is flat


def test_worst_ranked_infinite_values_do_not_break_the_update():
    params = cma.strategy_params(3, 6)
    state = cma.initial_state(np.full(3, 0.5), 0.2)
    xs = np.array([cma.sample(state, z) for z in np.random.default_rng(2).normal(size=(6, 3))])
    values = np.array([1.0, np.inf, 0.5, np.inf, 2.0, 3.0])
    new = cma.update(state, params, xs, values)
    assert np.all(np.isfinite(new.cov)) and np.linalg.eigvalsh(new.cov).min() > 0
    order = [2, 0, 4]  # the positive weights go to the three best
    assert np.allclose(new.mean, params.weights[:3] @ xs[order])


def test_sample_is_mean_plus_scaled_rotated_step():
    state = cma.initial_state(np.array([0.5, 0.5]), 0.1)
    state = replace(state, margin=np.array([2.0, 1.0]))
    assert np.allclose(cma.sample(state, np.array([1.0, -1.0])), [0.7, 0.4])


def test_margin_keeps_the_probability_of_leaving_the_cell():
    state = cma.initial_state(np.array([0.45, 0.5]), 0.01)
    low, high = np.array([0.4, np.nan]), np.array([0.6, np.nan])
    alpha = 0.05
    widened = cma.margin_scale(state, low, high, alpha)
    std = widened.sigma * widened.margin[0]
    leave = 1 - NormalDist(0.45, std).cdf(0.4) + NormalDist(0.45, std).cdf(0.4 - 0.0)
    assert math.isclose(1 - NormalDist(0.45, std).cdf(0.5), NormalDist(0.45, std).cdf(0.4))
    assert NormalDist(0.45, std).cdf(0.4) == pytest.approx(alpha)
    assert leave > alpha
    assert widened.margin[1] == 1.0  # continuous coordinate untouched
    wide = cma.margin_scale(replace(state, sigma=1.0), low, high, alpha)
    assert np.array_equal(wide.margin, [1.0, 1.0])  # already moving: never narrowed below 1


def test_stop_reason_tolx_tolfun_and_condition():
    params = cma.strategy_params(2, 6)
    state = cma.initial_state(np.full(2, 0.5), 0.2)
    assert cma.stop_reason(state, params, np.zeros(3), np.zeros(6)) is None
    assert cma.stop_reason(replace(state, sigma=1e-8), params, np.zeros(3), np.zeros(6)) == "tolx"
    window = 10 + math.ceil(30 * 2 / 6)
    flat = np.ones(window + 1)
    assert cma.stop_reason(state, params, flat, np.ones(6)) == "tolfun"
    assert cma.stop_reason(state, params, flat[:-1], np.ones(6)) is None  # too short
    assert cma.stop_reason(state, params, flat, np.array([1.0, 2.0])) is None
    skewed = replace(state, scales=np.array([1.0, 1e-8]))
    assert cma.stop_reason(skewed, params, np.zeros(3), np.zeros(6)) == "condition"
