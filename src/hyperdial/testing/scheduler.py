"""The public conformance suite every scheduler (ours and plugins') must pass.

Example:
    A plugin tests its scheduler with one factory fixture::

        import pytest
        from hyperdial.testing import SchedulerConformance

        class TestMyScheduler(SchedulerConformance):
            @pytest.fixture
            def make_scheduler(self):
                return lambda: MyScheduler(min_resource=1, max_resource=9)
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

import hyperdial
from hyperdial._types import Direction
from hyperdial.exceptions import TrialPruned
from hyperdial.history import History
from hyperdial.schedulers.base import Decision, Launch, Scheduler
from hyperdial.trial import FrozenTrial, Trial, TrialState

__all__ = ["SchedulerConformance"]

MAX_STEPS = 9  # the resource an objective trains to when the trial has no budget


def _curve(trial: Trial, n_objectives: int = 1) -> object:
    """A learning curve: loss falls with the resource, to a floor set by ``x``.

    Resumes from the checkpoint of a parent when there is one and trains up to
    ``trial.budget`` (or :data:`MAX_STEPS`), reporting every step.
    """
    x = trial.suggest_float("x", 0.0, 1.0)
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    state = trial.load_checkpoint()
    start = 0 if state is None else int(state["step"])  # type: ignore[index]
    end = int(trial.budget) if trial.budget is not None else MAX_STEPS
    loss = 1.0
    for step in range(start + 1, max(end, start + 1) + 1):
        loss = (x - 0.3) ** 2 + abs(np.log10(lr) + 2) * 0.05 + 1.0 / step
        values = (loss,) if n_objectives == 1 else (loss, x)
        trial.report(values[0] if n_objectives == 1 else list(values), step)
        if trial.should_prune():
            raise TrialPruned()
    trial.save_checkpoint({"step": max(end, start + 1)})
    return loss if n_objectives == 1 else (loss, x)


def _trial(number: int, state: TrialState, steps: dict[int, float], **kw: Any) -> FrozenTrial:
    values = (steps[max(steps)],) if state is TrialState.COMPLETE and steps else None
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        params={"x": number / 10},
        values=kw.pop("values", values),
        intermediate=steps,
        **kw,
    )


class SchedulerConformance:
    """Checks of the :class:`~hyperdial.schedulers.Scheduler` contract; subclass to run them.

    Subclasses provide the fixture ``make_scheduler``: a zero-argument factory returning a new
    scheduler. Objectives in the suite report every step up to their ``trial.budget`` (or 9)
    and resume from their parent's checkpoint, so both ways of using a scheduler (pruning
    inside a trial, launching by lineage) are exercised.

    Class attributes a subclass may set:
        ``n_trials``: trials of the end-to-end checks (default 30).
    """

    n_trials: ClassVar[int] = 30

    @pytest.fixture
    def scheduler(self, make_scheduler: Callable[[], Scheduler]) -> Scheduler:
        """Return a fresh scheduler."""
        return make_scheduler()

    def _run(
        self, make_scheduler: Callable[[], Scheduler], seed: int = 0, **study_kw: Any
    ) -> hyperdial.Study:
        from hyperdial.samplers import RandomSampler

        n_objectives = len(study_kw.get("directions", ["minimize"]))
        study = hyperdial.create_study(
            sampler=RandomSampler(), scheduler=make_scheduler(), seed=seed, **study_kw
        )
        study.optimize(lambda t: _curve(t, n_objectives), n_trials=self.n_trials)
        return study

    def test_is_a_picklable_scheduler(self, scheduler: Scheduler) -> None:
        assert isinstance(scheduler, Scheduler)
        copy = pickle.loads(pickle.dumps(scheduler))
        assert type(copy) is type(scheduler)
        assert isinstance(scheduler.settings(), dict)

    def test_an_empty_history_gets_a_launch(self, scheduler: Scheduler) -> None:
        launch = scheduler.next_launch(
            History((Direction.MINIMIZE,), ()), 0, np.random.default_rng(0)
        )
        assert isinstance(launch, Launch)
        assert launch.parent is None  # nothing to continue yet
        assert launch.budget is None or launch.budget > 0

    def test_a_first_report_is_never_pruned(self, scheduler: Scheduler) -> None:
        trial = _trial(0, TrialState.RUNNING, {1: 10.0})
        history = History((Direction.MINIMIZE,), (trial,))
        decision = scheduler.on_report(history, trial, 1, 10.0)
        assert isinstance(decision, Decision) and not decision.prune

    def test_decisions_and_launches_are_functions_of_the_history(
        self, make_scheduler: Callable[[], Scheduler]
    ) -> None:
        trials = [
            _trial(i, TrialState.COMPLETE, {s: (i % 5) + 1 / s for s in range(1, 10)})
            for i in range(12)
        ]
        bad = _trial(12, TrialState.RUNNING, {1: 100.0, 3: 100.0})
        history = History((Direction.MINIMIZE,), (*trials, bad))
        a, b = make_scheduler(), make_scheduler()
        for step in (1, 3):
            assert a.on_report(history, bad, step, 100.0) == b.on_report(history, bad, step, 100.0)
        for number in (13, 14):
            launch_a = a.next_launch(history, number, np.random.default_rng([7, number]))
            launch_b = b.next_launch(history, number, np.random.default_rng([7, number]))
            assert launch_a == launch_b

    def test_a_study_runs_to_its_budget_with_lineage_consistent(
        self, make_scheduler: Callable[[], Scheduler]
    ) -> None:
        study = self._run(make_scheduler)
        trials = study.trials
        assert len(trials) == self.n_trials
        assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
        assert any(t.state is TrialState.COMPLETE for t in trials)
        for t in trials:
            if t.parent is not None:
                parent = trials[t.parent]
                assert parent.number < t.number and parent.state is TrialState.COMPLETE
            if t.budget is not None:
                assert t.budget > 0
            if t.state is TrialState.PRUNED:
                assert t.error, "a pruned trial records why"

    def test_the_same_seed_repeats_the_study(
        self, make_scheduler: Callable[[], Scheduler]
    ) -> None:
        runs = [self._run(make_scheduler, seed=11).trials for _ in range(2)]
        shape = [[(t.state, t.budget, t.parent, dict(t.params)) for t in run] for run in runs]
        assert shape[0] == shape[1]

    def test_several_objectives(self, make_scheduler: Callable[[], Scheduler]) -> None:
        if not make_scheduler().supports_multi_objective:
            with pytest.raises(hyperdial.exceptions.InvalidValueError):
                hyperdial.create_study(
                    directions=["minimize", "maximize"], scheduler=make_scheduler()
                )
            return
        study = self._run(make_scheduler, directions=["minimize", "maximize"])
        assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
        for t in study.get_trials([TrialState.PRUNED]):
            assert t.values is not None and len(t.values) == 2
