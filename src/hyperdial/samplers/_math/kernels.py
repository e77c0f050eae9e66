"""Matern-5/2 kernel with automatic relevance determination, on continuous and categorical columns.

Inputs are rows of an encoded design matrix. Continuous columns contribute the squared scaled
difference ``((a - b) / l) ** 2``; categorical columns (an integer index, or ``-1`` for "absent")
contribute ``[a != b] / l ** 2``, the Hamming distance of a one-hot encoding with one lengthscale
per parameter, so choices are never treated as ordered. The kernel is

    k(a, b) = s * (1 + sqrt(5) r + 5/3 r^2) * exp(-sqrt(5) r),   r^2 = sum_j dist_j(a, b)

(Rasmussen and Williams, 2006, "Gaussian Processes for Machine Learning", eq. 4.17).

All functions are pure functions of NumPy arrays.

Example:
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.5, 1.0]])
    >>> K = kernel(X, X, np.array([1.0, 1.0]), 2.0, np.array([False, True]))
    >>> float(K[0, 0]), bool(K[0, 1] < K[0, 0])
    (2.0, True)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "kernel",
    "kernel_grad_x",
    "matern52",
    "matern52_grad",
    "scaled_sqdist",
    "sqdist_grad_lengthscales",
    "trend_features",
    "trend_grad_x",
    "trend_kernel",
]

_SQRT5 = float(np.sqrt(5.0))


def matern52(r2: np.ndarray) -> np.ndarray:
    """Return the unit-variance Matern-5/2 correlation as a function of the squared distance."""
    r2 = np.maximum(r2, 0.0)
    sr = _SQRT5 * np.sqrt(r2)
    return (1.0 + sr + (5.0 / 3.0) * r2) * np.exp(-sr)


def matern52_grad(r2: np.ndarray) -> np.ndarray:
    """Return ``d matern52 / d r2``; finite at ``r2 = 0`` (where it equals ``-5/6``)."""
    sr = _SQRT5 * np.sqrt(np.maximum(r2, 0.0))
    return (-5.0 / 6.0) * (1.0 + sr) * np.exp(-sr)


def scaled_sqdist(
    X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray, is_cat: np.ndarray
) -> np.ndarray:
    """Return the matrix of squared scaled distances ``r^2`` between rows, shape ``(n1, n2)``.

    Args:
        X1: Rows ``(n1, d)``.
        X2: Rows ``(n2, d)``.
        lengthscales: One positive lengthscale per column, ``(d,)``.
        is_cat: Which columns hold a categorical index (Hamming distance), ``(d,)``.
    """
    cont = ~is_cat
    r2 = np.zeros((X1.shape[0], X2.shape[0]))
    if cont.any():
        A = X1[:, cont] / lengthscales[cont]
        B = X2[:, cont] / lengthscales[cont]
        # The expansion |a|^2 + |b|^2 - 2 a.b is one matrix product instead of an (n1, n2, d)
        # tensor; the rounding it adds near zero is clipped below and negligible for the kernel.
        r2 += np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T)
        np.maximum(r2, 0.0, out=r2)
    for j in np.flatnonzero(is_cat):
        r2 += (X1[:, j][:, None] != X2[:, j][None, :]) / lengthscales[j] ** 2
    return r2


def kernel(
    X1: np.ndarray,
    X2: np.ndarray,
    lengthscales: np.ndarray,
    signal_var: float,
    is_cat: np.ndarray,
) -> np.ndarray:
    """Return the covariance matrix ``k(X1, X2)``, shape ``(n1, n2)``."""
    return signal_var * matern52(scaled_sqdist(X1, X2, lengthscales, is_cat))


def sqdist_grad_lengthscales(
    P: np.ndarray, X: np.ndarray, lengthscales: np.ndarray, is_cat: np.ndarray
) -> np.ndarray:
    """Return ``sum_ab P_ab * d r2_ab / d log l_j`` for every column ``j``, shape ``(d,)``.

    ``P`` is a symmetric ``(n, n)`` weight matrix over pairs of rows of ``X``. The sum is formed
    without the ``(n, n, d)`` tensor of differences: for a continuous column,
    ``sum_ab P_ab (x_a - x_b)^2 = 2 x^2 . P1 - 2 x . Px``.
    """
    out = np.empty(X.shape[1])
    cont = ~is_cat
    if cont.any():
        Xc = X[:, cont]
        row = P.sum(axis=1)
        s = 2.0 * (Xc * Xc).T @ row - 2.0 * np.einsum("ij,ij->j", Xc, P @ Xc)
        out[cont] = s
    for j in np.flatnonzero(is_cat):
        out[j] = np.sum(P * (X[:, j][:, None] != X[:, j][None, :]))
    # d r2 / d log l_j = -2 dist_j / l_j^2
    return -2.0 * out / lengthscales**2


def kernel_grad_x(
    x: np.ndarray,
    X: np.ndarray,
    lengthscales: np.ndarray,
    signal_var: float,
    is_cat: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Return ``sum_a weights[b, a] * d k(x_b, X_a) / d x_b`` for each query row, ``(B, d)``.

    This is what the gradients of a posterior mean (``weights = alpha``) and of a posterior
    variance (``weights = K^-1 k(x, X)``) need, without forming the ``(B, n, d)`` tensor.
    Categorical columns get a zero gradient.

    Args:
        x: Query rows ``(B, d)``.
        X: Training rows ``(n, d)``.
        lengthscales: ``(d,)``.
        signal_var: The kernel's variance ``s``.
        is_cat: ``(d,)``.
        weights: ``(B, n)`` or ``(n,)`` (the same weights for every query row).
    """
    r2 = scaled_sqdist(x, X, lengthscales, is_cat)
    G = signal_var * matern52_grad(r2) * weights  # (B, n): dk/dr2 times the weights
    # d r2 / d x_j = 2 (x_j - X_aj) / l_j^2
    grad = 2.0 * (x * G.sum(axis=1, keepdims=True) - G @ X) / lengthscales**2
    grad[:, is_cat] = 0.0
    return grad


