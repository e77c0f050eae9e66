"""Choose the early-stopping method from the study itself, and say why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hyperdial._types import JSON
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers.base import Decision, Scheduler
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
       largest resource with enough data.

    Population-based training changes how trials start (each continues a checkpoint), so it
    is never switched on behind the objective's back: choose :class:`~hyperdial.schedulers.PBT`
    explicitly.

    Args:
        min_resource: The first resource worth judging (default: the smallest first step any
            trial reported, at least 1).
        max_resource: The full resource (default: the largest step a finished trial reached).
        reduction_factor: ``eta`` of the successive-halving methods.

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
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self._built: dict[tuple[str, float, float], Scheduler] = {}

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_built": {}}

    def choose(self, history: History) -> SchedulerChoice:
        """Return the method the next decision uses, and why."""
        reporting = [t for t in history.trials if t.intermediate]
        if not reporting:
            return SchedulerChoice("none", "no trial reports intermediate values")
        first = min(min(t.intermediate) for t in reporting)
        low = self.min_resource if self.min_resource is not None else max(float(first), 1.0)
        high = self.max_resource
        if high is None:
            done = [max(t.intermediate) for t in reporting if t.state is TrialState.COMPLETE]
            if not done:
                return SchedulerChoice(
                    "none", "waiting for a first trial to finish its curve (full resource unknown)"
                )
            high = float(max(done))
        eta = self.reduction_factor
        if high < eta * low:
            return SchedulerChoice(
                "none",
                f"curves of {high:g} steps from {low:g} are too short for rungs "
                f"(reduction factor {eta})",
                low,
                high,
            )
        running = len(history.running)
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

    def _scheduler(self, choice: SchedulerChoice) -> Scheduler | None:
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
        }
