from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

from hyperdial.samplers._math import truncnorm
from hyperdial.samplers._math.parzen import (
    Domain,
    ParzenEstimator,
    Prior,
    categorical_smoothing,
    magic_clip,
    neighbour_bandwidths,
    observation_weights,
    scott_bandwidths,
)
from hyperdial.samplers._math.tpe_split import (
    co_occurrence_groups,
    hypervolume,
    n_good,
    pareto_ranks,
    split_pareto,
    split_ranked,
)
from hyperdial.space import Int, from_unit, to_unit

NO_CATS = np.zeros((0, 0), dtype=int)


def _fit(u, c=None, *, domain=None, n_choices=(), sigma=0.2, smoothing=None, prior=None, w=None):
    u = np.asarray(u, dtype=float).reshape(len(u), -1) if len(u) else np.zeros((0, 1))
    n, d = u.shape
    c = np.zeros((n, 0), dtype=int) if c is None else np.asarray(c, dtype=int).reshape(n, -1)
    return ParzenEstimator.fit(
        u,
        c,
        np.ones(n) if w is None else np.asarray(w, dtype=float),
        domain=domain or Domain.continuous(d),
        n_choices=n_choices,
        sigma=np.broadcast_to(sigma, (d,)) if np.ndim(sigma) == 0 else np.asarray(sigma),
        cat_smoothing=np.full(len(n_choices), 0.2) if smoothing is None else smoothing,
        prior=prior or Prior.uniform(d, n_choices),
    )


# ---------------------------------------------------------------- truncated normals
@pytest.mark.parametrize(
    "a, b",
    [
        pytest.param(-1.0, 1.0, id="centre"),
        pytest.param(-3.0, -2.0, id="left"),
        pytest.param(0.5, 4.0, id="right"),
        pytest.param(-0.2, 0.1, id="straddling"),
    ],
)
def test_log_mass_matches_the_cdf_difference(a, b):
    expected = math.log(ndtr(b) - ndtr(a))
    assert truncnorm.log_mass(np.array(a), np.array(b)) == pytest.approx(expected, rel=1e-12)


def test_log_mass_stays_finite_and_accurate_in_the_far_tails():
    for a, b in [(40.0, 41.0), (-41.0, -40.0)]:
        got = float(truncnorm.log_mass(np.array(a), np.array(b)))
        lo = min(abs(a), abs(b))
        expected = stats.norm.logsf(lo) + math.log1p(
            -math.exp(stats.norm.logsf(lo + 1) - stats.norm.logsf(lo))
        )
        assert math.isfinite(got) and got == pytest.approx(expected, rel=1e-9)


def test_log_mass_of_a_narrow_interval_is_density_times_width():
    a, b = 0.3, 0.3 + 1e-9
    got = float(truncnorm.log_mass(np.array(a), np.array(b)))
    assert got == pytest.approx(stats.norm.logpdf((a + b) / 2) + math.log(b - a), rel=1e-12)


def test_truncated_log_pdf_matches_scipy():
    x = np.linspace(0.0, 1.0, 11)
    mu, sigma = 0.8, 0.3
    expected = stats.truncnorm.logpdf(x, -mu / sigma, (1 - mu) / sigma, loc=mu, scale=sigma)
    np.testing.assert_allclose(truncnorm.log_pdf(x, mu, sigma, 0.0, 1.0), expected, rtol=1e-10)
    assert truncnorm.log_pdf(np.array(1.5), mu, sigma, 0.0, 1.0) == -np.inf


def test_truncated_sampling_stays_in_bounds_and_follows_the_distribution():
    rng = np.random.default_rng(0)
    mu, sigma = 0.05, 0.4
    x = truncnorm.sample(np.full(4000, mu), np.full(4000, sigma), 0.0, 1.0, rng.random(4000))
    assert x.min() >= 0.0 and x.max() <= 1.0
    ref = stats.truncnorm(-mu / sigma, (1 - mu) / sigma, loc=mu, scale=sigma)
    assert stats.kstest(x, ref.cdf).pvalue > 0.01


def test_truncated_sampling_survives_tiny_and_huge_widths():
    u = np.array([0.0, 0.5, 0.999999])
    tiny = truncnorm.sample(np.full(3, 0.3), np.full(3, 1e-12), 0.0, 1.0, u)
    np.testing.assert_allclose(tiny, 0.3, atol=1e-9)
    huge = truncnorm.sample(np.full(3, 0.3), np.full(3, 1e6), 0.0, 1.0, u)
    assert np.all((huge >= 0) & (huge <= 1))