def trend_features(X: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Return the non-categorical columns centred and scaled to ``[-1, 1]``."""
    return 2.0 * (X[:, ~is_cat] - 0.5)


def trend_kernel(
    X1: np.ndarray, X2: np.ndarray, lin_var: float, sq_var: float, is_cat: np.ndarray
) -> np.ndarray:
    """Return the covariance of a random linear-plus-diagonal-quadratic trend, ``(n1, n2)``.

    With ``z = 2 (x - 1/2)`` on the non-categorical columns this is the Bayesian regression
    ``f(x) = sum_i a_i z_i + b_i z_i^2`` with ``a_i ~ N(0, lin_var)`` and
    ``b_i ~ N(0, sq_var)``: a bowl or a slope across the whole space that the GP can
    extrapolate beyond its data, where a stationary kernel reverts to the mean.
    """
    Z1, Z2 = trend_features(X1, is_cat), trend_features(X2, is_cat)
    return lin_var * (Z1 @ Z2.T) + sq_var * ((Z1 * Z1) @ (Z2 * Z2).T)


def trend_grad_x(
    x: np.ndarray,
    X: np.ndarray,
    lin_var: float,
    sq_var: float,
    is_cat: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Return ``sum_a weights[b, a] * d trend_kernel(x_b, X_a) / d x_b``, shape ``(B, d)``."""
    z, Z = trend_features(x, is_cat), trend_features(X, is_cat)
    W = np.atleast_2d(weights)
    grad = np.zeros_like(x)
    # dz/dx = 2: d/dz (lin z.Z_a + sq z^2.Z_a^2) = lin Z_a + 2 sq z Z_a^2
    grad[:, ~is_cat] = 2.0 * (lin_var * (W @ Z) + 2.0 * sq_var * z * (W @ (Z * Z)))
    return grad
