"""Successive halving: train many configurations briefly, and the best longer.

Two schedulers share the rung rules here: :class:`ASHA`, asynchronous (a decision whenever a
trial reaches a rung), and :class:`SuccessiveHalving`, synchronous (a rung is promoted once
all of it has finished). :mod:`hyperdial.schedulers.hyperband` reuses both rule sets.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hyperdial._types import JSON, Direction
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers._predict import predict_at_rung
from hyperdial.schedulers._rank import rank_at_rung
from hyperdial.schedulers.base import Decision, Launch, Scheduler, sign, value_at
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["ASHA", "SuccessiveHalving"]

Value = float | tuple[float, ...]


def _check_eta(owner: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
        raise InvalidValueError(f"{owner}: reduction_factor must be an int >= 2; got {value!r}.")
    return int(value)


def _check_resource(owner: str, name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidValueError(f"{owner}: {name} must be a finite number > 0; got {value!r}.")
    return value if isinstance(value, int) else float(value)


RANK_BY = ("value", "model")


def _check_rank_by(owner: str, value: object, promote: bool) -> str:
    if value not in RANK_BY:
        raise InvalidValueError(f"{owner}: rank_by must be 'value' or 'model'; got {value!r}.")
    if value == "model" and promote:
        raise InvalidValueError(
            f"{owner}: rank_by='model' judges reports inside trials (prune mode); with "
            f"promote=True rungs rank by final values. Use one or the other."
        )
    return str(value)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _fmt(resource: float) -> str:
    return f"{resource:g}"


def _grid(first: float, eta: int, last: float) -> tuple[float, ...]:
    """Return ``first * eta**k`` for every ``k`` with a value below ``last``, then ``last``."""
    out = []
    r = first
    while r < last and not _close(r, last):
        out.append(r)
        r = r * eta
    out.append(last)
    return tuple(out)


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _final_value(trial: FrozenTrial) -> Value:
    values = trial.values or ()
    return values[0] if len(values) == 1 else tuple(values)


def _ranked(trials: Sequence[FrozenTrial], history: History) -> list[FrozenTrial]:
    """Return COMPLETE ``trials`` best first (ties and equal fronts by number)."""
    done = sorted(trials, key=lambda t: t.number)
    position = rank_at_rung([_final_value(t) for t in done], history.directions)
    return [t for _, t in sorted(zip(position, done), key=lambda p: p[0])]


def _as_value(owner: str, history: History, trial: FrozenTrial, value: object, at: float) -> Value:
    """Return ``value`` as a float or a tuple of one per objective, or raise naming the trial."""
    m = history.n_objectives
    if m == 1:
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, Sequence) and len(value) == 1:
            return float(value[0])
    elif isinstance(value, Sequence) and len(value) == m:
        return tuple(float(v) for v in value)
    raise InvalidValueError(
        f"{owner}: the study has {m} objective(s), so a rung compares one value per "
        f"objective; trial {trial.number} has {value!r} at resource {_fmt(at)}. With several "
        f"objectives, report one value per objective or use promote=True (final values)."
    )


def _judge(
    owner: str,
    history: History,
    trial: FrozenTrial,
    step: int,
    value: object,
    rungs: Sequence[float],
    eta: int,
    is_peer: Callable[[FrozenTrial], bool],
    where: str = "",
    top: float | None = None,
) -> Decision:
    """Apply the asynchronous rung rule to a report (see :class:`ASHA`).

    ``rungs`` are the resources at which decisions are taken, ascending; ``is_peer`` says
    which other trials compete at them; ``where`` prefixes the rung in reasons. With ``top``
    (``rank_by="model"``, one objective), a rung ranks by predicted final values when the
    model of :mod:`hyperdial.schedulers._predict` ranks better than the values there.
    """
    prev = max((s for s in trial.intermediate if s != step), default=-math.inf)
    crossed = [(k, r) for k, r in enumerate(rungs) if prev < r <= step]
    if not crossed:
        return Decision(False, f"step {step} crosses no rung")
    reason = ""
    for k, r in crossed:
        at = f"at step {step} ({where}rung {k}, resource {_fmt(r)})"
        own = value_at(trial, r)
        entries = [
            (trial.number, _as_value(owner, history, trial, value if own is None else own, r))
        ]
        for other in history.trials:
            if other.number == trial.number or other.state is TrialState.WAITING:
                continue
            v = value_at(other, r)
            if v is not None and is_peer(other):
                entries.append((other.number, _as_value(owner, history, other, v, r)))
        n = len(entries)
        if n < eta:
            reason = f"continues {at}: {n} trial(s) reached the rung, fewer than {eta} to compare"
            continue
        entries.sort(key=lambda e: e[0])
        ranked: list[Value] = [v for _, v in entries]
        directions = history.directions
        by = ""
        if top is not None and history.n_objectives == 1:
            model = predict_at_rung(
                history,
                [number for number, _ in entries],
                rungs[: k + 1],
                top,
                sign(history.directions[0]),
            )
            if model is not None:
                by = f" {model.describe(top)}"
                if model.used:  # scores: lower is better
                    ranked = [model.scores[number] for number, _ in entries]
                    directions = [Direction.MINIMIZE]
        position = rank_at_rung(ranked, directions)
        rank = position[[number for number, _ in entries].index(trial.number)] + 1
        keep = max(1, n // eta)
        text = f"{at}: rank {rank} of {n}{by}, top {keep} continue"
        if rank > keep:
            return Decision.stop(f"pruned {text}")
        reason = f"continues {text}"
    return Decision(False, reason)


class ASHA(Scheduler):
    """Asynchronous successive halving (Li et al. 2020, arXiv:1810.05934).

    Rung ``k`` sits at resource ``r_k = min_resource * reduction_factor**(k +
    min_early_stopping_rate)``; with ``max_resource``, the rungs are those below it and then
    ``max_resource`` itself (the top rung).

    **Prune mode** (``promote=False``, the default): every trial is launched with
    ``budget=max_resource``, trains to the end and reports every step; :meth:`on_report`
    judges it at each rung below the top the first time a report reaches it (a report at
    ``step`` judges rung ``r`` when ``previous step < r <= step``, where the previous step is
    the largest other step the trial reported; so call ``should_prune()`` after every report).
    The trial's value at ``r`` (:func:`~hyperdial.schedulers.value_at`) is ranked among the
    values at ``r`` of every other trial that reached it, running or finished. With ``n``
    trials there (this one included), the trial goes on if ``n < reduction_factor`` (too few
    to compare) or if it ranks in the top ``n // reduction_factor``; otherwise it is pruned.
    A decision is final: a trial that went on past a rung is not judged there again.

    **Promote mode** (``promote=True``, by lineage; needs ``max_resource``): a trial never
    pauses and :meth:`on_report` never prunes. :meth:`next_launch` looks from the highest rung
    down for a COMPLETE trial launched at rung ``k`` (``budget == r_k``) that ranks in the top
    ``n_k // reduction_factor`` of the ``n_k`` COMPLETE trials at rung ``k`` (by final values)
    and has no child yet; it launches a child with ``budget=r_{k+1}``, to resume from the
    parent's checkpoint. Failing that, a fresh configuration at ``r_0``. New trials carry
    ``user_attrs={"rung": k}``.

    Ranking: ascending by value for minimisation (descending for maximisation), ties to the
    lower trial number, NaN last; with several objectives, by Pareto front and then crowding
    distance (NSGA-II).

    Args:
        min_resource: The resource of the first rung (before the early-stopping rate).
        max_resource: The largest resource a trial trains to, or ``None`` for no top rung
            (prune mode only).
        reduction_factor: ``eta``: about one trial in ``eta`` goes on at each rung.
        min_early_stopping_rate: ``s``: the first rung is at ``min_resource * eta**s``.
        promote: Promote by lineage instead of pruning inside trials.
        rank_by: ``"value"`` (the rule above) or ``"model"`` (prune mode, one objective,
            needs ``max_resource``): rank a rung by each trial's final value as predicted from
            its configuration and its values at the rungs so far, fitted on the trials that
            reached ``max_resource``, wherever that ranks those trials better than their
            values at the rung (see :mod:`hyperdial.schedulers._predict`); the remedy for
            slow learners that look poor early.

    Example:
        >>> asha = ASHA(min_resource=1, max_resource=81, reduction_factor=3)
        >>> asha.rungs
        (1, 3, 9, 27, 81)
    """

    supports_multi_objective = True
    _owner = "ASHA"

    def __init__(
        self,
        *,
        min_resource: float = 1,
        max_resource: float | None = None,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        promote: bool = False,
        rank_by: str = "value",
    ) -> None:
        owner = self._owner
        self.min_resource = _check_resource(owner, "min_resource", min_resource)
        self.reduction_factor = _check_eta(owner, reduction_factor)
        rate = min_early_stopping_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Integral) or rate < 0:
            raise InvalidValueError(
                f"{owner}: min_early_stopping_rate must be an int >= 0; got {rate!r}."
            )
        self.min_early_stopping_rate = int(rate)
        if not isinstance(promote, bool):
            raise InvalidValueError(f"{owner}: promote must be a bool; got {promote!r}.")
        self.promote = promote
        first = self.min_resource * self.reduction_factor**self.min_early_stopping_rate
        self.max_resource: float | None = None
        #: The rung resources up to ``max_resource`` (``None`` without a maximum).
        self.rungs: tuple[float, ...] | None = None
        if max_resource is not None:
            self.max_resource = _check_resource(owner, "max_resource", max_resource)
            if self.max_resource < first and not _close(self.max_resource, first):
                raise InvalidValueError(
                    f"{owner}: max_resource must be >= the first rung, min_resource * "
                    f"reduction_factor**min_early_stopping_rate = {_fmt(first)}; "
                    f"got {max_resource!r}."
                )
            self.rungs = _grid(first, self.reduction_factor, self.max_resource)
        elif promote:
            raise InvalidValueError(
                f"{owner}: max_resource is needed with promote=True (the top rung's budget); "
                f"got None."
            )
        self.rank_by = _check_rank_by(owner, rank_by, promote)
        if self.rank_by == "model" and self.max_resource is None:
            raise InvalidValueError(
                f"{owner}: rank_by='model' predicts values at max_resource, so it needs one; "
                f"got None."
            )

    def rung(self, k: int) -> float:
        """Return the resource of rung ``k`` (``max_resource`` for the top rung).

        Example:
            >>> ASHA(min_resource=2, min_early_stopping_rate=1).rung(2)
            54
        """
        if self.rungs is not None and k >= len(self.rungs) - 1:
            return self.rungs[-1]
        return self.min_resource * self.reduction_factor ** (k + self.min_early_stopping_rate)

    def _judged(self, step: int) -> list[float]:
        """Return the rungs where decisions are taken, up to ``step``."""
        if self.rungs is not None:
            return [r for r in self.rungs[:-1] if r <= step]
        out = []
        k = 0
        while (r := self.rung(k)) <= step:
            out.append(r)
            k += 1
        return out

    def _judged_text(self) -> str:
        if self.rungs is None:
            return ", ".join(_fmt(self.rung(k)) for k in range(3)) + ", ..."
        return ", ".join(_fmt(r) for r in self.rungs[:-1]) or "none (one rung)"

    def on_report(
        self,
        history: History,
        trial: FrozenTrial,
        step: int,
        value: float | Sequence[float],
    ) -> Decision:
        """Judge ``trial`` at the rungs its report at ``step`` reached (prune mode).

        Raises:
            InvalidValueError: several objectives, and a value at a rung is a single number.
        """
        if self.promote:
            return Decision(False, "promote mode: trials stop at their budget, never pruned")
        return _judge(
            self._owner,
            history,
            trial,
            step,
            value,
            self._judged(step),
            self.reduction_factor,
            lambda other: True,
            top=self.max_resource if self.rank_by == "model" else None,
        )

    def next_launch(self, history: History, number: int, rng: np.random.Generator) -> Launch:
        """Return a promotion (promote mode) or a fresh configuration."""
        if not self.promote:
            return Launch.fresh(
                budget=self.max_resource,
                reason=f"new configuration, judged at resources {self._judged_text()}",
            )
        assert self.rungs is not None  # promote=True requires max_resource
        rungs = self.rungs
        eta = self.reduction_factor
        parents = {t.parent for t in history.trials if t.parent is not None}
        for k in range(len(rungs) - 2, -1, -1):
            here = [
                t
                for t in history.completed
                if t.budget is not None and t.values is not None and _close(t.budget, rungs[k])
            ]
            top = len(here) // eta
            for rank, t in enumerate(_ranked(here, history)[:top], start=1):
                if t.number not in parents:
                    return Launch.from_parent(
                        t,
                        budget=rungs[k + 1],
                        reason=(
                            f"promote trial {t.number} from rung {k} (resource "
                            f"{_fmt(rungs[k])}): rank {rank} of {len(here)}, top {top} go on; "
                            f"rung {k + 1}, resource {_fmt(rungs[k + 1])}"
                        ),
                        user_attrs={"rung": k + 1},
                    )
        return Launch.fresh(
            budget=rungs[0],
            reason=f"nothing to promote; new configuration at rung 0 (resource {_fmt(rungs[0])})",
            user_attrs={"rung": 0},
        )

    def settings(self) -> dict[str, JSON]:
        """Return the class name and constructor arguments."""
        return {
            "class": type(self).__name__,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
            "min_early_stopping_rate": self.min_early_stopping_rate,
            "promote": self.promote,
            "rank_by": self.rank_by,
        }


@dataclass(frozen=True)
class _Plan:
    """One iteration of synchronous successive halving: ``(n_k, r_k)`` per rung."""

    rungs: tuple[tuple[int, float], ...]
    attrs: Mapping[str, JSON] = field(default_factory=dict)
    label: str = ""


def _synchronous_launch(history: History, plan_of: Callable[[int], _Plan]) -> Launch:
    """Return the next launch of synchronous successive halving by lineage.

    Iterations are read back from the trials' ``user_attrs`` (``iteration`` and ``rung``);
    the oldest iteration that can launch something does, and when none can, the next one
    starts. Trials without those attributes are ignored.
    """
    groups: dict[int, dict[int, list[FrozenTrial]]] = {}
    for t in history.trials:
        i, k = t.user_attrs.get("iteration"), t.user_attrs.get("rung")
        if _is_index(i) and _is_index(k):
            groups.setdefault(i, {}).setdefault(k, []).append(t)
    parents = {t.parent for t in history.trials if t.parent is not None}
    for i in sorted(groups):
        launch = _iteration_launch(history, i, plan_of(i), groups[i], parents)
        if launch is not None:
            return launch
    i = max(groups, default=-1) + 1
    return _fresh(i, plan_of(i), 0, "starts")


def _fresh(i: int, plan: _Plan, count: int, verb: str) -> Launch:
    n0, r0 = plan.rungs[0]
    return Launch.fresh(
        budget=r0,
        reason=(
            f"{plan.label}iteration {i} {verb}: new configuration {count + 1} of {n0} at "
            f"rung 0 (resource {_fmt(r0)})"
        ),
        user_attrs={**plan.attrs, "iteration": i, "rung": 0},
    )


def _iteration_launch(
    history: History,
    i: int,
    plan: _Plan,
    members: Mapping[int, list[FrozenTrial]],
    parents: set[int | None],
) -> Launch | None:
    """Return iteration ``i``'s next launch, or ``None`` if it waits or is over."""
    first = members.get(0, [])
    if len(first) < plan.rungs[0][0]:
        return _fresh(i, plan, len(first), "continues")
    for k in range(len(plan.rungs) - 1):
        here = members.get(k, [])
        if not all(t.state.is_finished() for t in here):
            return None  # synchronous: rung k is promoted once all of it has finished
        done = [t for t in here if t.state is TrialState.COMPLETE and t.values is not None]
        n_next, r_next = plan.rungs[k + 1]
        top = min(n_next, len(done))
        for rank, t in enumerate(_ranked(done, history)[:top], start=1):
            if t.number not in parents:
                return Launch.from_parent(
                    t,
                    budget=r_next,
                    reason=(
                        f"{plan.label}iteration {i}: promote trial {t.number} from rung {k} "
                        f"(resource {_fmt(plan.rungs[k][1])}): rank {rank} of {len(done)}, "
                        f"top {top} go on; rung {k + 1}, resource {_fmt(r_next)}"
                    ),
                    user_attrs={**plan.attrs, "iteration": i, "rung": k + 1},
                )
    return None


