"""Splitting observations for TPE: good and bad by quantile, Pareto rank or hypervolume; and
parameters into groups that occur together.

One objective: the best ``n_good`` values are good. Several objectives (MOTPE, Ozaki et al.,
2020, "Multiobjective tree-structured Parzen estimator for computationally expensive
optimization problems", GECCO, and 2022, JAIR 73): whole non-dominated fronts are good while
they fit, and the front that overflows contributes the members that add the most hypervolume,
chosen greedily. All objectives are minimised here; callers flip the maximised ones.

Example:
    >>> import numpy as np
    >>> split_pareto(np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0]]), 2)[0].tolist()
    [True, True, False, False]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hyperdial._types import Direction
from hyperdial.history import History
from hyperdial.trial import FrozenTrial, TrialState

__all__ = [
    "Split",
    "co_occurrence_groups",
    "hypervolume",
    "n_good",
    "pareto_ranks",
    "split_history",
    "split_pareto",
    "split_ranked",
]

# Greedy hypervolume selection is exact up to this many objectives; beyond, the recursion
# grows as n ** (m - 2), so the overflowing front is cut by its normalised objective sum.
_MAX_EXACT_OBJECTIVES = 3


def n_good(n: int, gamma: float, gamma_max: int, rule: str) -> int:
    """Return how many of ``n`` observations count as good.

    ``"linear"``: ``ceil(gamma * n)``; ``"sqrt"``: ``ceil(gamma * sqrt(n))`` (Bergstra et al.,
    2011); both capped at ``gamma_max`` and at ``n``.
    """
    if n <= 0:
        return 0
    base = n if rule == "linear" else math.sqrt(n)
    return int(min(n, gamma_max, math.ceil(gamma * base)))


def split_ranked(
    values: np.ndarray, pruned_steps: np.ndarray, pruned_values: np.ndarray, k: int
) -> np.ndarray:
    """Return the mask of the ``k`` best of the complete and then the pruned observations.

    Complete observations rank by value (ties by position). Pruned ones rank after all of
    them: those stopped at a later step first, then by their last value (NaN last); those
    that reported nothing (step < 0) come last.

    Args:
        values: The complete observations' values (minimised), shape ``(n,)``.
        pruned_steps: The pruned observations' last steps (-1 for none), shape ``(p,)``.
        pruned_values: Their values at that step, shape ``(p,)``.
        k: How many are good.

    Returns:
        A boolean mask over ``values`` followed by the pruned observations.
    """
    n, p = len(values), len(pruned_steps)
    tier = np.concatenate([np.zeros(n), np.where(pruned_steps >= 0, 1.0, 2.0)])
    first = np.concatenate([values, -np.asarray(pruned_steps, dtype=float)])
    second = np.concatenate([np.zeros(n), np.nan_to_num(pruned_values, nan=np.inf)])
    order = np.lexsort((np.arange(n + p), second, first, tier))
    good = np.zeros(n + p, dtype=bool)
    good[order[:k]] = True
    return good


def pareto_ranks(f: np.ndarray, stop_after: int | None = None) -> np.ndarray:
    """Return each point's non-domination rank (0 = non-dominated), minimising every column.

    Args:
        f: Objective vectors, shape ``(n, m)``.
        stop_after: Stop peeling fronts once this many points are ranked; the rest get rank
            ``n`` (a shortcut when only the best fronts matter).
    """
    n = len(f)
    ranks = np.full(n, n, dtype=int)
    if n == 0:
        return ranks
    leq = (f[:, None, :] <= f[None, :, :]).all(axis=2)
    lt = (f[:, None, :] < f[None, :, :]).any(axis=2)
    dominates: np.ndarray = np.asarray(leq & lt)  # dominates[i, j]: i dominates j
    n_dominators = dominates.sum(axis=0)
    remaining = np.ones(n, dtype=bool)
    rank, done = 0, 0
    while remaining.any():
        front = remaining & (n_dominators == 0)
        ranks[front] = rank
        remaining &= ~front
        n_dominators = n_dominators - dominates[front].sum(axis=0)
        done += int(front.sum())
        rank += 1
        if stop_after is not None and done >= stop_after:
            break
    return ranks


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Return the volume dominated by ``points`` and bounded by ``ref`` (minimisation).

    Exact, by slicing along the last objective (While et al., 2006, "A faster algorithm for
    calculating hypervolume", IEEE TEC 10(1)); meant for the few points of one front.
    """
    p = points[(points < ref).all(axis=1)]
    if len(p) == 0:
        return 0.0
    m = p.shape[1]
    if m == 1:
        return float(ref[0] - p[:, 0].min())
    if m == 2:
        p = p[np.lexsort((p[:, 1], p[:, 0]))]
        best_y = np.minimum.accumulate(p[:, 1])
        xs = np.append(p[1:, 0], ref[0])
        return float(np.sum((xs - p[:, 0]) * (ref[1] - best_y)))
    p = p[np.argsort(p[:, -1], kind="stable")]
    tops = np.append(p[1:, -1], ref[-1])
    total = 0.0
    for i in range(len(p)):
        height = tops[i] - p[i, -1]
        if height > 0:
            total += height * hypervolume(p[: i + 1, :-1], ref[:-1])
    return total


