"""The CMA-ES update equations on arrays (Hansen, 2016, arXiv:1604.00772).

Everything here is a pure function of its arguments: :class:`CmaState` is immutable and every
update returns a new one, so a state can be rebuilt by replaying the same generations.

Example:
    >>> import numpy as np
    >>> params = strategy_params(2, 6)
    >>> state = initial_state(np.array([0.8, 0.2]), 0.3)
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(60):
    ...     xs = np.array([sample(state, rng.standard_normal(2)) for _ in range(6)])
    ...     state = update(state, params, xs, ((xs - 0.5) ** 2).sum(axis=1))
    >>> bool(np.abs(state.mean - 0.5).max() < 1e-3)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

__all__ = [
    "CmaState",
    "StrategyParams",
    "default_popsize",
    "initial_state",
    "margin_scale",
    "sample",
    "stop_reason",
    "strategy_params",
    "update",
]

_MIN_EIGENVALUE = 1e-30


def default_popsize(n: int) -> int:
    """Return the default population size ``4 + floor(3 ln n)`` (at least 4)."""
    return 4 + int(math.floor(3 * math.log(max(n, 1))))


@dataclass(frozen=True)
class StrategyParams:
    """The constants of one run: recombination weights and learning rates (Hansen, Table 1)."""

    n: int
    popsize: int
    mu: int
    weights: np.ndarray
    mu_eff: float
    c_sigma: float
    d_sigma: float
    c_c: float
    c_1: float
    c_mu: float
    chi_n: float


def strategy_params(n: int, popsize: int) -> StrategyParams:
    """Return the default strategy parameters for dimension ``n`` and ``popsize``.

    The weights are those of the tutorial's default (active CMA): positive for the better half,
    negative for the worse half, scaled so the covariance stays positive definite.
    """
    if n < 1 or popsize < 2:
        raise ValueError(f"need n >= 1 and popsize >= 2; got n={n}, popsize={popsize}.")
    raw = math.log((popsize + 1) / 2) - np.log(np.arange(1, popsize + 1))
    mu = popsize // 2
    pos, neg = raw[raw >= 0], raw[raw < 0]
    mu_eff = float(pos.sum() ** 2 / (pos**2).sum())
    mu_eff_neg = float(neg.sum() ** 2 / (neg**2).sum()) if len(neg) else 0.0
    alpha_cov = 2.0
    c_1 = alpha_cov / ((n + 1.3) ** 2 + mu_eff)
    c_mu = min(
        1 - c_1,
        alpha_cov * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + alpha_cov * mu_eff / 2),
    )
    weights = np.where(raw >= 0, raw / pos.sum(), 0.0)
    if len(neg):
        alpha_neg = min(
            1 + c_1 / c_mu if c_mu > 0 else math.inf,
            1 + 2 * mu_eff_neg / (mu_eff + 2),
            (1 - c_1 - c_mu) / (n * c_mu) if c_mu > 0 else math.inf,
        )
        weights = np.where(raw < 0, alpha_neg * raw / -neg.sum(), weights)
    c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n**2))
    return StrategyParams(n, popsize, mu, weights, mu_eff, c_sigma, d_sigma, c_c, c_1, c_mu, chi_n)


@dataclass(frozen=True)
class CmaState:
    """The search distribution ``N(mean, sigma^2 A C A)`` and its evolution paths.

    Attributes:
        mean: The distribution mean ``m``.
        sigma: The step size.
        cov: The covariance matrix ``C`` (symmetric positive definite).
        basis: Eigenvectors ``B`` of ``C``.
        scales: Square roots ``D`` of the eigenvalues of ``C``.
        p_sigma: The conjugate evolution path.
        p_c: The evolution path of ``C``.
        margin: The diagonal ``A`` that widens discrete coordinates (ones without a margin).
        generation: Updates applied so far.
    """

    mean: np.ndarray
    sigma: float
    cov: np.ndarray
    basis: np.ndarray
    scales: np.ndarray
    p_sigma: np.ndarray
    p_c: np.ndarray
    margin: np.ndarray
    generation: int = 0


def initial_state(mean: np.ndarray, sigma: float) -> CmaState:
    """Return the state at ``mean`` with step size ``sigma`` and ``C = I``."""
    n = len(mean)
    return CmaState(
        mean=np.array(mean, dtype=float),
        sigma=float(sigma),
        cov=np.eye(n),
        basis=np.eye(n),
        scales=np.ones(n),
        p_sigma=np.zeros(n),
        p_c=np.zeros(n),
        margin=np.ones(n),
    )


def sample(state: CmaState, z: np.ndarray) -> np.ndarray:
    """Return ``m + sigma A B D z``, the candidate of a standard normal vector ``z``."""
    x: np.ndarray = state.mean + state.sigma * state.margin * (state.basis @ (state.scales * z))
    return x


def _eigen(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cov = (cov + cov.T) / 2
    eigenvalues, basis = np.linalg.eigh(cov)
    eigenvalues = np.maximum(eigenvalues, _MIN_EIGENVALUE)
    cov = (basis * eigenvalues) @ basis.T
    return (cov + cov.T) / 2, basis, np.sqrt(eigenvalues)


def update(
    state: CmaState, params: StrategyParams, xs: np.ndarray, values: np.ndarray
) -> CmaState:
    """Return the state after one generation of candidates ``xs`` with ``values`` (minimised).

    Args:
        state: The state the candidates were sampled from.
        params: The run's strategy parameters; ``len(xs)`` must be ``params.popsize``.
        xs: The evaluated candidates, one per row.
        values: Their objective values; ties keep the row order, ``inf`` ranks last.
    """
    order = np.argsort(values, kind="stable")
    steps = (xs[order] - state.mean) / state.sigma  # A y, in the sampling coordinates
    ys = steps / state.margin
    w = params.weights
    pos = w > 0
    y_w = w[pos] @ ys[pos]
    mean = state.mean + w[pos] @ steps[pos] * state.sigma  # c_m = 1
    inv_sqrt = (state.basis / state.scales) @ state.basis.T  # C^(-1/2)
    c_s, c_c = params.c_sigma, params.c_c
    p_sigma = (1 - c_s) * state.p_sigma + math.sqrt(c_s * (2 - c_s) * params.mu_eff) * (
        inv_sqrt @ y_w
    )
    norm_ps = float(np.linalg.norm(p_sigma))
    g = state.generation + 1
    h_sigma = (
        norm_ps / math.sqrt(1 - (1 - c_s) ** (2 * g)) < (1.4 + 2 / (params.n + 1)) * params.chi_n
    )
    p_c = (1 - c_c) * state.p_c + h_sigma * math.sqrt(c_c * (2 - c_c) * params.mu_eff) * y_w
    # Negative weights are rescaled by the Mahalanobis length so C stays positive definite.
    w_circ = w.copy()
    neg = ~pos
    if neg.any():
        lengths = np.sum((ys[neg] @ inv_sqrt.T) ** 2, axis=1)
        w_circ[neg] = w[neg] * params.n / np.maximum(lengths, 1e-300)
    delta_h = (1 - h_sigma) * c_c * (2 - c_c)
    rank_mu = (ys * w_circ[:, None]).T @ ys
    cov = (
        (1 + params.c_1 * delta_h - params.c_1 - params.c_mu * float(w.sum())) * state.cov
        + params.c_1 * np.outer(p_c, p_c)
        + params.c_mu * rank_mu
    )
    exponent = min(1.0, (c_s / params.d_sigma) * (norm_ps / params.chi_n - 1))
    sigma = state.sigma * math.exp(exponent)
    cov, basis, scales = _eigen(cov)
    return replace(
        state,
        mean=mean,
        sigma=sigma,
        cov=cov,
        basis=basis,
        scales=scales,
        p_sigma=p_sigma,
        p_c=p_c,
        generation=g,
    )


def margin_scale(
    state: CmaState, cell_low: np.ndarray, cell_high: np.ndarray, alpha: float
) -> CmaState:
    """Return ``state`` with ``A`` widened so discrete coordinates keep moving.

    A simplified margin after Hamano et al. (2022), "CMA-ES with Margin", arXiv:2205.13482:
    for each discrete coordinate, the marginal probability that a sample leaves the cell
    holding the mean, across its nearer inner edge, is kept at least ``alpha``. The mean is
    not moved; ``A`` is recomputed each generation from ``sigma`` and ``C``.

    Args:
        state: The state after an update.
        cell_low: Lower edge of the mean's cell per coordinate (NaN: continuous, or no cell
            below); ``cell_high`` likewise.
        cell_high: Upper edge of the mean's cell (NaN: continuous, or no cell above).
        alpha: The margin, in (0, 0.5).
    """
    dist = np.fmin(state.mean - cell_low, cell_high - state.mean)  # NaN only where both are
    std = state.sigma * np.sqrt(np.diag(state.cov))
    quantile = NormalDist().inv_cdf(1 - alpha)
    needed = np.where(np.isnan(dist), 1.0, np.nan_to_num(dist) / (quantile * std))
    return replace(state, margin=np.maximum(1.0, needed))


def stop_reason(
    state: CmaState,
    params: StrategyParams,
    recent_best: np.ndarray,
    values: np.ndarray,
    tol_x: float = 1e-6,
    tol_fun: float = 1e-12,
    max_condition: float = 1e14,
) -> str | None:
    """Return why the run should restart (``"tolx"``, ``"tolfun"``, ``"condition"``) or None.

    Args:
        state: The state after the latest update.
        params: The run's strategy parameters.
        recent_best: The best value of each generation of the run so far, oldest first.
        values: The finite values of the latest generation.
        tol_x: Stop when every coordinate's standard deviation and path is below this.
        tol_fun: Stop when recent best values and the latest values span less than this.
        max_condition: Stop when the condition number of ``C`` exceeds this.
    """
    spread = state.sigma * np.maximum(
        np.sqrt(np.diag(state.cov)) * state.margin, np.abs(state.p_c)
    )
    if np.all(spread < tol_x):
        return "tolx"
    window = 10 + math.ceil(30 * params.n / params.popsize)
    if len(recent_best) > window:
        span = np.concatenate([recent_best[-window:], values])
        span = span[np.isfinite(span)]
        if len(span) and float(span.max() - span.min()) < tol_fun:
            return "tolfun"
    if (state.scales.max() / state.scales.min()) ** 2 > max_condition:
        return "condition"
    return None
