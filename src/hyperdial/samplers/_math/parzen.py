"""Parzen (kernel density) estimators on the unit cube, for the TPE sampler.

Numeric parameters live in ``[0, 1]`` (see :func:`hyperdial.space.to_unit`): a continuous one
has a density there; an integer or stepped one owns a cell of the interval per legal value, and
its probability is the kernel's mass over that cell. Categorical parameters are indices in
``range(k)``. An estimator is a weighted mixture of product kernels, one per observation plus
one prior component: a normal kernel truncated to ``[0, 1]`` for each numeric dimension and an
Aitchison-Aitken kernel (Aitchison and Aitken, 1976, "Multivariate binary discrimination by the
kernel method", Biometrika 63(3)) for each categorical one. Everything is a pure function of
arrays.

Example:
    >>> import numpy as np
    >>> domain = Domain.continuous(1)
    >>> est = ParzenEstimator.fit(
    ...     np.array([[0.2], [0.3]]), np.zeros((2, 0), dtype=int), np.ones(2),
    ...     domain=domain, n_choices=(), sigma=np.array([0.1]), cat_smoothing=np.zeros(0),
    ...     prior=Prior.uniform(1, ()),
    ... )
    >>> bool(est.log_pdf(np.array([[0.25]]), np.zeros((1, 0), dtype=int))[0] > 0.0)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hyperdial.samplers._math import truncnorm
from hyperdial.space import Float, Int

__all__ = [
    "Domain",
    "ParzenEstimator",
    "Prior",
    "categorical_smoothing",
    "magic_clip",
    "neighbour_bandwidths",
    "observation_weights",
    "scott_bandwidths",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Domain:
    """How each numeric dimension of the unit cube maps to legal values.

    Attributes:
        n_cells: Per dimension, the number of equal cells of a linear grid (an ``Int`` or a
            stepped ``Float``), or 0.
        log_low: Per dimension, the lowest value of a log-scaled ``Int`` (else 0): its cell
            for value ``x`` is ``[log(x - 0.5), log(x + 0.5)]`` rescaled to the unit interval.
        log_high: The highest value of a log-scaled ``Int`` (else 0).
    """

    n_cells: np.ndarray
    log_low: np.ndarray
    log_high: np.ndarray

    @classmethod
    def continuous(cls, n_dims: int) -> Domain:
        """Return a domain of ``n_dims`` continuous dimensions."""
        zeros = np.zeros(n_dims)
        return cls(np.zeros(n_dims, dtype=int), zeros, zeros)

    @classmethod
    def of(cls, dists: Sequence[Float | Int]) -> Domain:
        """Return the domain of distributions as :func:`hyperdial.space.to_unit` maps them."""
        n_cells = np.zeros(len(dists), dtype=int)
        log_low = np.zeros(len(dists))
        log_high = np.zeros(len(dists))
        for i, d in enumerate(dists):
            if isinstance(d, Int) and d.log and d.high > d.low:
                log_low[i], log_high[i] = d.low, d.high
            elif isinstance(d, Int) or d.step is not None or d.high == d.low:
                n_cells[i] = d.n_grid or 1
        return cls(n_cells, log_low, log_high)

    @property
    def n_dims(self) -> int:
        """Return the number of numeric dimensions."""
        return len(self.n_cells)

    @property
    def discrete(self) -> np.ndarray:
        """Return the mask of dimensions whose legal values are cells."""
        return (self.n_cells > 0) | (self.log_high > 0)

    def cells(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the ends ``(lo, hi)`` of the cells holding the points ``u`` (NaN if continuous).

        Args:
            u: Points of the unit cube, shape ``(m, n_dims)``.
        """
        lo = np.full(u.shape, np.nan)
        hi = np.full(u.shape, np.nan)
        grid = np.flatnonzero(self.n_cells > 0)
        if grid.size:
            n = self.n_cells[grid].astype(float)
            k = np.clip(np.floor(u[:, grid] * n), 0.0, n - 1.0)
            lo[:, grid] = k / n
            hi[:, grid] = (k + 1.0) / n
        logs = np.flatnonzero(self.log_high > 0)
        if logs.size:
            a = np.log(self.log_low[logs] - 0.5)
            b = np.log(self.log_high[logs] + 0.5)
            x = np.rint(np.exp(a + u[:, logs] * (b - a)))
            x = np.clip(x, self.log_low[logs], self.log_high[logs])
            lo[:, logs] = (np.log(x - 0.5) - a) / (b - a)
            hi[:, logs] = (np.log(x + 0.5) - a) / (b - a)
        return lo, hi


