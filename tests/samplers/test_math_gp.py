from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from hyperdial.samplers._math import acquisition, gp, kernels
from hyperdial.samplers.gp._warp import OutputWarp

RNG_SEED = 0


def _data(n=12, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    X[:, 2] = rng.integers(0, 3, n)
    is_cat = np.array([False, False, True])
    y = np.sin(4 * X[:, 0]) + X[:, 1] + 0.3 * X[:, 2]
    return X, (y - y.mean()) / y.std(), is_cat


# ---------------------------------------------------------------------- kernels
def test_matern52_is_one_at_zero_and_decreasing():
    r2 = np.array([0.0, 0.1, 1.0, 10.0])
    k = kernels.matern52(r2)
    assert k[0] == 1.0
    assert np.all(np.diff(k) < 0)


def test_matern52_grad_matches_finite_differences():
    r2 = np.array([1e-3, 0.2, 1.0, 4.0])
    h = 1e-7
    numeric = (kernels.matern52(r2 + h) - kernels.matern52(r2 - h)) / (2 * h)
    np.testing.assert_allclose(kernels.matern52_grad(r2), numeric, rtol=1e-5)
    assert kernels.matern52_grad(np.array([0.0]))[0] == pytest.approx(-5 / 6)


def test_scaled_sqdist_matches_an_explicit_loop():
    X, _, is_cat = _data()
    ls = np.array([0.3, 1.5, 0.7])
    expected = np.zeros((len(X), len(X)))
    for a in range(len(X)):
        for b in range(len(X)):
            d = (X[a, :2] - X[b, :2]) / ls[:2]
            expected[a, b] = d @ d + float(X[a, 2] != X[b, 2]) / ls[2] ** 2
    np.testing.assert_allclose(
        kernels.scaled_sqdist(X, X, ls, is_cat), expected, rtol=1e-10, atol=1e-12
    )


def test_kernel_matrix_is_symmetric_positive_semidefinite():
    X, _, is_cat = _data(n=40)
    K = kernels.kernel(X, X, np.array([0.2, 0.5, 0.3]), 1.7, is_cat)
    np.testing.assert_allclose(K, K.T, atol=1e-14)
    assert np.linalg.eigvalsh(K).min() > -1e-9
    np.testing.assert_allclose(np.diag(K), 1.7)


def test_categorical_distance_ignores_the_order_of_choices():
    is_cat = np.array([True])
    X = np.array([[0.0], [1.0], [2.0]])
    K = kernels.kernel(X, X, np.array([1.0]), 1.0, is_cat)
    assert K[0, 1] == pytest.approx(K[0, 2])


def test_lengthscale_gradient_of_the_distance_sum_matches_finite_differences():
    X, _, is_cat = _data()
    rng = np.random.default_rng(1)
    P = rng.standard_normal((len(X), len(X)))
    P = P + P.T
    log_ls = np.log(np.array([0.3, 1.5, 0.7]))

    def total(t):
        return float(np.sum(P * kernels.scaled_sqdist(X, X, np.exp(t), is_cat)))

    numeric = approx_fprime(log_ls, total, 1e-7)
    analytic = kernels.sqdist_grad_lengthscales(P, X, np.exp(log_ls), is_cat)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_trend_kernel_is_a_linear_and_quadratic_regression():
    X, _, is_cat = _data()
    Z = 2 * X[:, :2] - 1
    expected = 0.3 * Z @ Z.T + 0.7 * (Z**2) @ (Z**2).T
    np.testing.assert_allclose(kernels.trend_kernel(X, X, 0.3, 0.7, is_cat), expected)
    rng = np.random.default_rng(5)
    x, w = X[:2] + 0.01, rng.standard_normal((2, len(X)))
    grad = kernels.trend_grad_x(x, X, 0.3, 0.7, is_cat, w)
    h = 1e-6
    for j in range(2):
        xp, xm = x.copy(), x.copy()
        xp[:, j] += h
        xm[:, j] -= h
        kp = np.sum(kernels.trend_kernel(xp, X, 0.3, 0.7, is_cat) * w, axis=1)
        km = np.sum(kernels.trend_kernel(xm, X, 0.3, 0.7, is_cat) * w, axis=1)
        np.testing.assert_allclose(grad[:, j], (kp - km) / (2 * h), rtol=1e-6, atol=1e-8)
    assert np.all(grad[:, 2] == 0.0)


def test_kernel_gradient_in_x_matches_finite_differences():
    X, _, is_cat = _data()
    ls = np.array([0.3, 0.8, 0.7])
    rng = np.random.default_rng(2)
    x = X[:3].copy() + 0.05
    w = rng.standard_normal((3, len(X)))
    grad = kernels.kernel_grad_x(x, X, ls, 1.3, is_cat, w)
    h = 1e-6
    for j in range(2):
        xp, xm = x.copy(), x.copy()
        xp[:, j] += h
        xm[:, j] -= h
        kp = np.sum(kernels.kernel(xp, X, ls, 1.3, is_cat) * w, axis=1)
        km = np.sum(kernels.kernel(xm, X, ls, 1.3, is_cat) * w, axis=1)
        np.testing.assert_allclose(grad[:, j], (kp - km) / (2 * h), rtol=1e-5, atol=1e-7)
    assert np.all(grad[:, 2] == 0.0)


# ---------------------------------------------------------------------- GP
def test_neg_log_posterior_gradient_matches_finite_differences():
    X, y, is_cat = _data()
    prior = gp.HyperPrior.default(3)
    theta = np.array([-1.0, 0.3, -0.5, 0.2, -3.0, -1.5, -2.0])
    value, grad = gp.neg_log_posterior(theta, X, y, is_cat, prior)
    numeric = approx_fprime(theta, lambda t: gp.neg_log_posterior(t, X, y, is_cat, prior)[0], 1e-6)
    assert math.isfinite(value)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_posterior_matches_the_closed_form_on_tiny_data():
    X = np.array([[0.1], [0.5], [0.9]])
    y = np.array([1.0, -0.5, 0.25])
    is_cat = np.array([False])
    hyper = gp.GPHyperparameters(np.array([0.4]), 1.5, 0.01, trend_lin=0.2, trend_sq=0.3)
    post = gp.condition(X, y, hyper, is_cat)
    x = np.array([[0.3], [0.7]])

    def k(a, b):
        r = abs(a - b) / 0.4
        matern = 1.5 * (1 + math.sqrt(5) * r + 5 / 3 * r * r) * math.exp(-math.sqrt(5) * r)
        za, zb = 2 * a - 1, 2 * b - 1
        return matern + 0.2 * za * zb + 0.3 * za**2 * zb**2

    K = np.array([[k(a, b) for b in X[:, 0]] for a in X[:, 0]]) + 0.01 * np.eye(3)
    ks = np.array([[k(a, b) for b in X[:, 0]] for a in x[:, 0]])
    mean = ks @ np.linalg.solve(K, y)
    prior_var = np.array([k(a, a) for a in x[:, 0]])
    var = prior_var - np.einsum("ij,ji->i", ks, np.linalg.solve(K, ks.T))
    got_mean, got_var = gp.predict(post, x)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-10)
    np.testing.assert_allclose(got_var, var, rtol=1e-8)


