"""The scheduler contract: early stopping and multi-fidelity as pure functions of history.

A scheduler decides two things, and nothing else:

* **Inside a trial** (:meth:`Scheduler.on_report`): after ``trial.report(value, step)``, whether
  the trial should go on. ``step`` is the resource used so far (epochs, samples, seconds). The
  objective asks with ``trial.should_prune()`` and raises :class:`~hyperdial.TrialPruned`.
* **Between trials** (:meth:`Scheduler.next_launch`): what the next trial is. Usually a fresh
  configuration (``Launch()``), perhaps with a ``budget``; a promotion or an exploit is a *new*
  trial with ``parent`` (the trial it continues) and the parent's or perturbed ``params``. The
  objective trains up to ``trial.budget`` and resumes from ``trial.load_checkpoint()``.

Schedulers never write and never see storage: state they need is recomputed from the history
(so parallel workers and restarted studies agree). Randomness comes only from ``rng``, the
trial's generator. Instances are picklable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial.history import History
from hyperdial.trial import FrozenTrial, TrialState

__all__ = [
    "Decision",
    "Launch",
    "NoScheduler",
    "Scheduler",
    "sign",
    "value_at",
]


@dataclass(frozen=True)
class Decision:
    """What a scheduler says after a report: go on, or stop (``prune``), and why.

    Example:
        >>> Decision.CONTINUE.prune, Decision.stop("below the median").reason
        (False, 'below the median')
    """

    prune: bool = False
    reason: str = ""

    CONTINUE: ClassVar[Decision]

    @staticmethod
    def stop(reason: str) -> Decision:
        """Return a decision to prune, with its reason."""
        return Decision(True, reason)


Decision.CONTINUE = Decision()


@dataclass(frozen=True)
class Launch:
    """How the next trial starts.

    Attributes:
        params: Values fixed for the new trial (a promoted or perturbed configuration); the
            sampler proposes the others.
        budget: The resource the trial should train up to (``trial.budget``), if any.
        parent: Number of the trial it continues (its checkpoint is ``load_checkpoint()``'s).
        reason: Why, in words; stored with the trial.
        user_attrs: Annotations stored with the trial (e.g. ``{"bracket": 2, "rung": 1}``).
    """

    params: Mapping[str, ParamValue] = field(default_factory=dict)
    budget: float | None = None
    parent: int | None = None
    reason: str = ""
    user_attrs: Mapping[str, JSON] = field(default_factory=dict)

    @classmethod
    def fresh(
        cls,
        budget: float | None = None,
        reason: str = "",
        user_attrs: Mapping[str, JSON] | None = None,
    ) -> Launch:
        """Return the launch of a new configuration chosen by the sampler."""
        return cls(budget=budget, reason=reason, user_attrs=dict(user_attrs or {}))

    @classmethod
    def from_parent(
        cls,
        parent: FrozenTrial,
        budget: float | None,
        *,
        params: Mapping[str, ParamValue] | None = None,
        reason: str = "",
        user_attrs: Mapping[str, JSON] | None = None,
    ) -> Launch:
        """Return a trial continuing ``parent`` (its params unless ``params`` are given)."""
        return cls(
            params=dict(parent.params if params is None else params),
            budget=budget,
            parent=parent.number,
            reason=reason,
            user_attrs=dict(user_attrs or {}),
        )


def value_at(trial: FrozenTrial, resource: float) -> float | tuple[float, ...] | None:
    """Return the trial's value once it had used ``resource``, or ``None`` if it had not.

    That is its first report at a step ``>= resource``; failing that, for a COMPLETE trial
    launched with a ``budget >= resource`` (a lineage trial), its final value. Several
    objectives give a tuple.

    Example:
        >>> from hyperdial.trial import FrozenTrial, TrialState
        >>> t = FrozenTrial(
        ...     trial_id=0, number=0, state=TrialState.RUNNING,
        ...     intermediate={1: 0.9, 3: 0.5, 4: 0.4},
        ... )
        >>> value_at(t, 2), value_at(t, 3), value_at(t, 5)
        (0.5, 0.5, None)
    """
    later = [s for s in trial.intermediate if s >= resource]
    if later:
        return trial.intermediate[min(later)]
    if (
        trial.state is TrialState.COMPLETE
        and trial.budget is not None
        and trial.budget >= resource
        and trial.values is not None
    ):
        return trial.values if len(trial.values) > 1 else trial.values[0]
    return None


class Scheduler:
    """Decides when trials stop early and how new ones start; see the module docstring.

    Subclasses override :meth:`on_report`, :meth:`next_launch` or both. The defaults never
    prune and always launch a fresh configuration.
    """

    #: Whether the scheduler handles studies with several objectives (a Pareto-aware rule).
    supports_multi_objective: bool = False

    def launches_trials(self) -> bool:
        """Return whether :meth:`next_launch` may return anything but a fresh launch.

        When false the study skips the call (and the history read it needs) for every trial.
        The default tells from whether a subclass overrides :meth:`next_launch`.
        """
        return type(self).next_launch is not Scheduler.next_launch

    def next_launch(self, history: History, number: int, rng: np.random.Generator) -> Launch:
        """Return how trial ``number`` starts (default: a fresh configuration).

        Args:
            history: The study's trials before this one.
            number: The number the new trial will have (use it, not the history's length,
                for anything that must agree across parallel workers).
            rng: The new trial's random generator.
        """
        return Launch()

    def on_report(
        self,
        history: History,
        trial: FrozenTrial,
        step: int,
        value: float | Sequence[float],
    ) -> Decision:
        """Return whether ``trial`` should stop after reporting ``value`` at ``step``.

        Args:
            history: The study's trials (``trial`` included, with this report).
            trial: The reporting trial's record.
            step: The resource used so far.
            value: The reported value (one per objective for several).
        """
        return Decision.CONTINUE

    def model_history(self, history: History) -> History:
        """Return the history a sampler should learn from (default: ``history`` itself).

        Multi-fidelity schedulers may substitute values at a common resource level, so that
        a model compares like with like (BOHB fits its model on the largest level with
        enough observations).
        """
        return history

    def explain(self, history: History) -> str:
        """Return what the scheduler does now and why, in words (kept in the study's record)."""
        return type(self).__name__

    def settings(self) -> dict[str, JSON]:
        """Return the scheduler's settings, for the study's reproducibility record."""
        return {"class": type(self).__name__}


class NoScheduler(Scheduler):
    """Never prunes; every trial is a fresh configuration (the default without reports)."""

    supports_multi_objective = True


def sign(direction: Direction) -> float:
    """Return +1 for minimisation and -1 for maximisation (multiply to minimise)."""
    return -1.0 if direction is Direction.MAXIMIZE else 1.0