@dataclass(frozen=True)
class Prior:
    """The prior component of an estimator: uniform, or centred at expert defaults.

    Attributes:
        weight: The component's weight, relative to weight 1 for an observation.
        mu: Per numeric dimension, the centre of a truncated normal kernel, or NaN for uniform.
        sigma: The width of those kernels in the unit interval.
        choice: Per categorical dimension, the index of the default choice, or -1 for uniform.
        choice_mass: The probability a default choice gets (the rest is spread evenly).
    """

    weight: float
    mu: np.ndarray
    sigma: float
    choice: np.ndarray
    choice_mass: float

    @classmethod
    def uniform(cls, n_numeric: int, n_choices: Sequence[int], weight: float = 1.0) -> Prior:
        """Return a uniform prior."""
        return cls(weight, np.full(n_numeric, np.nan), 1.0, np.full(len(n_choices), -1), 0.0)


def observation_weights(n: int, n_recent: int | None) -> np.ndarray:
    """Return weights for ``n`` observations in time order: the newest count most.

    The ``n_recent`` newest weigh 1; older ones ramp linearly from ``1 / n`` up to 1, so an old
    region the optimiser has left fades from the model. ``None`` weighs all alike.
    """
    if n_recent is None or n <= n_recent:
        return np.ones(n)
    ramp = np.linspace(1.0 / n, 1.0, num=n - n_recent)
    return np.concatenate([ramp, np.ones(n_recent)])


def scott_bandwidths(
    u: np.ndarray, weights: np.ndarray, n_dims: int, factor: float, prior_weight: float
) -> np.ndarray:
    """Return a kernel width per column of ``u``: Scott's rule ``factor * s * n ** (-1/(D+4))``.

    ``s`` is the weighted standard deviation of the column pooled with that of the uniform
    prior (``1 / sqrt(12)``, at weight ``prior_weight``), so that a handful of observations
    neither collapses the width to 0 nor lets it exceed the prior's; ``n`` is the total weight
    and ``D = n_dims`` the dimension of the joint estimator (Scott, 1992, "Multivariate Density
    Estimation", Wiley). As the good observations cluster, their kernels narrow with them.

    Args:
        u: Observations in the unit cube, shape ``(n, d)``.
        weights: Their weights, shape ``(n,)``.
        n_dims: Dimensions of the joint estimator (categorical ones included).
        factor: Scale of the rule (1.06 is the normal-reference value).
        prior_weight: Weight of the prior pooled into the spread.
    """
    total = float(weights.sum()) + prior_weight
    if total <= 0.0:
        return np.full(u.shape[1], factor / math.sqrt(12.0))
    if len(u):
        mean = weights @ u / max(float(weights.sum()), 1e-300)
        var = weights @ (u - mean) ** 2
    else:
        var = np.zeros(u.shape[1])
    pooled = np.sqrt((var + prior_weight / 12.0) / total)
    return np.asarray(factor * pooled * max(total, 1.0) ** (-1.0 / (n_dims + 4)), dtype=float)


def categorical_smoothing(n: float, n_choices: np.ndarray, per_choice: float = 1.0) -> np.ndarray:
    """Return the share ``a k / (n + a k)`` a kernel spreads evenly over its ``k`` choices.

    Together the ``n`` kernels spread the mass of ``a = per_choice`` pseudo-observations per
    choice: a choice no observation has keeps a share that shrinks as ``1 / n``. A large set
    (the bad trials) is thus smoothed less than a small one (the good trials), so a choice
    tried rarely and badly is not ruled out for good.
    """
    ak = per_choice * np.asarray(n_choices, dtype=float)
    return ak / (max(n, 0.0) + ak)


def magic_clip(n: int) -> float:
    """Return the smallest bandwidth for ``n`` observations, ``1 / min(100, n + 1)``.

    Bergstra et al. (2011) bound kernels from below this way so that a cluster of nearby
    observations does not collapse the density into spikes.
    """
    return 1.0 / min(100.0, n + 1.0)