def test_posterior_gradients_match_finite_differences():
    X, y, is_cat = _data()
    hyper = gp.GPHyperparameters(np.array([0.3, 0.6, 1.0]), 1.2, 1e-3, 0.3, 0.2)
    post = gp.condition(X, y, hyper, is_cat)
    x = np.array([[0.2, 0.3, 1.0], [0.7, 0.9, 0.0]])
    _, _, dmean, dvar = gp.predict(post, x, with_grad=True)
    h = 1e-6
    for j in range(2):
        xp, xm = x.copy(), x.copy()
        xp[:, j] += h
        xm[:, j] -= h
        (mp, vp), (mm, vm) = gp.predict(post, xp), gp.predict(post, xm)
        np.testing.assert_allclose(dmean[:, j], (mp - mm) / (2 * h), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dvar[:, j], (vp - vm) / (2 * h), rtol=1e-4, atol=1e-6)


def test_extended_factor_equals_the_full_factor():
    X, _, is_cat = _data(n=20)
    hyper = gp.GPHyperparameters(np.array([0.3, 0.6, 1.0]), 1.2, 1e-2)
    K = kernels.kernel(X, X, hyper.lengthscales, hyper.signal_var, is_cat) + 1e-2 * np.eye(20)
    L = gp.extend_cholesky(np.linalg.cholesky(K[:15, :15]), K[:15, 15:], K[15:, 15:])
    np.testing.assert_allclose(L, np.linalg.cholesky(K), atol=1e-12)


