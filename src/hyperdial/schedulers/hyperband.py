"""Hyperband: successive halving hedged over several trade-offs of breadth and depth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hyperdial._types import JSON
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers.base import Decision, Launch, Scheduler
from hyperdial.schedulers.successive_halving import (
    _check_eta,
    _check_rank_by,
    _check_resource,
    _close,
    _fmt,
    _is_index,
    _judge,
    _Plan,
    _synchronous_launch,
)
from hyperdial.trial import FrozenTrial

__all__ = ["Bracket", "Hyperband", "brackets"]


@dataclass(frozen=True)
class Bracket:
    """One Hyperband bracket: successive halving from ``n_configs`` configurations.

    Attributes:
        s: The bracket's index; ``s`` halvings, ``s + 1`` rungs (``s = 0``: no early stopping).
        n_configs: Configurations started at the first rung.
        rungs: ``(n_i, r_i)`` per rung: ``n_i`` configurations trained to resource ``r_i``.

    Example:
        >>> Bracket(1, 8, ((8, 27), (2, 81))).min_resource
        27
    """

    s: int
    n_configs: int
    rungs: tuple[tuple[int, float], ...]

    @property
    def min_resource(self) -> float:
        """Return the resource of the bracket's first rung."""
        return self.rungs[0][1]


def _scaled(top: float, eta: int, e: int) -> float:
    """Return ``top / eta**e``, an int when it is a whole one."""
    divisor = eta**e
    if isinstance(top, int) and top % divisor == 0:
        return top // divisor
    return top / divisor


