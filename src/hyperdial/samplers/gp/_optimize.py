"""Maximise an acquisition function over a mixed search space.

1. Score a scrambled Sobol' set of candidates in the search box (or, in a trust region,
   perturbations of the centre along a random subset of parameters), plus the best observed
   configurations and small perturbations of them.
2. From the best few, alternate L-BFGS-B on the continuous columns, preconditioned by the
   lengthscales (each column divided by its lengthscale, so the problem is round), with a
   best-improvement search over the neighbours of each discrete parameter (all choices of a
   categorical; the next grid points of an integer, all of them on a small grid).

Every row scored is canonical (:meth:`Encoding.canonical`), so integers and categoricals are
only ever scored at legal values, and inactive parameters never move.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from hyperdial.samplers.gp._encoding import CAT, Encoding

__all__ = ["Acquisition", "maximize"]

#: ``acquisition(X, with_grad) -> (values (B,), gradients (B, dim) or None)``
Acquisition = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]

_CHUNK = 2048


def _score(acq: Acquisition, X: np.ndarray) -> np.ndarray:
    out = np.empty(len(X))
    for s in range(0, len(X), _CHUNK):
        out[s : s + _CHUNK] = acq(X[s : s + _CHUNK], False)[0]
    return np.where(np.isfinite(out), out, -np.inf)


def _candidates(
    enc: Encoding,
    rng: np.random.Generator,
    n: int,
    lower: np.ndarray,
    upper: np.ndarray,
    center: np.ndarray | None,
) -> np.ndarray:
    """Return ``n`` canonical candidate rows (a power of two, from scrambled Sobol')."""
    m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
    seed = int(rng.integers(2**63 - 1))
    try:
        engine = qmc.Sobol(enc.n_params, scramble=True, rng=np.random.default_rng(seed))
    except TypeError:  # pragma: no cover - scipy < 1.15 calls the argument seed
        engine = qmc.Sobol(enc.n_params, scramble=True, seed=np.random.default_rng(seed))
    U = engine.random_base2(m)
    numeric = enc.numeric
    U[:, numeric] = lower[numeric] + U[:, numeric] * (upper[numeric] - lower[numeric])
    if center is not None:
        # TuRBO perturbs ~20 parameters at a time in high dimensions, keeping the rest at the
        # centre, so candidates stay close to the incumbent along most axes.
        prob = min(1.0, 20.0 / enc.n_params)
        mask = rng.random(U.shape) < prob
        mask[np.arange(len(U)), rng.integers(enc.n_params, size=len(U))] = True
        c = _to_cube(enc, center)
        U = np.where(mask, U, c[None, :])
    return enc.from_cube(U)


def _to_cube(enc: Encoding, row: np.ndarray) -> np.ndarray:
    u = row[: enc.n_params].copy()
    for i, kind in enumerate(enc.kinds):
        if kind == CAT:
            u[i] = (max(row[i], 0.0) + 0.5) / enc.n_choices[i]
    return u


def _perturb(
    enc: Encoding,
    rng: np.random.Generator,
    rows: np.ndarray,
    n_each: int,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """Return ``n_each`` local perturbations of each row (numeric: Gaussian; categorical: flip)."""
    if len(rows) == 0:
        return rows
    X = np.repeat(rows, n_each, axis=0)
    P = enc.n_params
    width = (upper - lower)[None, :]
    scale = np.exp(rng.uniform(np.log(0.005), np.log(0.2), size=(len(X), 1)))
    step = rng.standard_normal((len(X), P)) * scale * width
    move = rng.random((len(X), P)) < max(0.2, 2.0 / P)
    Xp = X[:, :P]
    num = enc.numeric[None, :] & move
    Xp[num] = np.clip(Xp + step, lower[None, :], upper[None, :])[num]
    for i, kind in enumerate(enc.kinds):
        if kind == CAT:
            flip = move[:, i] & (rng.random(len(X)) < 0.5)
            X[flip, i] = rng.integers(enc.n_choices[i], size=int(flip.sum()))
    return enc.canonical(X)


def _fix(X: np.ndarray, frozen: np.ndarray, base: np.ndarray, enc: Encoding) -> np.ndarray:
    if frozen.any():
        X[:, frozen] = base[frozen]
        enc.canonical(X)
    return X


def _lbfgs(
    acq: Acquisition,
    enc: Encoding,
    X0: np.ndarray,
    f0: np.ndarray,
    free: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    scale: np.ndarray,
    frozen: np.ndarray,
    base: np.ndarray,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Refine the relaxed columns of every start jointly (a separable sum) with L-BFGS-B."""
    act = np.zeros((len(X0), enc.dim), dtype=bool)
    act[:, : enc.n_params] = enc.active(X0)
    cols = [np.flatnonzero(free & act[s]) for s in range(len(X0))]
    sizes = [len(c) for c in cols]
    if sum(sizes) == 0:
        return X0, f0
    rows = np.concatenate([np.full(k, s) for s, k in enumerate(sizes)])
    flat = np.concatenate(cols)
    sc = scale[flat]
    z0 = X0[rows, flat] / sc
    bounds = list(zip(lower[flat] / sc, upper[flat] / sc))

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        X = X0.copy()
        X[rows, flat] = z * sc
        values, grads = acq(X, True)
        assert grads is not None
        values = np.where(np.isfinite(values), values, -1e10)
        grads = np.nan_to_num(grads[rows, flat] * sc)
        return -float(values.sum()), -grads

    result = scipy.optimize.minimize(
        fun, z0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": max_iter}
    )
    X1 = X0.copy()
    X1[rows, flat] = np.clip(result.x * sc, lower[flat], upper[flat])
    _fix(enc.canonical(X1), frozen, base, enc)
    f1 = _score(acq, X1)
    better = f1 > f0
    return np.where(better[:, None], X1, X0), np.where(better, f1, f0)


def _climb(
    acq: Acquisition,
    enc: Encoding,
    X: np.ndarray,
    f: np.ndarray,
    frozen: np.ndarray,
    base: np.ndarray,
    max_moves: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Move each start to its best discrete neighbour while that improves the acquisition."""
    X, f = X.copy(), f.copy()
    moved_any = False
    todo = np.ones(len(X), dtype=bool)
    for _ in range(max_moves):
        blocks, owners = [], []
        act = enc.active(X)
        for s in np.flatnonzero(todo):
            for i in enc.discrete:
                if frozen[i] or not act[s, i]:
                    continue
                values = enc.neighbours(X[s], i)
                if len(values) == 0:
                    continue
                block = np.repeat(X[s : s + 1], len(values), axis=0)
                block[:, i] = values
                blocks.append(block)
                owners.append(np.full(len(values), s))
        if not blocks:
            break
        cand = _fix(enc.canonical(np.vstack(blocks)), frozen, base, enc)
        owner = np.concatenate(owners)
        scores = _score(acq, cand)
        todo[:] = False
        for s in np.unique(owner):
            idx = np.flatnonzero(owner == s)
            j = idx[np.argmax(scores[idx])]
            if scores[j] > f[s] + 1e-12 * max(1.0, abs(f[s])):
                X[s], f[s], todo[s], moved_any = cand[j], scores[j], True, True
        if not todo.any():
            break
    return X, f, moved_any


def maximize(
    acq: Acquisition,
    enc: Encoding,
    rng: np.random.Generator,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    base: np.ndarray,
    frozen: np.ndarray,
    seeds: np.ndarray,
    scale: np.ndarray,
    center: np.ndarray | None = None,
    n_candidates: int = 2048,
    n_starts: int = 5,
    max_iter: int = 200,
) -> tuple[np.ndarray, float]:
    """Return the best canonical row found and its acquisition value.

    Args:
        acq: The acquisition function (maximised).
        enc: The design-matrix layout.
        rng: The only source of randomness.
        lower: Lower box bounds per parameter column (numeric columns only).
        upper: Upper box bounds per parameter column.
        base: A row holding the values of frozen columns.
        frozen: Columns that must keep ``base``'s value (parameters fixed for this trial).
        seeds: Rows always scored and perturbed, e.g. the best observed configurations.
        scale: Per-column lengthscales, to precondition the gradient steps.
        center: The trust region's centre, to draw candidates as its perturbations.
        n_candidates: Size of the quasi-random candidate set.
        n_starts: Candidates refined by local search.
        max_iter: L-BFGS-B iterations per refinement.
    """
    pad = np.zeros(enc.dim - enc.n_params)
    lo = np.concatenate([lower, pad])
    hi = np.concatenate([upper, pad])
    X = _candidates(enc, rng, n_candidates, lower, upper, center)
    seeds = np.asarray(seeds, dtype=float).reshape(-1, enc.dim)
    n_local = max(16, n_candidates // 32)
    local = _perturb(enc, rng, seeds[: max(1, n_starts)], n_local, lower, upper)
    X = _fix(np.vstack([X, seeds, local]), frozen, base, enc)
    f = _score(acq, X)
    order = np.argsort(-f, kind="stable")
    _, first = np.unique(X[order], axis=0, return_index=True)
    top = order[np.sort(first)[:n_starts]]
    Xs, fs = X[top], f[top]
    free = np.zeros(enc.dim, dtype=bool)
    free[: enc.n_params] = enc.relaxed
    free &= ~frozen
    max_moves = 4 + 2 * len(enc.discrete)
    for _ in range(3):
        if free.any():
            Xs, fs = _lbfgs(acq, enc, Xs, fs, free, lo, hi, scale, frozen, base, max_iter)
        if not enc.discrete:
            break
        Xs, fs, moved = _climb(acq, enc, Xs, fs, frozen, base, max_moves)
        if not moved or not free.any():
            break
    best = int(np.argmax(fs))
    return Xs[best].copy(), float(fs[best])