# ---------------------------------------------------------------- continuous mixtures
def test_continuous_pdf_integrates_to_one_in_one_dimension():
    est = _fit(
        [0.0, 0.1, 0.95], sigma=[0.05], prior=Prior(1.0, np.array([0.9]), 0.1, np.zeros(0), 0)
    )
    x = np.linspace(0.0, 1.0, 20001)[:, None]
    pdf = np.exp(est.log_pdf(x, np.zeros((len(x), 0), dtype=int)))
    assert np.trapezoid(pdf, x[:, 0]) == pytest.approx(1.0, abs=1e-6)


def test_continuous_pdf_integrates_to_one_in_two_dimensions():
    est = _fit(np.array([[0.2, 0.9], [0.5, 0.5]]), sigma=[0.1, 0.3])
    g = np.linspace(0.0, 1.0, 401)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    pdf = np.exp(est.log_pdf(pts, np.zeros((len(pts), 0), dtype=int))).reshape(xx.shape)
    assert np.trapezoid(np.trapezoid(pdf, g, axis=1), g) == pytest.approx(1.0, abs=1e-4)


def test_log_pdf_matches_a_direct_mixture_of_truncated_normals():
    mus = np.array([[0.2, 0.7], [0.9, 0.1]])
    sig = np.array([0.15, 0.3])
    weights = np.array([1.0, 3.0])
    prior = Prior(2.0, np.array([np.nan, 0.4]), 0.5, np.zeros(0, dtype=int), 0.0)
    est = _fit(mus, sigma=sig, prior=prior, w=weights)
    x = np.array([[0.3, 0.3], [0.0, 1.0], [0.99, 0.5]])

    def tn(v, m, s):
        return stats.truncnorm.pdf(v, -m / s, (1 - m) / s, loc=m, scale=s)

    direct = np.zeros(len(x))
    for m, w in zip(mus, weights):
        direct += w * tn(x[:, 0], m[0], sig[0]) * tn(x[:, 1], m[1], sig[1])
    direct += 2.0 * 1.0 * tn(x[:, 1], 0.4, 0.5)  # the prior: uniform in x, a kernel in y
    direct /= weights.sum() + 2.0
    got = est.log_pdf(x, np.zeros((3, 0), dtype=int))
    np.testing.assert_allclose(got, np.log(direct), rtol=1e-10)


def test_an_empty_estimator_is_its_prior():
    est = _fit([], sigma=[0.2])
    x = np.linspace(0, 1, 5)[:, None]
    np.testing.assert_allclose(est.log_pdf(x, np.zeros((5, 0), dtype=int)), 0.0, atol=1e-12)


# ---------------------------------------------------------------- discrete and categorical
def test_grid_masses_sum_to_one_and_match_cell_integrals():
    n = 7
    domain = Domain(np.array([n]), np.zeros(1), np.zeros(1))
    est = _fit([0.5 / n, 3.5 / n], domain=domain, sigma=[0.1])
    centres = (np.arange(n) + 0.5)[:, None] / n
    masses = np.exp(est.log_pdf(centres, np.zeros((n, 0), dtype=int)))
    assert masses.sum() == pytest.approx(1.0, abs=1e-12)
    cont = _fit([0.5 / n, 3.5 / n], sigma=[0.1])
    fine = np.linspace(3 / n, 4 / n, 2001)[:, None]
    integral = np.trapezoid(np.exp(cont.log_pdf(fine, np.zeros((2001, 0), dtype=int))), fine[:, 0])
    assert masses[3] == pytest.approx(integral, rel=1e-6)


def test_log_int_masses_sum_to_one_and_agree_with_the_space_map():
    dist = Int(1, 300, log=True)
    domain = Domain(np.array([0]), np.array([1.0]), np.array([300.0]))
    obs = [to_unit(dist, v) for v in (2, 50, 51)]
    est = _fit(obs, domain=domain, sigma=[0.05])
    values = np.arange(1, 301)
    u = np.array([to_unit(dist, int(v)) for v in values])[:, None]
    masses = np.exp(est.log_pdf(u, np.zeros((len(u), 0), dtype=int)))
    assert masses.sum() == pytest.approx(1.0, abs=1e-10)
    lo, hi = domain.cells(u)
    assert np.all(lo[:, 0] <= u[:, 0]) and np.all(u[:, 0] <= hi[:, 0])
    np.testing.assert_allclose(lo[1:, 0], hi[:-1, 0], atol=1e-12)  # cells tile the interval


