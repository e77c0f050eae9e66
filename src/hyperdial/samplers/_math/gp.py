"""Gaussian-process regression: MAP hyperparameters, posterior, and an output warp.

The model is ``y = f(x) + eps`` with ``f ~ GP(0, k)``, ``k`` the Matern-5/2 ARD kernel of
:mod:`~hyperdial.samplers._math.kernels` (plus its trend term) and ``eps ~ N(0, noise_var)``,
on outputs roughly standardised (Rasmussen and Williams, 2006, "Gaussian
Processes for Machine Learning", ch. 2 and 5).

Hyperparameters live on the log scale, ``theta = [log l_1..l_d, log signal_var, log noise_var]``,
and are fitted by maximising the marginal likelihood times a prior with L-BFGS-B and analytic
gradients. The lengthscale prior is the dimension-scaled log-normal of Hvarfner, Hellsten and
Nardi (2024, "Vanilla Bayesian Optimization Performs Great in High Dimensions",
arXiv:2402.02229): lengthscales grow with ``sqrt(d)`` so that high-dimensional models do not
start out as white noise. The noise prior is log-normal around ``exp(-4)`` of the standardised
output's variance.

All functions are pure functions of NumPy arrays.

Example:
    >>> import numpy as np
    >>> X = np.linspace(0, 1, 8)[:, None]
    >>> y = np.sin(6 * X[:, 0])
    >>> is_cat = np.array([False])
    >>> hyper = fit_hyperparameters(X, y, is_cat, HyperPrior.default(1), [default_theta(1)])
    >>> post = condition(X, y, hyper, is_cat)
    >>> mean, var = predict(post, X[:2])
    >>> bool(np.allclose(mean, y[:2], atol=0.05))
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from hyperdial.samplers._math.kernels import (
    kernel,
    kernel_grad_x,
    matern52,
    matern52_grad,
    scaled_sqdist,
    sqdist_grad_lengthscales,
    trend_features,
    trend_grad_x,
    trend_kernel,
)

__all__ = [
    "Fantasies",
    "GPHyperparameters",
    "GPPosterior",
    "HyperPrior",
    "add_points",
    "cholesky",
    "condition",
    "covariance",
    "default_theta",
    "fantasize",
    "fantasy_mean",
    "extend_cholesky",
    "fit_hyperparameters",
    "neg_log_posterior",
    "predict",
]

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_LS_BOUNDS = (math.log(5e-3), math.log(1e3))
_LOG_SIGNAL_BOUNDS = (math.log(5e-2), math.log(20.0))
_MAX_LOG_NOISE = math.log(2.0)
_LOG_TREND_BOUNDS = (math.log(1e-8), math.log(10.0))
#: theta = [log l_1..l_d, log signal_var, log noise_var, log trend_lin, log trend_sq]
N_EXTRA = 4
_SIGNAL, _NOISE, _LIN, _SQ = -4, -3, -2, -1


@dataclass(frozen=True)
class HyperPrior:
    """Log-normal priors on the kernel hyperparameters (locations and scales of their logs).

    Attributes:
        ls_loc: Location of ``log l`` of a continuous column (``sqrt(2) + log(d) / 2``).
        ls_scale: Scale of ``log l`` of a continuous column (``sqrt(3)``).
        cat_ls_loc: Location of ``log l`` of a categorical column. Its mode, ``l = 0.74``,
            correlates two different choices at about 0.35: neither the same nor unrelated,
            so a choice seen rarely is neither copied from the others nor ignored.
        cat_ls_scale: Scale of ``log l`` of a categorical column.
        signal_loc: Location of ``log signal_var``.
        signal_scale: Scale of ``log signal_var``.
        noise_loc: Location of ``log noise_var``.
        noise_scale: Scale of ``log noise_var``.
        min_noise: Smallest noise variance (also the fixed value for deterministic outputs).
        trend_loc: Location of the logs of the trend's two variances.
        trend_scale: Scale of the logs of the trend's two variances.
        trend: Whether the model has the trend term (else its variances stay ~0).
    """

    ls_loc: float
    ls_scale: float = math.sqrt(3.0)
    cat_ls_loc: float = 0.7
    cat_ls_scale: float = 1.0
    signal_loc: float = 0.0
    signal_scale: float = 1.0
    noise_loc: float = -4.0
    noise_scale: float = 1.0
    min_noise: float = 1e-6
    trend_loc: float = -2.5
    trend_scale: float = 1.5
    trend: bool = True

    @classmethod
    def default(cls, dim: int) -> HyperPrior:
        """Return the default prior for ``dim`` kernel columns."""
        return cls(ls_loc=math.sqrt(2.0) + 0.5 * math.log(max(dim, 1)))


def default_theta(
    dim: int, prior: HyperPrior | None = None, is_cat: np.ndarray | None = None
) -> np.ndarray:
    """Return the prior's mode as a start for fitting, ``(dim + N_EXTRA,)``."""
    prior = prior or HyperPrior.default(dim)
    loc, scale = _ls_prior(dim, prior, is_cat)
    theta = np.empty(dim + N_EXTRA)
    theta[:dim] = loc - scale**2  # the mode of the log-normal in l
    theta[_SIGNAL] = prior.signal_loc
    theta[_NOISE] = max(prior.noise_loc - prior.noise_scale**2, math.log(prior.min_noise))
    theta[_LIN] = theta[_SQ] = prior.trend_loc
    return np.clip(theta, *_bounds_arrays(dim, prior, False))