def test_cholesky_adds_jitter_to_a_singular_matrix():
    K = np.ones((3, 3))
    L = gp.cholesky(K)
    np.testing.assert_allclose(L @ L.T, K, atol=1e-6)


def test_kriging_believer_keeps_the_mean_and_shrinks_the_variance():
    X, y, is_cat = _data()
    post = gp.condition(X, y, gp.GPHyperparameters(np.array([0.3, 0.6, 1.0]), 1.0, 1e-4), is_cat)
    pending = np.array([[0.45, 0.55, 1.0]])
    near = np.array([[0.46, 0.55, 1.0], [0.9, 0.1, 2.0]])
    mean0, var0 = gp.predict(post, near)
    believed = gp.add_points(post, pending, gp.predict(post, pending)[0])
    mean1, var1 = gp.predict(believed, near)
    np.testing.assert_allclose(mean1, mean0, atol=1e-8)
    assert var1[0] < 0.1 * var0[0]
    assert var1[1] <= var0[1] + 1e-12


def test_fantasies_condition_on_samples_of_the_pending_outcomes():
    X, y, is_cat = _data()
    hyper = gp.GPHyperparameters(np.array([0.3, 0.6, 1.0]), 1.0, 1e-4)
    post = gp.condition(X, y, hyper, is_cat)
    pending = np.array([[0.45, 0.55, 1.0], [0.47, 0.5, 1.0]])
    normals = np.random.default_rng(0).standard_normal((4000, 2))
    f = gp.fantasize(post, pending, normals)
    mu, var = gp.predict(post, pending)
    # The samples follow the joint predictive distribution (two close points: correlated).
    np.testing.assert_allclose(f.outcomes.mean(axis=0), mu, atol=0.05 * np.sqrt(var).max())
    np.testing.assert_allclose(f.outcomes.var(axis=0), var + 1e-4, rtol=0.1)
    assert np.corrcoef(f.outcomes.T)[0, 1] > 0.5
    # Each sample is observed: the mean at a pending row is (almost) its sampled outcome.
    means, _ = gp.fantasy_mean(f, pending)
    np.testing.assert_allclose(means.T, f.outcomes, atol=1e-2 * np.sqrt(var).max())
    # On average over samples the mean is the believer's; the variance is the believer's.
    near = np.array([[0.5, 0.5, 1.0], [0.9, 0.1, 2.0]])
    believed = gp.add_points(post, pending, mu)
    np.testing.assert_allclose(gp.fantasy_mean(f, near)[0].mean(axis=1),
                               gp.predict(believed, near)[0], atol=0.05)  # fmt: skip
    np.testing.assert_allclose(gp.predict(f.post, near)[1], gp.predict(believed, near)[1])


def test_fantasy_mean_gradients_match_finite_differences():
    X, y, is_cat = _data()
    hyper = gp.GPHyperparameters(np.array([0.3, 0.6, 1.0]), 1.0, 1e-4, 0.2, 0.1)
    post = gp.condition(X, y, hyper, is_cat)
    f = gp.fantasize(post, np.array([[0.45, 0.55, 1.0]]), np.array([[-1.0], [0.5], [2.0]]))
    x = np.array([[0.3, 0.7, 1.0], [0.6, 0.2, 0.0]])
    mean, grad = gp.fantasy_mean(f, x, with_grad=True)
    assert grad is not None and grad.shape == (2, 3, 3)
    eps = 1e-6
    for j in (0, 1):  # column 2 is categorical: no gradient
        step = np.zeros(3)
        step[j] = eps
        num = (gp.fantasy_mean(f, x + step)[0] - gp.fantasy_mean(f, x - step)[0]) / (2 * eps)
        np.testing.assert_allclose(grad[:, :, j], num, rtol=1e-4, atol=1e-6)
    assert np.all(grad[:, :, 2] == 0.0)