def test_categorical_masses_sum_to_one_with_a_default_prior():
    prior = Prior(1.0, np.zeros(0), 0.2, np.array([2]), 0.5)
    est = _fit(np.zeros((3, 0)), c=[[0], [0], [1]], n_choices=(4,), prior=prior)
    c = np.arange(4)[:, None]
    probs = np.exp(est.log_pdf(np.zeros((4, 0)), c))
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    # Aitchison-Aitken kernels with smoothing 0.2 plus a prior half on choice 2.
    kernel = lambda k: 0.8 * (np.arange(4) == k) + 0.2 / 4  # noqa: E731
    expected = (2 * kernel(0) + kernel(1) + (0.5 * (np.arange(4) == 2) + 0.5 / 4)) / 4
    np.testing.assert_allclose(probs, expected, rtol=1e-12)


def test_mixed_joint_masses_sum_to_one():
    domain = Domain(np.array([0, 5]), np.zeros(2), np.zeros(2))
    u = np.array([[0.1, 0.1], [0.8, 0.5]])
    est = _fit(u, c=[[1], [2]], domain=domain, n_choices=(3,), sigma=[0.2, 0.2])
    g = np.linspace(0, 1, 4001)
    total = 0.0
    for k in range(5):
        for j in range(3):
            pts = np.column_stack([g, np.full_like(g, (k + 0.5) / 5)])
            dens = np.exp(est.log_pdf(pts, np.full((len(g), 1), j)))
            total += np.trapezoid(dens, g)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_sampling_stays_in_bounds_on_the_grid_and_follows_the_masses():
    n = 5
    domain = Domain(np.array([0, n, 0]), np.array([0, 0, 1.0]), np.array([0, 0, 40.0]))
    u = np.array([[0.0, 0.1, 0.5], [1.0, 0.9, 0.2]])
    est = _fit(u, c=[[0], [3]], domain=domain, n_choices=(4,), sigma=[0.3, 0.3, 0.3])
    rng = np.random.default_rng(1)
    xu, xc = est.sample(rng, 20000)
    assert xu.min() >= 0.0 and xu.max() <= 1.0
    assert set(np.unique(xc[:, 0])) <= {0, 1, 2, 3}
    dist = Int(1, 40, log=True)
    assert all(dist.contains(from_unit(dist, float(v))) for v in xu[:200, 2])
    cells = np.clip(np.floor(xu[:, 1] * n), 0, n - 1).astype(int)
    freq = np.bincount(cells, minlength=n) / len(cells)
    marg = _fit(u[:, 1:2], domain=Domain(np.array([n]), np.zeros(1), np.zeros(1)), sigma=[0.3])
    centres = (np.arange(n) + 0.5)[:, None] / n
    masses = np.exp(marg.log_pdf(centres, np.zeros((n, 0), dtype=int)))
    np.testing.assert_allclose(freq, masses, atol=0.015)
    cat_freq = np.bincount(xc[:, 0], minlength=4) / len(xc)
    expected = (0.8 * np.eye(4)[0] + 0.8 * np.eye(4)[3] + 0.2 / 4 * 2 + 0.25) / 3
    np.testing.assert_allclose(cat_freq, expected, atol=0.015)


# ---------------------------------------------------------------- bandwidths and weights
def test_neighbour_bandwidths_take_the_wider_gap():
    sigma = neighbour_bandwidths(np.array([0.1, 0.2, 0.6]), None, consider_endpoints=False)
    np.testing.assert_allclose(sigma, [0.1, 0.4, 0.4])
    with_ends = neighbour_bandwidths(np.array([0.1, 0.2, 0.6]), 0.5, consider_endpoints=True)
    np.testing.assert_allclose(with_ends, [0.1, 0.3, 0.4])
    assert neighbour_bandwidths(np.array([0.3]), None, False).tolist() == [pytest.approx(0.7)]


def test_scott_rule_follows_the_spread_of_the_observations():
    u = np.array([[0.1, 0.5], [0.3, 0.5], [0.5, 0.5]])
    w = np.ones(3)
    got = scott_bandwidths(u, w, n_dims=2, factor=1.0, prior_weight=1.0)
    spread = np.sqrt((np.array([0.08, 0.0]) + 1 / 12) / 4)
    np.testing.assert_allclose(got, spread * 4 ** (-1 / 6))
    assert got[0] > got[1]  # the spread-out column gets the wider kernels
    empty = scott_bandwidths(np.zeros((0, 2)), np.zeros(0), 2, 1.0, 1.0)
    np.testing.assert_allclose(empty, 1 / math.sqrt(12))
    far = scott_bandwidths(np.full((50, 1), 0.3), np.ones(50), 1, 1.0, 1.0)
    near = scott_bandwidths(np.full((5, 1), 0.3), np.ones(5), 1, 1.0, 1.0)
    assert far[0] < near[0]  # identical observations: the width shrinks as they accumulate