@dataclass(frozen=True)
class GPHyperparameters:
    """Kernel lengthscales (one per column), signal and noise variances, trend variances."""

    lengthscales: np.ndarray
    signal_var: float
    noise_var: float
    trend_lin: float = 1e-8
    trend_sq: float = 1e-8

    @property
    def theta(self) -> np.ndarray:
        """Return ``[log l..., log signal_var, log noise_var, log trend_lin, log trend_sq]``."""
        extra = [self.signal_var, self.noise_var, self.trend_lin, self.trend_sq]
        return np.concatenate([np.log(self.lengthscales), np.log(extra)])

    @classmethod
    def from_theta(cls, theta: np.ndarray) -> GPHyperparameters:
        """Build from the log-scale vector."""
        t = np.exp(np.asarray(theta, dtype=float))
        extra = (float(t[i]) for i in (_SIGNAL, _NOISE, _LIN, _SQ))
        return cls(t[:-N_EXTRA], *extra)


def _bounds_arrays(
    dim: int, prior: HyperPrior, deterministic: bool
) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(dim + N_EXTRA, _LOG_LS_BOUNDS[0])
    hi = np.full(dim + N_EXTRA, _LOG_LS_BOUNDS[1])
    lo[_SIGNAL], hi[_SIGNAL] = _LOG_SIGNAL_BOUNDS
    lo[_NOISE] = math.log(prior.min_noise)
    hi[_NOISE] = lo[_NOISE] if deterministic else _MAX_LOG_NOISE
    for i in (_LIN, _SQ):
        lo[i], hi[i] = _LOG_TREND_BOUNDS
        if not prior.trend:
            hi[i] = lo[i]
    return lo, hi


def covariance(
    X1: np.ndarray, X2: np.ndarray, hyper: GPHyperparameters, is_cat: np.ndarray
) -> np.ndarray:
    """Return the prior covariance of ``f`` between rows: Matern part plus trend part."""
    K = kernel(X1, X2, hyper.lengthscales, hyper.signal_var, is_cat)
    K += trend_kernel(X1, X2, hyper.trend_lin, hyper.trend_sq, is_cat)
    return K


def cholesky(K: np.ndarray) -> np.ndarray:
    """Return the lower Cholesky factor of ``K``, adding the least jitter that works."""
    try:
        return np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        pass
    scale = float(np.mean(np.diag(K))) if K.size else 1.0
    for exponent in range(-9, 0):
        try:
            return np.linalg.cholesky(K + (scale * 10.0**exponent) * np.eye(len(K)))
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("the covariance matrix is not positive definite")


def extend_cholesky(L11: np.ndarray, K12: np.ndarray, K22: np.ndarray) -> np.ndarray:
    """Return the factor of ``[[K11, K12], [K12.T, K22]]`` given ``L11``, the factor of K11.

    Costs ``O(n^2 m)`` for ``m`` new rows instead of ``O((n + m)^3)``.
    """
    n, m = L11.shape[0], K22.shape[0]
    L21 = scipy.linalg.solve_triangular(L11, K12, lower=True, check_finite=False).T
    L22 = cholesky(K22 - L21 @ L21.T)
    out = np.zeros((n + m, n + m))
    out[:n, :n] = L11
    out[n:, :n] = L21
    out[n:, n:] = L22
    return out