def test_fit_finds_the_irrelevant_dimension():
    rng = np.random.default_rng(3)
    X = rng.random((30, 2))
    y = np.sin(6 * X[:, 0])
    y = (y - y.mean()) / y.std()
    is_cat = np.array([False, False])
    prior = gp.HyperPrior.default(2)
    hyper = gp.fit_hyperparameters(X, y, is_cat, prior, [gp.default_theta(2, prior)])
    assert hyper.lengthscales[1] > 3 * hyper.lengthscales[0]
    assert hyper.noise_var < 0.05


def test_deterministic_fit_keeps_the_noise_at_its_floor():
    X, y, is_cat = _data()
    prior = gp.HyperPrior.default(3)
    hyper = gp.fit_hyperparameters(
        X, y, is_cat, prior, [gp.default_theta(3, prior)], deterministic=True
    )
    assert hyper.noise_var == pytest.approx(prior.min_noise)


def test_output_warp_is_increasing_invertible_and_tames_outliers():
    rng = np.random.default_rng(4)
    y = np.concatenate([rng.random(30), [1e4]])
    warp = OutputWarp.fit(y)
    t = warp.transform(y)
    assert np.all(np.diff(t[np.argsort(y)]) > 0)
    np.testing.assert_allclose(warp.inverse(t), y, rtol=1e-6, atol=1e-9)
    plain = (y - y.mean()) / y.std()
    # The bulk keeps a usable spread instead of collapsing next to the outlier.
    assert np.std(t[:-1]) > 10 * np.std(plain[:-1])


def test_output_warp_of_constant_values_is_finite():
    warp = OutputWarp.fit(np.full(5, 3.0))
    assert np.all(np.isfinite(warp.transform(np.full(5, 3.0))))


# ---------------------------------------------------------------------- acquisition
def test_log_ei_equals_log_of_naive_ei_where_both_are_stable():
    mean = np.linspace(-3, 5, 17)
    std = np.full(17, 0.7)
    value, _, _ = acquisition.log_ei(mean, std, 0.5)
    np.testing.assert_allclose(value, np.log(acquisition.naive_ei(mean, std, 0.5)), rtol=1e-9)


def test_log_ei_is_finite_and_decreasing_where_naive_ei_underflows():
    mean = np.array([30.0, 40.0, 60.0, 1e9])
    std = np.ones(4)
    with np.errstate(divide="ignore"):
        naive = np.log(acquisition.naive_ei(mean, std, 0.0))
    assert np.isneginf(naive[1:]).all()
    value, d_mean, d_std = acquisition.log_ei(mean, std, 0.0)
    assert np.all(np.isfinite(value)) and np.all(np.diff(value) < 0)
    assert np.all(np.isfinite(d_mean)) and np.all(d_mean < 0)
    assert np.all(np.isfinite(d_std)) and np.all(d_std > 0)


@pytest.mark.parametrize("z", [-50.0, -20.0, -3.0, -0.5, 0.0, 2.0])
def test_log_ei_derivatives_match_finite_differences(z):
    mean, std, h = np.array([-z]), np.array([1.3]), 1e-6
    _, d_mean, d_std = acquisition.log_ei(mean, std, 0.0)

    def f(m, s):
        return acquisition.log_ei(m, s, 0.0)[0][0]

    assert d_mean[0] == pytest.approx((f(mean + h, std) - f(mean - h, std)) / (2 * h), rel=1e-4)
    assert d_std[0] == pytest.approx((f(mean, std + h) - f(mean, std - h)) / (2 * h), rel=1e-4)


def test_log_h_is_continuous_across_its_branches():
    for z0 in (-1.0, -1.0 / math.sqrt(np.finfo(float).eps)):
        z = np.array([z0 * (1 + 1e-9), z0 * (1 - 1e-9)])
        a, b = acquisition.log_h(z)
        assert a == pytest.approx(b, rel=1e-6)


def test_lower_confidence_bound_prefers_low_mean_and_high_std():
    value, d_mean, d_std = acquisition.lower_confidence_bound(
        np.array([0.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0]), 2.0
    )
    assert value[0] > value[1] and value[2] > value[0]
    assert np.all(d_mean == -1.0) and np.all(d_std == 2.0)
