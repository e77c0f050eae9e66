"""Population-based training: a population trains in steps, copies its best and explores.

PBT (Jaderberg et al., 2017, "Population Based Training of Neural Networks",
arXiv:1711.09846) trains a population of models side by side. Every ``interval`` of resource a
member that ranks in the bottom of the population *exploits* a member of the top (copies its
weights and hyperparameters) and *explores* (perturbs those hyperparameters); the others go on
training. The result is a hyperparameter *schedule* (e.g. a learning rate that falls during
training), read back with :func:`schedule` and :func:`best_schedule`.

Here a trial never resumes: each step is a new trial launched with ``parent`` (the trial whose
checkpoint it starts from) and ``budget`` (the cumulative resource it trains up to), so the
population, its members and their generations are all read back from the history.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import InvalidValueError, NoCompletedTrialsError
from hyperdial.history import History
from hyperdial.schedulers._perturb import explore
from hyperdial.schedulers.base import Launch, Scheduler, sign
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["PBT", "best_schedule", "schedule"]

_BROKEN = (TrialState.FAILED, TrialState.PRUNED)


@dataclass(frozen=True)
class _Member:
    """One member of the population: its trials (those tagged with its id), by number."""

    id: int
    trials: tuple[FrozenTrial, ...]

    @property
    def latest(self) -> FrozenTrial:
        return self.trials[-1]

    @property
    def latest_complete(self) -> FrozenTrial | None:
        for t in reversed(self.trials):
            if t.state is TrialState.COMPLETE and t.values:
                return t
        return None

    @property
    def generation(self) -> int:
        g = self.latest.user_attrs.get("generation", 0)
        return g if isinstance(g, int) and not isinstance(g, bool) else 0


class PBT(Scheduler):
    """Population-based training (Jaderberg et al., 2017, arXiv:1711.09846).

    The objective of a PBT study trains one *step* per trial: it loads the checkpoint of
    ``trial.parent`` (if any), trains up to ``trial.budget`` (``interval`` more than the
    parent) with the trial's hyperparameters, saves its own checkpoint and returns its value at
    ``trial.budget``. Trials carry ``user_attrs`` ``{"member": m, "generation": g}`` (and
    ``"exploited_from"``: the donor trial's number, after an exploit); the scheduler rebuilds
    the population from them, so parallel workers and restarted studies agree.

    :meth:`next_launch` returns, in this order:

    * while fewer than ``population_size`` members exist, a fresh member (the sampler picks its
      hyperparameters), trained up to ``interval``;
    * else a step of a *ready* member: one whose latest trial is COMPLETE and below
      ``max_resource``, or FAILED/PRUNED. The ready member with the least resource goes first
      (then the lowest id), which keeps the population in step under a serial executor (taking
      the lowest id first would train member 0 to the end before member 1 starts). Trials of
      *other* members launched from a member's trial (exploits) do not stop it being ready.

      A member is ranked against every member with a COMPLETE trial, each by the value its
      current model had at the same resource (following parents back, so a model copied from
      another member is judged by its own past) and by its latest value when it has none
      there; comparing at equal resource (rather than at equal generation, which an exploit
      decouples from the resource) keeps a member that is ahead from looking better merely for
      having trained longer. Ties go to the lower member id. If the member ranks in the bottom
      ``quantile``, it EXPLOITS a donor drawn uniformly among the top ``quantile`` members: a
      new trial continues the donor's latest COMPLETE trial for ``interval`` more (for a donor
      already at ``max_resource``, the last trial of its lineage below it, so the step reruns
      the end of a good lineage), with the donor's hyperparameters explored (each one
      resampled from its distribution with ``resample_probability``; else a number is
      multiplied by a factor from ``perturb_factors``, clipped and made legal, and a
      categorical is kept). Otherwise it continues its own latest trial for ``interval`` more.
      The bottom and top each hold ``ceil(quantile * n)`` of the ``n`` ranked members, at most
      ``n // 2``.

      A member whose latest trial FAILED or was PRUNED has no model to go on with: it exploits
      a top member as above, or restarts fresh when no top member can be copied.
    * if no member is ready, a fresh extra member: while all unfinished members are running,
      so the population grows to the number of parallel workers rather than leave one idle;
      and when every member has reached ``max_resource`` too, so the study keeps going until
      its own trial budget ends it (a late member that ranks in the bottom copies the end of
      a top member's lineage).

    Budgets never exceed ``max_resource``: a last step is shortened to reach it exactly.
    :meth:`on_report` never prunes. Several parallel workers that read the same history may
    launch the same step twice; the member then goes on from the later trial and the other is
    wasted work, never a corrupted population.

    Args:
        population_size: Members trained side by side (more join when workers would idle).
        interval: Resource each trial trains (epochs, steps...) before the next decision.
        max_resource: Resource at which a member is done; ``None`` trains without end.
        quantile: Fraction of the population that exploits (bottom) and is copied (top), in
            ``(0, 0.5]``.
        perturb_factors: Multipliers for numeric hyperparameters, drawn uniformly.
        resample_probability: Chance of redrawing a hyperparameter from its distribution
            instead of perturbing it.
        hyperparameters: Names of the hyperparameters to explore; the others are copied
            from the donor unchanged. ``None`` explores every parameter of the donor.

    Example:
        >>> from hyperdial import Direction
        >>> pbt = PBT(population_size=4, interval=2, max_resource=20)
        >>> empty = History((Direction.MINIMIZE,), ())
        >>> launch = pbt.next_launch(empty, 0, np.random.default_rng(0))
        >>> launch.budget, dict(launch.user_attrs)
        (2.0, {'member': 0, 'generation': 0})
    """

    def __init__(
        self,
        *,
        population_size: int = 8,
        interval: float = 1.0,
        max_resource: float | None = None,
        quantile: float = 0.25,
        perturb_factors: Sequence[float] = (0.8, 1.2),
        resample_probability: float = 0.25,
        hyperparameters: Sequence[str] | None = None,
    ) -> None:
        if isinstance(population_size, bool) or not isinstance(population_size, int):
            _invalid("population_size", "an int >= 2", population_size)
        if population_size < 2:
            _invalid("population_size", "an int >= 2", population_size)
        self.population_size = population_size
        self.interval = _positive("interval", interval)
        self.max_resource: float | None = None
        if max_resource is not None:
            self.max_resource = _positive("max_resource", max_resource)
            if self.max_resource < self.interval:
                _invalid("max_resource", f"None or >= interval ({interval!r})", max_resource)
        if not _is_number(quantile) or not 0 < quantile <= 0.5:
            _invalid("quantile", "a number in (0, 0.5]", quantile)
        self.quantile = float(quantile)
        factors = perturb_factors
        if (
            isinstance(factors, (str, bytes))
            or not isinstance(factors, Sequence)
            or not factors
            or not all(_is_number(f) and math.isfinite(f) and f > 0 for f in factors)
        ):
            _invalid("perturb_factors", "a non-empty sequence of finite numbers > 0", factors)
        self.perturb_factors = tuple(float(f) for f in perturb_factors)
        if not _is_number(resample_probability) or not 0 <= resample_probability <= 1:
            _invalid("resample_probability", "a number in [0, 1]", resample_probability)
        self.resample_probability = float(resample_probability)
        self.hyperparameters: tuple[str, ...] | None = None
        if hyperparameters is not None:
            if (
                isinstance(hyperparameters, (str, bytes))
                or not isinstance(hyperparameters, Sequence)
                or not all(isinstance(n, str) and n for n in hyperparameters)
            ):
                _invalid("hyperparameters", "None or a list of names", hyperparameters)
            self.hyperparameters = tuple(hyperparameters)

    def next_launch(self, history: History, number: int, rng: np.random.Generator) -> Launch:
        """Return a fresh member, an exploit or a continuation (see the class docstring).

        Args:
            history: The study's trials before this one.
            number: The number the new trial will have.
            rng: The new trial's generator (draws the donor and the perturbations).
        """
        members = _members(history)
        new_id = max((m.id for m in members), default=-1) + 1
        if len(members) < self.population_size:
            return self._fresh(
                new_id,
                f"fresh: member {new_id} joins the population "
                f"({len(members) + 1} of {self.population_size})",
            )
        ready = [m for m in members if self._is_ready(m)]
        if not ready:
            if all(self._is_done(m) for m in members):
                why = f"every member reached max_resource={self.max_resource:g}"
            else:
                why = "every unfinished member is running"
            return self._fresh(new_id, f"fresh: {why}; extra member {new_id} joins")
        member = min(ready, key=lambda m: (_budget(m.latest), m.id))
        return self._step(history, members, member, rng)

    def _step(
        self,
        history: History,
        members: list[_Member],
        member: _Member,
        rng: np.random.Generator,
    ) -> Launch:
        """Return the launch of ``member``'s next step: exploit, continue or restart."""
        latest = member.latest
        broken = latest.state in _BROKEN
        ranked = [m for m in members if m.latest.state not in _BROKEN and m.latest_complete]
        at = None if broken else _budget(latest)
        s = sign(history.directions[0])
        order = sorted(ranked, key=lambda m: (_score(history, m, at, s), m.id))
        n = len(order)
        k = min(math.ceil(n * self.quantile - 1e-12), n // 2)
        position = next((i for i, m in enumerate(order) if m.id == member.id), n)
        if position >= n - k:  # a broken member is unranked: position n
            donors = [(m, t) for m in order[:k] if (t := self._source(history, m)) is not None]
            if donors:
                donor, source = donors[int(rng.integers(len(donors)))]
                if broken:
                    state = latest.state.value
                    why = f"member {member.id}'s trial {latest.number} is {state}"
                else:
                    why = f"member {member.id} (rank {position + 1} of {n})"
                return self._exploit(member, donor, source, why, rng)
        if broken:
            return self._fresh(
                member.id,
                f"restart: member {member.id}'s trial {latest.number} is "
                f"{latest.state.value} and no top member can be copied",
            )
        budget = self._next_budget(latest)
        return Launch.from_parent(
            latest,
            budget=budget,
            user_attrs={"member": member.id, "generation": member.generation + 1},
            reason=(
                f"continue: member {member.id} (rank {position + 1} of {n}) trains trial "
                f"{latest.number} on to {budget:g}"
            ),
        )

    def _exploit(
        self,
        member: _Member,
        donor: _Member,
        source: FrozenTrial,
        why: str,
        rng: np.random.Generator,
    ) -> Launch:
        """Return the launch continuing ``donor``'s trial ``source``, explored."""
        params, changes = explore(
            source.params,
            source.distributions,
            rng,
            factors=self.perturb_factors,
            resample_probability=self.resample_probability,
            names=self.hyperparameters,
        )
        return Launch.from_parent(
            source,
            budget=self._next_budget(source),
            params=params,
            user_attrs={
                "member": member.id,
                "generation": member.generation + 1,
                "exploited_from": source.number,
            },
            reason=(
                f"exploit: {why} copies member {donor.id} (trial {source.number}), "
                f"explore: {', '.join(changes) or 'nothing changed'}"
            ),
        )

    def _fresh(self, member_id: int, reason: str) -> Launch:
        return Launch.fresh(
            budget=self.interval,
            reason=reason,
            user_attrs={"member": member_id, "generation": 0},
        )

    def _next_budget(self, trial: FrozenTrial) -> float:
        budget = _budget(trial) + self.interval
        return budget if self.max_resource is None else min(budget, self.max_resource)

    def _source(self, history: History, member: _Member) -> FrozenTrial | None:
        """Return the trial an exploit of ``member`` continues, if one can be continued.

        That is the member's latest COMPLETE trial, or the last COMPLETE trial of its lineage
        below ``max_resource`` when that one has reached it.
        """
        trial = member.latest_complete
        for _ in range(len(history.trials) + 1):
            if trial is None or not self._at_end(trial):
                break
            try:
                trial = None if trial.parent is None else history.by_number(trial.parent)
            except KeyError:
                trial = None
        if trial is None or trial.state is not TrialState.COMPLETE or not trial.values:
            return None
        return trial

    def _at_end(self, trial: FrozenTrial) -> bool:
        """Return whether ``trial`` trained up to ``max_resource``."""
        return self.max_resource is not None and _budget(trial) >= self.max_resource * (1 - 1e-12)

    def _is_done(self, member: _Member) -> bool:
        """Return whether ``member``'s latest trial is COMPLETE at ``max_resource``."""
        return member.latest.state is TrialState.COMPLETE and self._at_end(member.latest)

    def _is_ready(self, member: _Member) -> bool:
        """Return whether ``member`` waits for its next step (or a replacement)."""
        state = member.latest.state
        if state is TrialState.COMPLETE:
            return not self._is_done(member)
        return state in _BROKEN

    def settings(self) -> dict[str, JSON]:
        """Return the constructor's arguments, for the study's reproducibility record."""
        names = self.hyperparameters
        return {
            "class": type(self).__name__,
            "population_size": self.population_size,
            "interval": self.interval,
            "max_resource": self.max_resource,
            "quantile": self.quantile,
            "perturb_factors": list(self.perturb_factors),
            "resample_probability": self.resample_probability,
            "hyperparameters": None if names is None else list(names),
        }


def schedule(history: History, number: int) -> list[tuple[float, float, dict[str, ParamValue]]]:
    """Return the hyperparameter schedule that trained trial ``number``'s model.

    Follows parents back to the first generation and returns one ``(resource_from,
    resource_to, params)`` per trial of the lineage, oldest first: the hyperparameters used
    from one budget to the next. After an exploit the lineage runs through the donor's trials,
    whose weights the model inherited.

    Args:
        history: The study's trials.
        number: A trial launched with a ``budget``.

    Raises:
        InvalidValueError: no such trial, a trial of the lineage has no budget, or the parents
            loop.

    Example:
        >>> from hyperdial import Direction
        >>> def step(n, lr, budget, parent=None):
        ...     return FrozenTrial(n, n, TrialState.COMPLETE, {"lr": lr}, values=(1.0,),
        ...                        budget=budget, parent=parent)
        >>> h = History((Direction.MINIMIZE,), (step(0, 0.1, 1), step(1, 0.05, 3, parent=0)))
        >>> schedule(h, 1)
        [(0.0, 1.0, {'lr': 0.1}), (1.0, 3.0, {'lr': 0.05})]
    """
    lineage: list[FrozenTrial] = []
    seen: set[int] = set()
    current: int | None = number
    while current is not None:
        if current in seen:
            raise InvalidValueError(
                f"schedule: the parents of trial {number} loop through trial {current}."
            )
        seen.add(current)
        try:
            trial = history.by_number(current)
        except KeyError:
            raise InvalidValueError(
                f"schedule: number must be a trial of the history; got {current!r}."
            ) from None
        if trial.budget is None:
            raise InvalidValueError(
                f"schedule: trial {trial.number} has no budget; a schedule follows trials "
                f"launched with one (by PBT); got budget=None."
            )
        lineage.append(trial)
        current = trial.parent
    lineage.reverse()
    steps = []
    start = 0.0
    for trial in lineage:
        end = float(trial.budget)  # type: ignore[arg-type]
        steps.append((start, end, dict(trial.params)))
        start = end
    return steps


def best_schedule(history: History) -> list[tuple[float, float, dict[str, ParamValue]]]:
    """Return the :func:`schedule` of the best COMPLETE trial at the largest budget.

    Ties go to the lowest trial number.

    Raises:
        NoCompletedTrialsError: no COMPLETE trial has a budget.

    Example:
        >>> from hyperdial import Direction
        >>> def step(n, lr, budget, value, parent=None):
        ...     return FrozenTrial(n, n, TrialState.COMPLETE, {"lr": lr}, values=(value,),
        ...                        budget=budget, parent=parent)
        >>> h = History((Direction.MINIMIZE,), (
        ...     step(0, 0.1, 1, 0.9), step(1, 0.2, 1, 0.8),
        ...     step(2, 0.05, 2, 0.7, parent=0), step(3, 0.2, 2, 0.75, parent=1),
        ... ))
        >>> best_schedule(h)
        [(0.0, 1.0, {'lr': 0.1}), (1.0, 2.0, {'lr': 0.05})]
    """
    done = [t for t in history.completed if t.budget is not None and t.values]
    if not done:
        raise NoCompletedTrialsError(
            "best_schedule: no COMPLETE trial has a budget; run a PBT study first."
        )
    top = max(float(t.budget) for t in done)  # type: ignore[arg-type]
    last = [t for t in done if math.isclose(float(t.budget), top, rel_tol=1e-9)]  # type: ignore[arg-type]
    s = sign(history.directions[0])
    best = min(last, key=lambda t: (_key(s * t.values[0]), t.number))  # type: ignore[index]
    return schedule(history, best.number)


def _members(history: History) -> list[_Member]:
    """Return the population's members, by id, from the trials' ``member`` attribute."""
    groups: dict[int, list[FrozenTrial]] = {}
    for t in history.trials:
        m = t.user_attrs.get("member")
        if isinstance(m, int) and not isinstance(m, bool):
            groups.setdefault(m, []).append(t)
    return [
        _Member(m, tuple(sorted(trials, key=lambda t: t.number)))
        for m, trials in sorted(groups.items())
    ]


def _score(history: History, member: _Member, at: float | None, s: float) -> float:
    """Return ``member``'s signed value at resource ``at`` (its latest if none is there).

    The value at ``at`` is that of the COMPLETE trial with that budget among the parents of
    the member's latest COMPLETE trial: the past of the model the member holds now.
    """
    latest = member.latest_complete
    assert latest is not None  # only members with a COMPLETE trial are ranked
    trial: FrozenTrial | None = latest
    for _ in range(len(history.trials) + 1):
        if trial is None or at is None or _budget(trial) < at * (1 - 1e-9):
            break
        if trial.state is TrialState.COMPLETE and trial.values:
            if math.isclose(_budget(trial), at, rel_tol=1e-9, abs_tol=1e-12):
                return _key(s * trial.values[0])
        if trial.parent is None:
            break
        try:
            trial = history.by_number(trial.parent)
        except KeyError:
            break
    return _key(s * latest.values[0])  # type: ignore[index]


def _key(value: float) -> float:
    """Return ``value``, with NaN ranked last."""
    return math.inf if math.isnan(value) else value


def _budget(trial: FrozenTrial) -> float:
    return 0.0 if trial.budget is None else float(trial.budget)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive(name: str, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        x = float(value)
        if math.isfinite(x) and x > 0:
            return x
    _invalid(name, "a finite number > 0", value)


def _invalid(name: str, expectation: str, value: object) -> NoReturn:
    raise InvalidValueError(f"PBT: {name} must be {expectation}; got {value!r}.")