def _ls_prior(
    dim: int, prior: HyperPrior, is_cat: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    loc = np.full(dim, prior.ls_loc)
    scale = np.full(dim, prior.ls_scale)
    if is_cat is not None:
        loc[is_cat] = prior.cat_ls_loc
        scale[is_cat] = prior.cat_ls_scale
    return loc, scale


def _log_prior(
    theta: np.ndarray, prior: HyperPrior, is_cat: np.ndarray
) -> tuple[float, np.ndarray]:
    ls, s, nz = theta[:-N_EXTRA], theta[_SIGNAL], theta[_NOISE]
    grad = np.empty_like(theta)
    # Densities of l and noise_var themselves (log-normal), written on their logs.
    loc, scale = _ls_prior(len(ls), prior, is_cat)
    zl = (ls - loc) / scale
    value = float(np.sum(-ls - 0.5 * zl * zl))
    grad[:-N_EXTRA] = -1.0 - zl / scale
    zs = (s - prior.signal_loc) / prior.signal_scale
    value += -0.5 * zs * zs
    grad[_SIGNAL] = -zs / prior.signal_scale
    zn = (nz - prior.noise_loc) / prior.noise_scale
    value += -nz - 0.5 * zn * zn
    grad[_NOISE] = -1.0 - zn / prior.noise_scale
    for i in (_LIN, _SQ):  # normal on the log: the trend may vanish
        zt = (theta[i] - prior.trend_loc) / prior.trend_scale
        value += -0.5 * zt * zt
        grad[i] = -zt / prior.trend_scale
    return value, grad


def neg_log_posterior(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    prior: HyperPrior,
) -> tuple[float, np.ndarray]:
    """Return the negative log marginal likelihood minus the log prior, and its gradient.

    With ``W = alpha alpha^T - K^-1`` the gradient is ``-1/2 tr(W dK/dtheta)`` for each
    hyperparameter (Rasmussen and Williams, 2006, eq. 5.9).
    """
    hyper = GPHyperparameters.from_theta(theta)
    n = len(y)
    r2 = scaled_sqdist(X, X, hyper.lengthscales, is_cat)
    Kf = hyper.signal_var * matern52(r2)
    Z = trend_features(X, is_cat)
    Z2 = Z * Z
    K_lin, K_sq = Z @ Z.T, Z2 @ Z2.T
    K = Kf + hyper.trend_lin * K_lin + hyper.trend_sq * K_sq + hyper.noise_var * np.eye(n)
    L = cholesky(K)
    alpha = scipy.linalg.cho_solve((L, True), y, check_finite=False)
    value = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(L)))) + 0.5 * n * _LOG_2PI
    # K^-1 from the factor (LAPACK potri fills the upper triangle of the transposed factor).
    Kinv, info = scipy.linalg.lapack.dpotri(L.T, lower=False)
    if info != 0:  # pragma: no cover - the factor exists, so potri succeeds
        Kinv = scipy.linalg.cho_solve((L, True), np.eye(n), check_finite=False)
    else:
        Kinv = np.triu(Kinv) + np.triu(Kinv, 1).T
    W = np.outer(alpha, alpha) - Kinv
    grad = np.empty_like(theta)
    P = W * (hyper.signal_var * matern52_grad(r2))
    grad[:-N_EXTRA] = -0.5 * sqdist_grad_lengthscales(P, X, hyper.lengthscales, is_cat)
    grad[_SIGNAL] = -0.5 * float(np.sum(W * Kf))
    grad[_NOISE] = -0.5 * hyper.noise_var * float(np.trace(W))
    grad[_LIN] = -0.5 * hyper.trend_lin * float(np.sum(W * K_lin))
    grad[_SQ] = -0.5 * hyper.trend_sq * float(np.sum(W * K_sq))
    lp, lp_grad = _log_prior(theta, prior, is_cat)
    return value - lp, grad - lp_grad