class SuccessiveHalving(Scheduler):
    """Synchronous successive halving by lineage (Jamieson and Talwalkar 2016).

    "Non-stochastic Best Arm Identification and Hyperparameter Optimization", AISTATS 2016,
    arXiv:1502.07943.

    Each iteration launches ``n_configs`` fresh configurations with ``budget=r_0``. Once
    every trial of rung ``k`` of an iteration has finished, the best ``n_{k+1}`` of its
    COMPLETE trials (by final value; Pareto front and crowding distance for several
    objectives) are promoted: each gets a child trial (``parent=``) with ``budget=r_{k+1}``,
    which resumes from the parent's checkpoint. While an iteration waits for a rung to
    finish, the next iteration's fresh configurations are launched, so workers stay busy;
    the oldest iteration with something to launch goes first.

    Rungs: ``r_k = min_resource * reduction_factor**k`` and ``n_k = n_configs //
    reduction_factor**k``. Without ``max_resource``, rungs go on while ``n_k >= 1``. With
    it, the rungs are those below ``max_resource`` and then ``max_resource``, and each keeps
    at least one configuration, so the best is trained up to ``max_resource``.

    New trials carry ``user_attrs={"iteration": i, "rung": k}``; the schedule is rebuilt
    from these (trials without them are ignored), so restarted studies and workers agree.

    Args:
        n_configs: Fresh configurations per iteration.
        min_resource: The resource of rung 0.
        max_resource: The resource of the top rung, or ``None`` (see above).
        reduction_factor: ``eta``: one configuration in ``eta`` is promoted.

    Example:
        >>> SuccessiveHalving(27, min_resource=1, reduction_factor=3).plan
        ((27, 1), (9, 3), (3, 9), (1, 27))
    """

    supports_multi_objective = True
    _owner = "SuccessiveHalving"

    def __init__(
        self,
        n_configs: int,
        *,
        min_resource: float = 1,
        max_resource: float | None = None,
        reduction_factor: int = 3,
    ) -> None:
        owner = self._owner
        if (
            isinstance(n_configs, bool)
            or not isinstance(n_configs, numbers.Integral)
            or (n_configs < 1)
        ):
            raise InvalidValueError(f"{owner}: n_configs must be an int >= 1; got {n_configs!r}.")
        self.n_configs = int(n_configs)
        self.min_resource = _check_resource(owner, "min_resource", min_resource)
        self.reduction_factor = eta = _check_eta(owner, reduction_factor)
        self.max_resource: float | None = None
        if max_resource is None:
            n_rungs = 1
            while self.n_configs // eta**n_rungs >= 1:
                n_rungs += 1
            resources = [self.min_resource * eta**k for k in range(n_rungs)]
        else:
            self.max_resource = _check_resource(owner, "max_resource", max_resource)
            if self.max_resource < self.min_resource:
                raise InvalidValueError(
                    f"{owner}: max_resource must be >= min_resource ({_fmt(self.min_resource)}); "
                    f"got {max_resource!r}."
                )
            resources = list(_grid(self.min_resource, eta, self.max_resource))
        #: ``(n_k, r_k)`` for each rung of an iteration.
        self.plan: tuple[tuple[int, float], ...] = tuple(
            (max(1, self.n_configs // eta**k), r) for k, r in enumerate(resources)
        )

    def next_launch(self, history: History, number: int, rng: np.random.Generator) -> Launch:
        """Return the next promotion, or a fresh configuration of the oldest open iteration."""
        plan = _Plan(self.plan)
        return _synchronous_launch(history, lambda i: plan)

    def on_report(
        self,
        history: History,
        trial: FrozenTrial,
        step: int,
        value: float | Sequence[float],
    ) -> Decision:
        """Return CONTINUE: trials stop at their budget."""
        return Decision(False, "synchronous successive halving stops trials at their budget")

    def settings(self) -> dict[str, JSON]:
        """Return the class name and constructor arguments."""
        return {
            "class": type(self).__name__,
            "n_configs": self.n_configs,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
        }
