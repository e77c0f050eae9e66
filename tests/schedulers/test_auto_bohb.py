"""The automatic choice of scheduler, and BOHB's model history."""

from __future__ import annotations

import pytest

from hyperdial import Direction, Float
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers import BOHB, AutoScheduler
from hyperdial.testing import SchedulerConformance
from hyperdial.trial import FrozenTrial, TrialState

MIN = (Direction.MINIMIZE,)


def _t(number, state, steps, **kw):
    values = kw.pop("values", (steps[max(steps)],) if state is TrialState.COMPLETE else None)
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        params={"x": number / 10, "y": 0.5},
        distributions={"x": Float(0, 1), "y": Float(0, 1)},
        values=values,
        intermediate=steps,
        **kw,
    )


def _curve(number, state=TrialState.COMPLETE, last=9, level=1.0):
    return _t(number, state, {s: level + 1 / s for s in range(1, last + 1)})


class TestBOHB(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: BOHB(min_resource=1, max_resource=9)


class TestAutoScheduler(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return AutoScheduler


def test_bohb_models_the_largest_level_with_enough_points():
    bohb = BOHB(min_resource=1, max_resource=9)
    assert bohb.levels == (9, 3, 1)
    # three parameters' worth (d + 1 = 3) of trials reached 3, only two reached 9
    trials = [
        _curve(0, last=9, level=5.0),
        _curve(1, last=9, level=1.0),
        _t(2, TrialState.PRUNED, {1: 2.0, 2: 1.6, 3: 1.5}),
        _t(3, TrialState.PRUNED, {1: 9.0}),
        _t(4, TrialState.RUNNING, {1: 0.5}),
        _t(5, TrialState.FAILED, {1: 0.1, 5: 0.1}),
    ]
    history = History(MIN, trials)
    assert bohb.model_level(history) == 3
    shown = bohb.model_history(history)
    assert [t.number for t in shown.trials] == [0, 1, 2, 4]
    assert [t.values for t in shown.completed] == [(5 + 1 / 3,), (1 + 1 / 3,), (1.5,)]
    assert shown.trials[3].state is TrialState.RUNNING  # pending points stay pending
    early = History(MIN, trials[3:5])
    assert bohb.model_level(early) is None and bohb.model_history(early) is early
    with pytest.raises(InvalidValueError, match="min_points"):
        BOHB(min_points=0)


def test_bohb_min_points_override():
    bohb = BOHB(min_resource=1, max_resource=9, min_points=2)
    history = History(MIN, [_curve(0), _curve(1), _t(2, TrialState.PRUNED, {1: 3.0})])
    assert bohb.model_level(history) == 9


def test_auto_waits_then_picks_bohb_or_asha_and_says_why():
    auto = AutoScheduler()
    assert auto.choose(History(MIN, [])).method == "none"
    running = History(MIN, [_t(0, TrialState.RUNNING, {1: 1.0, 2: 0.9})])
    assert "first trial to finish" in auto.choose(running).why
    done = History(MIN, [_curve(0, last=27), _t(1, TrialState.RUNNING, {1: 1.0})])
    choice = auto.choose(done)
    assert choice.method == "bohb" and (choice.min_resource, choice.max_resource) == (1, 27)
    busy = History(
        MIN, [_curve(0, last=27)] + [_t(i, TrialState.RUNNING, {1: 1.0}) for i in range(1, 5)]
    )
    assert auto.choose(busy).method == "asha" and "4 trials run at once" in auto.choose(busy).why
    short = History(MIN, [_curve(0, last=2)])
    assert auto.choose(short).method == "none" and "too short" in auto.choose(short).why
    given = AutoScheduler(max_resource=81)
    assert given.choose(running).method == "bohb" and given.choose(running).max_resource == 81


def test_auto_prunes_a_bad_curve_through_the_chosen_method():
    first = BOHB(min_resource=1, max_resource=9)  # the bracket that judges at resource 1
    numbers = [n for n in range(60) if first.bracket_of(n) == first.brackets[0].s][:7]
    good = [_curve(n, last=9, level=0.1 * n) for n in numbers[:6]]
    bad = _t(numbers[6], TrialState.RUNNING, {1: 50.0})
    history = History(MIN, [*good, bad])
    auto = AutoScheduler()
    decision = auto.on_report(history, bad, 1, 50.0)
    assert decision.prune and decision.reason.startswith("auto: BOHB: ")
    assert auto.explain(history).startswith("bohb: ")


@pytest.mark.parametrize(
    "kwargs", [{"min_resource": 0}, {"max_resource": "9"}, {"reduction_factor": 1}]
)
def test_auto_rejects_bad_settings(kwargs):
    with pytest.raises(InvalidValueError, match="AutoScheduler"):
        AutoScheduler(**kwargs)


class TestAutoSchedulerByPromotion(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: AutoScheduler(resumable=True, max_resource=9)


class TestAutoSchedulerPopulation(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: AutoScheduler(resumable=True, max_resource=9, n_workers=4)


def test_resumable_objectives_get_a_lineage_method_recorded_with_the_study():
    import hyperdial
    from hyperdial.samplers import RandomSampler
    from hyperdial.testing.scheduler import _curve

    study = hyperdial.create_study(
        sampler=RandomSampler(),
        scheduler=AutoScheduler(resumable=True, max_resource=9),
        seed=0,
    )
    study.optimize(_curve, n_trials=20)
    record = study.user_attrs["scheduler"]
    assert record["now"].startswith("hyperband by promotion: 1 worker(s)")
    children = [t for t in study.trials if t.parent is not None]
    assert children and all(t.budget > study.trials[t.parent].budget for t in children)
    population = AutoScheduler(resumable=True, max_resource=20, n_workers=4)
    assert population.choose(History(MIN, [])).method == "pbt"
    assert population.settings()["n_workers"] == 4
    with pytest.raises(InvalidValueError, match="needs max_resource"):
        AutoScheduler(resumable=True)
    with pytest.raises(InvalidValueError, match="n_workers"):
        AutoScheduler(n_workers=0)


def _curves_objective(trial):
    import hyperdial

    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    value = None
    for step in range(1, 10):
        value = (x - 0.7) ** 2 + (y - 0.2) ** 2 + 1.0 / step
        trial.report(value, step)
        if trial.should_prune():
            raise hyperdial.TrialPruned()
    return value


def _recording(cls):
    class Recording(cls):
        def sample(self, history, trial, space, rng):
            self.seen.append({t.state for t in history.trials})
            return super().sample(history, trial, space, rng)

    return Recording


@pytest.mark.parametrize(
    "sampler, modelled",
    [
        pytest.param("gp", True, id="gp-models-the-resource"),
        pytest.param("gp-off", False, id="gp-complete-only"),
        pytest.param("tpe", False, id="tpe-gets-bohb-view"),
    ],
)
def test_bohb_hands_a_resource_modelling_sampler_the_history_unchanged(sampler, modelled):
    import hyperdial
    from hyperdial.samplers import TPESampler
    from hyperdial.samplers.gp import GPSampler

    cls, kw = {
        "gp": (GPSampler, {}),
        "gp-off": (GPSampler, {"multi_fidelity": False}),
        "tpe": (TPESampler, {}),
    }[sampler]
    made = _recording(cls)(seed=0, n_startup_trials=4, **kw)
    made.seen = []
    study = hyperdial.create_study(
        sampler=made, scheduler=BOHB(min_resource=1, max_resource=9), seed=0
    )
    study.optimize(_curves_objective, n_trials=30)
    assert TrialState.PRUNED in {t.state for t in study.trials}
    # BOHB's view shows the trials that reached its level as complete and leaves the others
    # out; a sampler that models the resource gets the pruned trials as they are.
    assert any(TrialState.PRUNED in states for states in made.seen) is modelled
    tops = {t.sampler_meta.get("fidelity_top") for t in study.trials}
    assert (9 in tops) is modelled