def fit_hyperparameters(
    X: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    prior: HyperPrior,
    starts: Sequence[np.ndarray],
    *,
    deterministic: bool = False,
    maxiter: int = 200,
) -> GPHyperparameters:
    """Return the MAP hyperparameters, best of L-BFGS-B runs from each start.

    Args:
        X: Training rows ``(n, d)``.
        y: Training outputs ``(n,)``, roughly standardised.
        is_cat: Categorical columns ``(d,)``.
        prior: The hyperparameter prior.
        starts: Start vectors (``theta`` layout); clipped to the bounds.
        deterministic: Fix the noise at ``prior.min_noise``.
        maxiter: Iterations per start.
    """
    dim = X.shape[1]
    lo, hi = _bounds_arrays(dim, prior, deterministic)
    bounds = list(zip(lo, hi))
    best_theta, best_value = None, math.inf

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            value, grad = neg_log_posterior(theta, X, y, is_cat, prior)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        if not math.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e25, np.zeros_like(theta)
        return value, grad

    for start in starts:
        x0 = np.clip(np.asarray(start, dtype=float), lo, hi)
        result = scipy.optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": maxiter, "gtol": 1e-5, "ftol": 1e-9},
        )  # fmt: skip
        if result.fun < best_value:
            best_theta, best_value = result.x, float(result.fun)
    if best_theta is None:
        best_theta = np.clip(default_theta(dim, prior, is_cat), lo, hi)
    return GPHyperparameters.from_theta(best_theta)


@dataclass(frozen=True)
class GPPosterior:
    """A GP conditioned on data: training rows, factor, weights and hyperparameters."""

    X: np.ndarray
    y: np.ndarray
    L: np.ndarray
    alpha: np.ndarray
    hyper: GPHyperparameters
    is_cat: np.ndarray


def condition(
    X: np.ndarray,
    y: np.ndarray,
    hyper: GPHyperparameters,
    is_cat: np.ndarray,
    L: np.ndarray | None = None,
) -> GPPosterior:
    """Return the posterior given data; ``L`` is the factor of ``K + noise I`` if known."""
    if L is None:
        K = covariance(X, X, hyper, is_cat)
        K[np.diag_indices_from(K)] += hyper.noise_var
        L = cholesky(K)
    alpha = scipy.linalg.cho_solve((L, True), y, check_finite=False)
    return GPPosterior(X, y, L, alpha, hyper, is_cat)


def add_points(post: GPPosterior, Xnew: np.ndarray, ynew: np.ndarray) -> GPPosterior:
    """Return the posterior with rows ``Xnew`` observed as ``ynew``, extending the factor."""
    h = post.hyper
    K12 = covariance(post.X, Xnew, h, post.is_cat)
    K22 = covariance(Xnew, Xnew, h, post.is_cat)
    K22[np.diag_indices_from(K22)] += h.noise_var
    L = extend_cholesky(post.L, K12, K22)
    X = np.vstack([post.X, Xnew])
    y = np.concatenate([post.y, ynew])
    return condition(X, y, h, post.is_cat, L)


