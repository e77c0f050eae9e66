"""Choose the early-stopping method from the study itself, and say why."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hyperdial._types import JSON
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers.base import Decision, Launch, Scheduler
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["AutoScheduler", "SchedulerChoice"]

#: From this many trials running at once, asynchronous successive halving is preferred.
MANY_WORKERS = 4


@dataclass(frozen=True)
class SchedulerChoice:
    """The method in use and why, in words."""

    method: str
    why: str
    min_resource: float | None = None
    max_resource: float | None = None


def _absorb(
    trial: FrozenTrial, first: float | None, done: float | None
) -> tuple[float | None, float | None]:
    if not trial.intermediate:
        return first, done
    low, high = min(trial.intermediate), max(trial.intermediate)
    first = low if first is None else min(first, low)
    if trial.state is TrialState.COMPLETE:
        done = high if done is None else max(done, high)
    return first, done


class AutoScheduler(Scheduler):
    """Stop unpromising trials early when the objective reports, with a method fit for it.

    The choice is remade from the history at each report, so parallel workers agree, and the
    study records it (the ``scheduler`` study attribute) whenever it changes:

    1. **None** while no trial reports intermediate values (nothing to judge), and while no
       trial has finished its curve (the full resource is not known yet), unless
       ``max_resource`` is given.
    2. **None** when the curves are too short for rungs (full resource < ``reduction_factor``
       times the first reported step).
    3. **ASHA** (Li et al. 2020, arXiv:1810.05934) when :data:`MANY_WORKERS` or more trials
       run at once: asynchronous promotions never keep a worker waiting.
    4. **BOHB** otherwise (Falkner et al. 2018, arXiv:1807.01774): Hyperband's brackets hedge
       between stopping early and trusting late gains, and a model-based sampler learns at the
       largest resource with enough data (the default sampler's GP learns from every trial
       at the resource it reached instead).

    In both, a rung ranks its trials by predicted final values once enough trials reached
    the top and that ranks them better than their values at the rung (``rank_by="model"``,
    see :mod:`hyperdial.schedulers._predict`), which keeps slow learners that look poor early.

    With ``resumable=True`` the objective trains up to ``trial.budget`` and resumes from
    ``trial.load_checkpoint()``, so trials can continue one another (by lineage), and the
    choice is made once, from the settings:

    5. **PBT** (Jaderberg et al. 2017, arXiv:1711.09846) with ``n_workers`` of 4 or more: a
       population trained at once, whose hyperparameters change during training (the result
       is a schedule, e.g. a decaying learning rate); population ``max(8, 2 n_workers)``,
       ten intervals over ``max_resource``.
    6. **Hyperband by promotion** otherwise: each promoted configuration continues its
       parent's checkpoint instead of training again from scratch.

    Args:
        min_resource: The first resource worth judging (default: the smallest first step any
            trial reported, at least 1).
        max_resource: The full resource (default: the largest step a finished trial reached;
            required with ``resumable``).
        reduction_factor: ``eta`` of the successive-halving methods.
        resumable: The objective honours ``trial.budget`` and resumes from checkpoints.
        n_workers: Trials that will run at once (with ``resumable``).

    Example:
        >>> import hyperdial
        >>> study = hyperdial.create_study(scheduler=AutoScheduler(), seed=0)
        >>> study.scheduler.choose(study.history()).method
        'none'
    """

    supports_multi_objective = True

    def __init__(
        self,
        *,
        min_resource: float | None = None,
        max_resource: float | None = None,
        reduction_factor: int = 3,
        resumable: bool = False,
        n_workers: int = 1,
    ) -> None:
        for name, value in (("min_resource", min_resource), ("max_resource", max_resource)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise InvalidValueError(
                    f"AutoScheduler: {name} must be a number > 0 or None; got {value!r}."
                )
        if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, int):
            raise InvalidValueError(
                f"AutoScheduler: reduction_factor must be an int >= 2; got {reduction_factor!r}."
            )
        if reduction_factor < 2:
            raise InvalidValueError(
                f"AutoScheduler: reduction_factor must be an int >= 2; got {reduction_factor!r}."
            )
        if not isinstance(resumable, bool):
            raise InvalidValueError(f"AutoScheduler: resumable must be a bool; got {resumable!r}.")
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise InvalidValueError(
                f"AutoScheduler: n_workers must be an int >= 1; got {n_workers!r}."
            )
        if resumable and max_resource is None:
            raise InvalidValueError(
                "AutoScheduler: resumable=True needs max_resource (the budget a trial trains to)."
            )
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self.resumable = resumable
        self.n_workers = n_workers
        self._built: dict[tuple[str, float, float], Scheduler] = {}
        # (the last trial of the finished prefix, the prefix's length, its smallest first step,
        # its largest complete last step): facts about trials that never change again
        self._facts: tuple[FrozenTrial | None, int, float | None, float | None] | None = None
        self._scan_lock = threading.Lock()
        self._lineage: Scheduler | None = None
        self._lineage_choice: SchedulerChoice | None = None
        if resumable:
            self._lineage, self._lineage_choice = self._choose_lineage()

    def _choose_lineage(self) -> tuple[Scheduler, SchedulerChoice]:
        from hyperdial.schedulers.hyperband import Hyperband
        from hyperdial.schedulers.pbt import PBT

        top = float(self.max_resource)  # type: ignore[arg-type]
        low = float(self.min_resource) if self.min_resource is not None else 1.0
        if self.n_workers >= MANY_WORKERS:
            size = max(8, 2 * self.n_workers)
            interval = max(low, top / 10)
            why = (
                f"{self.n_workers} workers train a population of {size} at once; every "
                f"{interval:g} of {top:g} the worst quarter copies the best and perturbs "
                "its hyperparameters, which yields a schedule (e.g. a decaying learning rate)"
            )
            pbt = PBT(population_size=size, interval=interval, max_resource=top)
            return pbt, SchedulerChoice("pbt", why, self.min_resource, self.max_resource)
        hb = Hyperband(
            min_resource=low,
            max_resource=top,
            reduction_factor=self.reduction_factor,
            promote=True,
        )
        why = (
            f"{self.n_workers} worker(s); promoted configurations continue their parent's "
            f"checkpoint, resources {low:g} to {top:g} (eta {self.reduction_factor})"
        )
        return hb, SchedulerChoice(
            "hyperband by promotion", why, self.min_resource, self.max_resource
        )

    def launches_trials(self) -> bool:
        """Return ``resumable``: only then do trials continue one another."""
        return self.resumable

    def next_launch(self, history: History, number: int, rng: np.random.Generator) -> Launch:
        """Delegate to the lineage method with ``resumable``; a fresh trial otherwise."""
        if self._lineage is None:
            return Launch()
        return self._lineage.next_launch(history, number, rng)

    def __getstate__(self) -> dict[str, object]:
        state = {**self.__dict__, "_built": {}, "_facts": None}
        del state["_scan_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._scan_lock = threading.Lock()

    def choose(self, history: History) -> SchedulerChoice:
        """Return the method the next decision uses, and why."""
        if self._lineage_choice is not None:
            return self._lineage_choice
        first, done, running = self._scan(history)
        if first is None:
            return SchedulerChoice("none", "no trial reports intermediate values")
        low = self.min_resource if self.min_resource is not None else max(float(first), 1.0)
        high = self.max_resource
        if high is None:
            if done is None:
                return SchedulerChoice(
                    "none", "waiting for a first trial to finish its curve (full resource unknown)"
                )
            high = float(done)
        eta = self.reduction_factor
        if high < eta * low:
            return SchedulerChoice(
                "none",
                f"curves of {high:g} steps from {low:g} are too short for rungs "
                f"(reduction factor {eta})",
                low,
                high,
            )
        if running >= MANY_WORKERS:
            return SchedulerChoice(
                "asha",
                f"{running} trials run at once: asynchronous successive halving never makes "
                f"a worker wait (resources {low:g} to {high:g}, eta {eta})",
                low,
                high,
            )
        return SchedulerChoice(
            "bohb",
            f"Hyperband brackets over resources {low:g} to {high:g} (eta {eta}) hedge between "
            "stopping early and late gains; the sampler learns at the largest level with "
            "enough data (BOHB)",
            low,
            high,
        )

    def _scan(self, history: History) -> tuple[float | None, float | None, int]:
        """Return the smallest first reported step, the largest last step of a COMPLETE trial
        with reports, and the number of RUNNING trials.

        Finished trials never change, so what the leading run of finished trials contributes
        is kept between calls (for the same study) and only later trials are read again: a
        suggestion costs O(new trials), not O(study).
        """
        trials = history.trials
        with self._scan_lock:
            facts = self._facts
            # The same records as before (a study's snapshots share its finished trials)?
            if (
                facts is None
                or facts[1] > len(trials)
                or (facts[1] and trials[facts[1] - 1] is not facts[0])
            ):
                facts = (None, 0, None, None)
            anchor, prefix, first, done = facts
            while prefix < len(trials):
                t = trials[prefix]
                if t.number != prefix or not t.state.is_finished():
                    break
                first, done = _absorb(t, first, done)
                anchor = t
                prefix += 1
            self._facts = (anchor, prefix, first, done)
        running = 0
        for t in trials[prefix:]:
            first, done = _absorb(t, first, done)
            running += t.state is TrialState.RUNNING
        return first, done, running

    def _scheduler(self, choice: SchedulerChoice) -> Scheduler | None:
        if self._lineage is not None:
            return self._lineage
        if choice.method == "none":
            return None
        assert choice.min_resource is not None and choice.max_resource is not None
        key = (choice.method, choice.min_resource, choice.max_resource)
        built = self._built.get(key)
        if built is None:
            from hyperdial.schedulers.bohb import BOHB
            from hyperdial.schedulers.successive_halving import ASHA

            kw = {
                "min_resource": choice.min_resource,
                "max_resource": choice.max_resource,
                "reduction_factor": self.reduction_factor,
                "rank_by": "model",
            }
            built = ASHA(**kw) if choice.method == "asha" else BOHB(**kw)
            self._built[key] = built
        return built

    def on_report(
        self,
        history: History,
        trial: FrozenTrial,
        step: int,
        value: float | Sequence[float],
    ) -> Decision:
        """Delegate to the chosen method (never prune under ``none``)."""
        choice = self.choose(history)
        scheduler = self._scheduler(choice)
        if scheduler is None:
            return Decision.CONTINUE
        decision = scheduler.on_report(history, trial, step, value)
        if decision.prune:
            return Decision.stop(f"auto: {choice.method.upper()}: {decision.reason}")
        return decision

    def model_history(self, history: History) -> History:
        """Delegate to the chosen method (BOHB's level, or the history itself)."""
        scheduler = self._scheduler(self.choose(history))
        return history if scheduler is None else scheduler.model_history(history)

    def explain(self, history: History) -> str:
        """Return the method in use and why."""
        choice = self.choose(history)
        return f"{choice.method}: {choice.why}"

    def settings(self) -> dict[str, JSON]:
        """Return the class name and constructor arguments."""
        return {
            "class": type(self).__name__,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
            "resumable": self.resumable,
            "n_workers": self.n_workers,
        }