def neighbour_bandwidths(
    mu: np.ndarray, prior_mu: float | None, consider_endpoints: bool
) -> np.ndarray:
    """Return, for 1-D kernel centres ``mu``, the distance to the farther neighbour.

    Each kernel is as wide as the larger gap to its sorted neighbours (the prior's centre
    included when given), so the density is smooth where the data are sparse and sharp where
    they cluster (Bergstra et al., 2011). The ends count as neighbours with
    ``consider_endpoints``; otherwise an outermost kernel uses its one inner gap.

    Returns:
        Bandwidths in the order of ``mu``, shape ``(len(mu),)``.
    """
    points = mu if prior_mu is None else np.append(mu, prior_mu)
    order = np.argsort(points, kind="stable")
    s = points[order]
    if consider_endpoints or len(s) == 1:
        padded = np.concatenate([[0.0], s, [1.0]])
        gaps = np.diff(padded)
        width = np.maximum(gaps[:-1], gaps[1:])
    else:
        gaps = np.diff(s)
        left = np.concatenate([[gaps[0]], gaps])
        right = np.concatenate([gaps, [gaps[-1]]])
        width = np.maximum(left, right)
    out = np.empty_like(width)
    out[order] = width
    return out[: len(mu)]


class ParzenEstimator:
    """A weighted mixture of product kernels over numeric and categorical dimensions.

    Build one with :meth:`fit`. Component ``i`` has, per numeric dimension, a normal kernel of
    centre ``mu[i]`` and width ``sigma[i]`` truncated to ``[0, 1]`` (or the uniform density)
    and, per categorical dimension, a probability table row.
    """

    def __init__(
        self,
        log_weights: np.ndarray,
        mu: np.ndarray,
        sigma: np.ndarray,
        uniform: np.ndarray,
        cat_log_probs: Sequence[np.ndarray],
        domain: Domain,
    ) -> None:
        self.log_weights = log_weights
        self.mu = mu
        self.sigma = sigma
        self.uniform = uniform
        self.cat_log_probs = tuple(cat_log_probs)
        self.domain = domain
        self._discrete = domain.discrete
        safe_sigma = np.where(uniform, 1.0, sigma)
        self._safe_sigma = safe_sigma
        norm = truncnorm.log_mass(-mu / safe_sigma, (1.0 - mu) / safe_sigma)
        self._log_norm = np.where(uniform, 0.0, norm)
        # Continuous dimensions: sum_d (x_d - mu_d)^2 / s_d^2 expands into two matrix
        # products, so a density costs O(m n d) multiply-adds without (m, n, d) temporaries.
        cont = ~self._discrete
        gauss = ~uniform[:, cont]
        self._inv_var = np.where(gauss, 1.0 / safe_sigma[:, cont] ** 2, 0.0)
        self._mu_inv_var = mu[:, cont] * self._inv_var
        log_scale = np.log(safe_sigma[:, cont]) + _LOG_SQRT_2PI + self._log_norm[:, cont]
        self._cont_const = (
            0.5 * mu[:, cont] * self._mu_inv_var + np.where(gauss, log_scale, 0.0)
        ).sum(axis=1)

    @classmethod
    def fit(
        cls,
        u: np.ndarray,
        c: np.ndarray,
        weights: np.ndarray,
        *,
        domain: Domain,
        n_choices: Sequence[int],
        sigma: np.ndarray,
        cat_smoothing: np.ndarray,
        prior: Prior,
    ) -> ParzenEstimator:
        """Return the estimator of observations ``(u, c)`` plus a prior component.

        Args:
            u: Numeric coordinates in ``[0, 1]``, shape ``(n, d)``.
            c: Categorical indices, shape ``(n, k)``.
            weights: Observation weights, shape ``(n,)`` (the prior weighs ``prior.weight``).
            domain: The numeric dimensions' cells.
            n_choices: The number of choices of each categorical dimension.
            sigma: Kernel widths, shape ``(d,)`` (shared) or ``(n, d)`` (per observation).
            cat_smoothing: Per categorical dimension, the share ``s`` of an observation's mass
                spread evenly over the choices: its kernel is ``(1 - s) * onehot + s / k``.
            prior: The prior component.
        """
        n, d = u.shape
        w = np.append(np.asarray(weights, dtype=float), prior.weight)
        keep = w > 0
        with np.errstate(divide="ignore"):
            log_w = np.log(w) - math.log(w.sum())
        mu = np.vstack([u, np.where(np.isnan(prior.mu), 0.5, prior.mu)[None, :]])
        sig = np.broadcast_to(np.asarray(sigma, dtype=float), (n, d))
        sig = np.vstack([sig, np.full((1, d), prior.sigma)])
        uniform = np.zeros((n + 1, d), dtype=bool)
        uniform[n] = np.isnan(prior.mu)
        tables = []
        for j, k in enumerate(n_choices):
            s = float(cat_smoothing[j])
            table = np.full((n + 1, k), s / k)
            table[np.arange(n), c[:, j]] += 1.0 - s
            if prior.choice[j] >= 0:
                table[n] = (1.0 - prior.choice_mass) / k
                table[n, prior.choice[j]] += prior.choice_mass
            else:
                table[n] = 1.0 / k
            with np.errstate(divide="ignore"):
                tables.append(np.log(table[keep]))
        return cls(log_w[keep], mu[keep], sig[keep], uniform[keep], tables, domain)

    @property
    def n_components(self) -> int:
        """Return the number of mixture components (the prior included)."""
        return len(self.log_weights)

    def component_log_pdf(self, u: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Return each component's log-density (log-mass for discrete dimensions), ``(m, n)``.

        Args:
            u: Numeric points in ``[0, 1]``, shape ``(m, d)``.
            c: Categorical indices, shape ``(m, k)``.
        """
        m = len(u)
        out = np.zeros((m, self.n_components))
        cont = np.flatnonzero(~self._discrete)
        if cont.size:
            x = u[:, cont]
            out += x @ self._mu_inv_var.T - 0.5 * (x * x) @ self._inv_var.T - self._cont_const
        disc = np.flatnonzero(self._discrete)
        if disc.size:
            lo, hi = self.domain.cells(u)
            lo, hi = lo[:, disc], hi[:, disc]
            mu, sig = self.mu[:, disc], self._safe_sigma[:, disc]
            a = (lo[:, None, :] - mu[None]) / sig[None]
            b = (hi[:, None, :] - mu[None]) / sig[None]
            ll = truncnorm.log_mass(a, b) - self._log_norm[None, :, disc]
            flat = np.log(hi - lo)[:, None, :]
            out += np.where(self.uniform[None, :, disc], flat, ll).sum(axis=2)
        for j, table in enumerate(self.cat_log_probs):
            out += table[:, c[:, j]].T
        return out

    def log_pdf(self, u: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Return the mixture's log-density at each point, shape ``(m,)``.

        For discrete numeric and categorical dimensions the factor is a probability mass, so
        the result is a density over the continuous dimensions only.
        """
        x = self.component_log_pdf(u, c) + self.log_weights
        top = x.max(axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            return np.asarray(np.log(np.exp(x - top).sum(axis=1)) + top[:, 0], dtype=float)

    def sample(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``size`` points: a component by weight, then each dimension from its kernel.

        Returns:
            ``(u, c)``: numeric points in ``[0, 1]`` of shape ``(size, d)`` and categorical
            indices of shape ``(size, k)``.
        """
        p = np.exp(self.log_weights)
        comp = rng.choice(self.n_components, size=size, p=p / p.sum())
        d = self.mu.shape[1]
        r = rng.random((size, d))
        u = truncnorm.sample(self.mu[comp], self._safe_sigma[comp], 0.0, 1.0, r)
        u = np.where(self.uniform[comp], r, u)
        c = np.zeros((size, len(self.cat_log_probs)), dtype=int)
        if self.cat_log_probs:
            rc = rng.random((size, len(self.cat_log_probs)))
            for j, table in enumerate(self.cat_log_probs):
                cdf = np.cumsum(np.exp(table[comp]), axis=1)
                cdf /= cdf[:, -1:]
                idx = (rc[:, j : j + 1] >= cdf).sum(axis=1)
                c[:, j] = np.minimum(idx, table.shape[1] - 1)
        return u, c