def predict(
    post: GPPosterior,
    x: np.ndarray,
    *,
    with_grad: bool = False,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """Return the latent mean and variance at rows ``x`` and, if asked, their gradients.

    ``weights`` (``(n, S)``, e.g. :attr:`Fantasies.alphas`) replaces ``post.alpha``: the
    means are then ``(B, S)``, one column per set of outputs, and their gradients
    ``(B, S, d)``; the variance is the same for every set.

    Returns:
        ``(mean, var)`` of shape ``(B,)``, or ``(mean, var, dmean, dvar)`` with gradients of
        shape ``(B, d)`` (zero on categorical columns).
    """
    h, X, is_cat = post.hyper, post.X, post.is_cat
    k = covariance(x, X, h, is_cat)  # (B, n)
    mean = k @ (post.alpha if weights is None else weights)
    v = scipy.linalg.solve_triangular(post.L, k.T, lower=True, check_finite=False)
    z = trend_features(x, is_cat)
    z2 = z * z
    prior_var = h.signal_var + h.trend_lin * np.sum(z2, axis=1) + h.trend_sq * np.sum(z2 * z2, 1)
    var = np.maximum(prior_var - np.sum(v * v, axis=0), 1e-12 * h.signal_var)
    if not with_grad:
        return mean, var
    beta = scipy.linalg.solve_triangular(post.L.T, v, lower=False, check_finite=False).T
    if weights is None:
        dmean = kernel_grad_x(x, X, h.lengthscales, h.signal_var, is_cat, post.alpha)
        dmean += trend_grad_x(x, X, h.trend_lin, h.trend_sq, is_cat, post.alpha[None, :])
    else:
        dmean = _mean_grads(x, post, weights)
    dvar = -2.0 * kernel_grad_x(x, X, h.lengthscales, h.signal_var, is_cat, beta)
    dvar -= 2.0 * trend_grad_x(x, X, h.trend_lin, h.trend_sq, is_cat, beta)
    dprior = np.zeros_like(x)
    # d/dx of lin |z|^2 + sq |z^2|^2 with dz/dx = 2
    dprior[:, ~is_cat] = 4.0 * h.trend_lin * z + 8.0 * h.trend_sq * z2 * z
    return mean, var, dmean, dvar + dprior


def _mean_grads(x: np.ndarray, post: GPPosterior, A: np.ndarray) -> np.ndarray:
    """Return ``d (k(x, X) @ A) / dx`` for every column of ``A`` at once, ``(B, S, d)``:
    :func:`kernel_grad_x` and :func:`trend_grad_x` with one weight column per set."""
    h, X, is_cat = post.hyper, post.X, post.is_cat
    G = h.signal_var * matern52_grad(scaled_sqdist(x, X, h.lengthscales, is_cat))  # (B, n)
    grads = 2.0 * (x[:, None, :] * (G @ A)[:, :, None] - np.einsum("bn,ns,nd->bsd", G, A, X))
    grads /= h.lengthscales**2
    grads[:, :, is_cat] = 0.0
    z, Z = trend_features(x, is_cat), trend_features(X, is_cat)
    lin, sq = A.T @ Z, A.T @ (Z * Z)  # (S, dz)
    grads[:, :, ~is_cat] += 2.0 * (
        h.trend_lin * lin[None] + 2.0 * h.trend_sq * z[:, None] * sq[None]
    )
    return grads


@dataclass(frozen=True)
class Fantasies:
    """A GP conditioned on its data and on sampled outcomes of pending rows.

    ``post`` holds every row (observed, then pending) and its factor; column ``s`` of
    ``alphas`` is ``(K + noise I)^-1`` times the outputs with the ``s``-th sample at the pending
    rows. The posterior variance does not depend on the sampled outcomes, so one factor serves
    every sample, and only the means differ.
    """

    post: GPPosterior
    alphas: np.ndarray  # (n + p, S)
    outcomes: np.ndarray  # (S, p): the sampled observations of the pending rows


def fantasize(post: GPPosterior, pending: np.ndarray, normals: np.ndarray) -> Fantasies:
    """Return the GP conditioned on ``S`` joint posterior samples of ``pending`` outcomes.

    Each sample draws the pending observations ``y_p = f(pending) + eps`` from their joint
    predictive distribution, using the standard normals ``normals`` of shape ``(S, p)``
    (the samples of Snoek, Larochelle and Adams, 2012, "Practical Bayesian Optimization of
    Machine Learning Algorithms", arXiv:1206.2944, section 3.3).
    """
    h = post.hyper
    k = covariance(pending, post.X, h, post.is_cat)  # (p, n)
    mu = k @ post.alpha
    v = scipy.linalg.solve_triangular(post.L, k.T, lower=True, check_finite=False)
    cov = covariance(pending, pending, h, post.is_cat) - v.T @ v
    cov = 0.5 * (cov + cov.T)
    cov[np.diag_indices_from(cov)] += h.noise_var
    outcomes = mu[None, :] + normals @ cholesky(cov).T
    aug = add_points(post, pending, mu)
    Y = np.concatenate([np.repeat(post.y[:, None], len(outcomes), axis=1), outcomes.T])
    alphas = scipy.linalg.cho_solve((aug.L, True), Y, check_finite=False)
    return Fantasies(aug, alphas, outcomes)


def fantasy_mean(
    f: Fantasies, x: np.ndarray, *, with_grad: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the posterior means ``(B, S)`` at rows ``x`` under each sample, and if asked
    their gradients ``(B, S, d)`` (:func:`predict` with ``weights`` gives both with the
    variance)."""
    post = f.post
    mean = covariance(x, post.X, post.hyper, post.is_cat) @ f.alphas
    return mean, (_mean_grads(x, post, f.alphas) if with_grad else None)