def test_categorical_smoothing_shrinks_with_the_number_of_observations():
    np.testing.assert_allclose(categorical_smoothing(0, np.array([3, 5])), [1.0, 1.0])
    np.testing.assert_allclose(categorical_smoothing(9, np.array([3])), [0.25])
    assert categorical_smoothing(90, np.array([3]))[0] < categorical_smoothing(9, np.array([3]))[0]
    np.testing.assert_allclose(categorical_smoothing(12, np.array([3]), per_choice=4.0), [0.5])


def test_magic_clip_and_observation_weights():
    assert magic_clip(9) == pytest.approx(0.1) and magic_clip(500) == pytest.approx(0.01)
    assert observation_weights(5, None).tolist() == [1.0] * 5
    w = observation_weights(30, 25)
    assert w[-25:].tolist() == [1.0] * 25 and w[0] == pytest.approx(1 / 30)
    assert np.all(np.diff(w) >= 0)


# ---------------------------------------------------------------- good / bad splits
def test_n_good_rules():
    assert n_good(0, 0.1, 25, "linear") == 0
    assert n_good(95, 0.1, 25, "linear") == 10
    assert n_good(1000, 0.1, 25, "linear") == 25
    assert n_good(100, 0.25, 25, "sqrt") == 3
    assert n_good(3, 1.0, 25, "linear") == 3


def test_pareto_ranks_and_hypervolume():
    f = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [4.0, 4.0], [1.0, 4.0]])
    assert pareto_ranks(f).tolist() == [0, 0, 0, 1, 2, 0]
    ref = np.array([5.0, 5.0])
    assert hypervolume(f[:3], ref) == pytest.approx(4 + 6 + 1)
    cube = np.array([[0.0, 0.0, 0.0]])
    assert hypervolume(cube, np.ones(3)) == pytest.approx(1.0)
    two = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.0]])
    assert hypervolume(two, np.ones(3)) == pytest.approx(0.25 + 0.5 - 0.125)


def test_split_pareto_fills_with_hypervolume_contribution():
    f = np.array([[0.0, 1.0], [0.1, 0.5], [0.5, 0.45], [1.0, 0.0], [2.0, 2.0]])
    good, rank = split_pareto(f, 3)
    assert rank == 0 and good.tolist() == [True, True, False, True, False]
    good, rank = split_pareto(f, 5)
    assert rank == 1 and good.all()


def test_split_ranked_puts_pruned_observations_after_complete_ones():
    values = np.array([3.0, 1.0, 2.0])
    steps = np.array([5, -1, 9, 9])
    last = np.array([0.0, -10.0, 4.0, np.nan])
    assert split_ranked(values, steps, last, 2).tolist() == [0, 1, 1, 0, 0, 0, 0]  # 1.0, 2.0
    order = [split_ranked(values, steps, last, k).sum() for k in range(8)]
    assert order == list(range(8))
    # The three complete, then the deepest pruned (a number before NaN), then the shallower.
    assert split_ranked(values, steps, last, 4).tolist() == [1, 1, 1, 0, 0, 1, 0]
    assert split_ranked(values, steps, last, 5).tolist() == [1, 1, 1, 0, 0, 1, 1]
    assert split_ranked(values, steps, last, 6).tolist() == [1, 1, 1, 1, 0, 1, 1]


@pytest.mark.parametrize(
    "rows, groups",
    [
        pytest.param([[1, 1, 1]], [[0, 1, 2]], id="unconditional"),
        pytest.param([[1, 1, 0, 0], [1, 0, 1, 1]], [[0], [1], [2, 3]], id="branches"),
        pytest.param([[1, 1, 0], [1, 1, 1], [0, 0, 0]], [[0, 1], [2]], id="nested"),
        pytest.param([[0, 0]], [[0, 1]], id="no-data"),
    ],
)
def test_co_occurrence_groups(rows, groups):
    assert co_occurrence_groups(np.array(rows, dtype=bool)) == groups
    wide = np.zeros((2, 70), dtype=bool)  # beyond the integer packing of rows
    wide[0, :35] = True
    wide[1, 35:] = True
    assert co_occurrence_groups(wide) == [list(range(35)), list(range(35, 70))]