def _greedy_hypervolume(f: np.ndarray, k: int, ref: np.ndarray) -> np.ndarray:
    """Return indices of ``k`` rows of ``f`` picked one by one for the most added volume."""
    chosen: list[int] = []
    left = list(range(len(f)))
    for _ in range(k):
        gains = [hypervolume(f[[*chosen, i]], ref) for i in left]
        best = left[int(np.argmax(gains))]
        chosen.append(best)
        left.remove(best)
    return np.array(chosen, dtype=int)


def split_pareto(f: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Return the mask of the ``k`` good rows of ``f`` and the worst Pareto rank among them.

    Fronts are taken whole while they fit; the overflowing front gives its members with the
    largest greedy hypervolume contribution (exact up to three objectives).
    """
    n = len(f)
    good = np.zeros(n, dtype=bool)
    k = min(k, n)
    if k <= 0:
        return good, 0
    ranks = pareto_ranks(f, stop_after=k)
    rank = 0
    while good.sum() + (ranks == rank).sum() <= k:
        good |= ranks == rank
        if good.sum() == k:
            return good, rank
        rank += 1
    front = np.flatnonzero(ranks == rank)
    need = k - int(good.sum())
    lo, hi = f.min(axis=0), f.max(axis=0)
    scale = np.where(hi > lo, hi - lo, 1.0)
    z = (f[front] - lo) / scale
    if f.shape[1] <= _MAX_EXACT_OBJECTIVES:
        ref = np.full(f.shape[1], 1.1)
        picked = front[_greedy_hypervolume(z, need, ref)]
    else:
        picked = front[np.argsort(z.sum(axis=1), kind="stable")[:need]]
    good[picked] = True
    return good, rank


def co_occurrence_groups(present: np.ndarray) -> list[list[int]]:
    """Return the columns of ``present`` grouped so that every row has all or none of a group.

    The groups are the coarsest such partition (two columns share a group when no row has one
    without the other), ordered by their first column; rows with no column are ignored.

    Args:
        present: Which observation (row) has which parameter (column), shape ``(n, p)``.
    """
    n_cols = present.shape[1]
    if n_cols < 63:  # one integer per row: np.unique over rows is much slower
        bits = 1 << np.arange(n_cols, dtype=np.int64)
        codes = np.unique(present.astype(np.int64) @ bits)
        present = (codes[:, None] & bits[None, :]) > 0
    patterns = np.asarray(np.unique(present, axis=0))
    patterns = patterns[np.asarray(patterns.any(axis=1))]
    if len(patterns) == 0:
        return [list(range(n_cols))]
    _, first, group_of = np.unique(patterns.T, axis=0, return_index=True, return_inverse=True)
    group_of = group_of.ravel()
    return [np.flatnonzero(group_of == k).tolist() for k in np.argsort(first)]


@dataclass(frozen=True)
class Split:
    """The observations of a history, with the good ones marked.

    Attributes:
        trials: Complete, then pruned, then running observations.
        numbers: Their trial numbers.
        good: Which of them are good.
        n_done: How many are complete or pruned.
        n_running: How many are running (always bad).
        threshold: The worst good value (one objective), else ``None``.
        worst_rank: The worst Pareto rank among the good (several objectives), else ``None``.
        incumbent: The best complete trial (one objective), else ``None``.
    """

    trials: tuple[FrozenTrial, ...]
    numbers: np.ndarray
    good: np.ndarray
    n_done: int
    n_running: int
    threshold: float | None
    worst_rank: int | None
    incumbent: FrozenTrial | None


def split_history(
    history: History,
    current: int,
    gamma: tuple[float, int, str],
    use_pruned: bool,
    liar: bool,
) -> Split:
    """Return the observations of ``history`` split into good and bad.

    Args:
        history: The study's trials.
        current: The number of the trial being proposed (never an observation).
        gamma: ``(gamma, gamma_max, rule)`` for :func:`n_good`.
        use_pruned: Rank PRUNED trials after the complete ones (else ignore them).
        liar: Add the other RUNNING trials that have parameters, as bad observations.
    """
    signs = np.array([-1.0 if d is Direction.MAXIMIZE else 1.0 for d in history.directions])
    complete = [t for t in history.completed if t.values is not None]
    pruned = [t for t in history.trials if t.state is TrialState.PRUNED and use_pruned]
    n_done = len(complete) + len(pruned)
    k = n_good(n_done, *gamma)
    f = np.array([t.values for t in complete], dtype=float).reshape(-1, len(signs)) * signs
    threshold: float | None = None
    worst_rank: int | None = None
    incumbent = None
    if len(signs) == 1:
        steps = np.array([-1 if t.last_step is None else t.last_step for t in pruned])
        last = [t.intermediate[t.last_step] if t.last_step is not None else np.nan for t in pruned]
        good = split_ranked(f[:, 0], steps, signs[0] * np.array(last, dtype=float), k)
        if good[: len(complete)].any():
            threshold = float(signs[0] * f[good[: len(complete)], 0].max())
            incumbent = complete[int(np.argmin(f[:, 0]))]
    else:
        mask, worst_rank = split_pareto(f, min(k, len(complete)))
        good = np.concatenate([mask, np.zeros(len(pruned), dtype=bool)])
    running = [t for t in history.running if t.number != current and t.params] if liar else []
    good = np.concatenate([good, np.zeros(len(running), dtype=bool)])
    trials = (*complete, *pruned, *running)
    numbers = np.array([t.number for t in trials], dtype=int)
    return Split(trials, numbers, good, n_done, len(running), threshold, worst_rank, incumbent)