def brackets(min_resource: float, max_resource: float, eta: int) -> list[Bracket]:
    """Return Hyperband's brackets, the most aggressive (``s = s_max``) first.

    As in Li et al. (2018), Algorithm 1, with ``R`` expressed in units of ``min_resource``:
    ``s_max = floor(log_eta(max_resource / min_resource))``; bracket ``s`` starts
    ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` configurations at ``r = max_resource *
    eta**-s`` and keeps ``n_i = floor(n * eta**-i)`` of them at ``r_i = r * eta**i``, so every
    bracket ends at ``max_resource``. Resources are whole numbers when ``max_resource`` is an
    int divisible by the powers of ``eta`` involved (e.g. ``max_resource = min_resource *
    eta**k``).

    Args:
        min_resource: The smallest resource a configuration is trained with (> 0).
        max_resource: The largest (>= ``min_resource``).
        eta: The reduction factor (an int >= 2).

    Raises:
        InvalidValueError: an argument is out of range.

    Example:
        >>> [(b.s, b.n_configs, b.min_resource) for b in brackets(1, 9, 3)]
        [(2, 9, 1), (1, 5, 3), (0, 3, 9)]
    """
    owner = "brackets"
    r_min = _check_resource(owner, "min_resource", min_resource)
    top = _check_resource(owner, "max_resource", max_resource)
    eta = _check_eta(owner, eta)
    if top < r_min and not _close(top, r_min):
        raise InvalidValueError(
            f"{owner}: max_resource must be >= min_resource ({_fmt(r_min)}); got {max_resource!r}."
        )
    s_max = 0
    while r_min * eta ** (s_max + 1) <= top or _close(r_min * eta ** (s_max + 1), top):
        s_max += 1
    out = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta**s // (s + 1))  # ceil, in integers
        rungs = tuple((n // eta**i, _scaled(top, eta, s - i)) for i in range(s + 1))
        out.append(Bracket(s, n, rungs))
    return out


class Hyperband(Scheduler):
    """Hyperband (Li et al. 2018, JMLR 18(185), arXiv:1603.06560).

    Successive halving needs a choice between many configurations trained briefly and a few
    trained long; Hyperband runs brackets ``s = s_max, ..., 0`` (see :func:`brackets`) that
    make every such choice.

    **Prune mode** (``promote=False``, the default): trial ``number`` joins bracket
    :meth:`bracket_of` ``(number)``, a fixed interleaving in which each bracket ``s`` takes
    ``n_configs(s)`` of every ``sum(n_configs)`` consecutive trials (bracket ``s`` at the
    ``j``-th of its places sits at ``(j + 1/2) / n_configs(s)`` of the cycle), so brackets fill
    in proportion from the start. :meth:`next_launch` returns ``budget=max_resource`` and
    ``user_attrs={"bracket": s}``; :meth:`on_report` applies the rule of
    :class:`~hyperdial.schedulers.ASHA` in prune mode at the bracket's rungs below
    ``max_resource``, among the trials of the same bracket only (read from the ``bracket``
    attribute, or from the trial number when it is missing).

    **Promote mode** (``promote=True``): the original synchronous Hyperband by lineage.
    Iteration ``i`` runs bracket ``s_max - (i mod (s_max + 1))`` as a
    :class:`~hyperdial.schedulers.SuccessiveHalving` iteration with that bracket's
    ``(n_i, r_i)``; while one waits for a rung to finish, the next bracket starts. New trials
    carry ``user_attrs={"bracket": s, "iteration": i, "rung": k}``.

    Args:
        min_resource: The smallest resource (the first rung of the most aggressive bracket).
        max_resource: The resource every bracket ends at.
        reduction_factor: ``eta``: about one trial in ``eta`` goes on at each rung.
        promote: Promote by lineage instead of pruning inside trials.
        rank_by: ``"value"`` or ``"model"``: how a rung ranks its trials in prune mode (see
            :class:`~hyperdial.schedulers.ASHA`; the model learns from every bracket).

    Example:
        >>> hb = Hyperband(min_resource=1, max_resource=9, reduction_factor=3)
        >>> [hb.bracket_of(n) for n in range(6)]
        [2, 1, 2, 0, 2, 1]
    """

    supports_multi_objective = True
    _owner = "Hyperband"

    def __init__(
        self,
        *,
        min_resource: float = 1,
        max_resource: float = 81,
        reduction_factor: int = 3,
        promote: bool = False,
        rank_by: str = "value",
    ) -> None:
        owner = self._owner
        self.min_resource = _check_resource(owner, "min_resource", min_resource)
        self.max_resource = _check_resource(owner, "max_resource", max_resource)
        self.reduction_factor = _check_eta(owner, reduction_factor)
        if self.max_resource < self.min_resource and not _close(
            self.max_resource, self.min_resource
        ):
            raise InvalidValueError(
                f"{owner}: max_resource must be >= min_resource ({_fmt(self.min_resource)}); "
                f"got {max_resource!r}."
            )
        if not isinstance(promote, bool):
            raise InvalidValueError(f"{owner}: promote must be a bool; got {promote!r}.")
        self.promote = promote
        self.rank_by = _check_rank_by(owner, rank_by, promote)
        #: The brackets, ``s_max`` first.
        self.brackets: tuple[Bracket, ...] = tuple(
            brackets(self.min_resource, self.max_resource, self.reduction_factor)
        )
        self._by_s = {b.s: b for b in self.brackets}
        self._order: tuple[int, ...] | None = None  # built on first use; a cache

    def bracket_of(self, number: int) -> int:
        """Return the bracket ``s`` of trial ``number`` in prune mode."""
        if self._order is None:
            places = [
                ((2 * j + 1) / (2 * b.n_configs), -b.s)
                for b in self.brackets
                for j in range(b.n_configs)
            ]
            self._order = tuple(-neg_s for _, neg_s in sorted(places))
        return self._order[number % len(self._order)]

    def _bracket_of_trial(self, trial: FrozenTrial) -> int:
        s = trial.user_attrs.get("bracket")
        if _is_index(s) and s in self._by_s:
            return int(s)
        return self.bracket_of(trial.number)

    def next_launch(self, history: History, number: int, rng: np.random.Generator) -> Launch:
        """Return the next trial: its bracket (prune mode) or the next promotion or start."""
        if self.promote:
            n_brackets = len(self.brackets)

            def plan_of(i: int) -> _Plan:
                b = self.brackets[i % n_brackets]
                return _Plan(b.rungs, {"bracket": b.s}, f"bracket {b.s}, ")

            return _synchronous_launch(history, plan_of)
        b = self._by_s[self.bracket_of(number)]
        judged = ", ".join(_fmt(r) for _, r in b.rungs[:-1]) or "none"
        return Launch.fresh(
            budget=self.max_resource,
            reason=f"bracket {b.s}: new configuration, judged at resources {judged}",
            user_attrs={"bracket": b.s},
        )

    def on_report(
        self,
        history: History,
        trial: FrozenTrial,
        step: int,
        value: float | Sequence[float],
    ) -> Decision:
        """Judge ``trial`` among its bracket at the rungs its report reached (prune mode).

        Raises:
            InvalidValueError: several objectives, and a value at a rung is a single number.
        """
        if self.promote:
            return Decision(False, "promote mode: trials stop at their budget, never pruned")
        s = self._bracket_of_trial(trial)
        b = self._by_s[s]
        return _judge(
            self._owner,
            history,
            trial,
            step,
            value,
            [r for _, r in b.rungs[:-1]],
            self.reduction_factor,
            lambda other: self._bracket_of_trial(other) == s,
            where=f"bracket {s}, ",
            top=self.max_resource if self.rank_by == "model" else None,
        )

    def settings(self) -> dict[str, JSON]:
        """Return the class name and constructor arguments."""
        return {
            "class": type(self).__name__,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
            "promote": self.promote,
            "rank_by": self.rank_by,
        }
