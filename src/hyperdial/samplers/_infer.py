"""Infer a conditional search space from the trials of a define-by-run study."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hyperdial._types import ParamValue
from hyperdial.history import History
from hyperdial.space import Categorical, Condition, Distribution, SearchSpace

__all__ = ["conditional_space"]


def _candidates(
    parent: str,
    dist: Distribution,
    present: Sequence[Mapping[str, ParamValue]],
    absent: Sequence[Mapping[str, ParamValue]],
) -> list[Condition]:
    """Return conditions on ``parent`` that hold for every trial in ``present``."""
    values = [p[parent] for p in present]
    if isinstance(dist, Categorical):
        seen = [c for c in dist.choices if c in values]
        if len(seen) == len(dist.choices):
            return []
        if len(seen) == 1:
            return [Condition(parent, "==", seen[0])]  # type: ignore[arg-type]
        return [Condition(parent, "in", list(seen))]  # type: ignore[arg-type]
    lo, hi = min(values), max(values)  # type: ignore[type-var]
    out = []
    below = [a[parent] for a in absent if parent in a and a[parent] < lo]  # type: ignore[operator]
    if below:  # the boundary halfway between the nearest values on either side
        cut = (max(below) + lo) / 2  # type: ignore[operator]
        out.append(Condition(parent, ">", cut))
    above = [a[parent] for a in absent if parent in a and a[parent] > hi]  # type: ignore[operator]
    if above:
        cut = (min(above) + hi) / 2  # type: ignore[operator]
        out.append(Condition(parent, "<", cut))
    return out


def conditional_space(history: History) -> SearchSpace:
    """Return every parameter the completed trials used, with the conditions that explain it.

    A parameter every completed trial has is unconditional. One that only some trials have
    gets the conditions on other parameters (each present in strictly more trials) that hold
    for every trial with it and fail for every trial without it: a categorical parent's set
    of values seen with it, or a numeric parent's threshold halfway between the nearest
    values seen with and without it (e.g. ``tree_min_leaf`` when ``model == tree`` and
    ``tree_depth > 6``). Conditions are chosen greedily, the one that explains the most
    trials first. A parameter whose presence no such conditions explain, or whose
    distribution changed between trials, is left out (the sampler draws it independently).
    A model-based sampler thereby models the whole conditional space of a define-by-run
    objective instead of the parameters every branch shares.

    Example:
        >>> import hyperdial
        >>> study = hyperdial.create_study(sampler=hyperdial.samplers.RandomSampler(), seed=0)
        >>> def objective(t):
        ...     kind = t.suggest_categorical("kind", ["a", "b"])
        ...     return t.suggest_float("x", 0, 1) if kind == "a" else 1.0
        >>> study.optimize(objective, n_trials=10)
        >>> print(conditional_space(study.history()).conditions["x"][0])
        kind == "a"
    """
    trials = [t for t in history.completed if t.values is not None]
    if not trials:
        return SearchSpace({})
    dists: dict[str, Distribution] = {}
    count: dict[str, int] = {}
    first_seen: dict[str, tuple[int, int]] = {}
    changed: set[str] = set()
    for k, t in enumerate(trials):
        for j, (name, dist) in enumerate(t.distributions.items()):
            known = dists.setdefault(name, dist)
            if known != dist:
                changed.add(name)
            count[name] = count.get(name, 0) + 1
            first_seen.setdefault(name, (k, j))
    names = [n for n in dists if n not in changed]
    # Parents first: the more trials a parameter occurs in, the earlier; then as first drawn.
    names.sort(key=lambda n: (-count[n], first_seen[n]))
    n_trials = len(trials)
    params: dict[str, Distribution] = {}
    conditions: dict[str, list[Condition]] = {}
    for name in names:
        if count[name] == n_trials:
            params[name] = dists[name]
            continue
        present = [t.params for t in trials if name in t.params]
        absent = [t.params for t in trials if name not in t.params]
        parents = [p for p in params if count[p] > count[name]]
        candidates = [
            c
            for p in parents
            if all(p in q for q in present)
            for c in _candidates(p, params[p], present, absent)
        ]
        chosen: list[Condition] = []
        left = absent
        while left:
            best, best_left = None, left
            for cond in candidates:
                kept = [a for a in left if cond.holds(a)]
                if len(kept) < len(best_left):
                    best, best_left = cond, kept
            if best is None:
                break
            chosen.append(best)
            left = best_left
        if left:
            continue  # its presence is not explained by the other parameters
        params[name] = dists[name]
        conditions[name] = chosen
    return SearchSpace(params, conditions)
