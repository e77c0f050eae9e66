"""Rungs ranked by predicted final values (``rank_by="model"``) on hand-made learning curves."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import hyperdial
from hyperdial import Direction, TrialState
from hyperdial.cli.scheduler import build_scheduler, parse_scheduler
from hyperdial.distributions import Float
from hyperdial.exceptions import HyperdialError, InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import RandomSampler
from hyperdial.schedulers import ASHA, BOHB, Hyperband
from hyperdial.schedulers._predict import MIN_TRAIN
from hyperdial.testing import SchedulerConformance
from hyperdial.trial import FrozenTrial

TOP = 27
LR = Float(1e-4, 1e-1, log=True)


def crossing(a: float, epoch: int) -> float:
    """A curve whose final value is best for small ``a`` but which starts worst for them."""
    final = 0.1 + 0.3 * a
    rate = 0.2 + 2 * a
    gap = 2 * (1 - a) + 0.2
    return final + gap * (epoch**-rate - TOP**-rate)


def parallel(a: float, epoch: int) -> float:
    """A curve whose value at every epoch ranks as its final value does."""
    return 0.1 + 0.3 * a + 1.0 * (epoch**-0.5 - TOP**-0.5)


def lr_of(a: float) -> float:
    return 10 ** (-4 + 3 * a)


def trial(number, a, curve, last, state=TrialState.COMPLETE, attrs=None):
    reports = {e: curve(a, e) for e in range(1, last + 1)}
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        params={"lr": lr_of(a)},
        distributions={"lr": LR},
        intermediate=reports,
        values=(reports[last],) if state is TrialState.COMPLETE else None,
        user_attrs=attrs or {},
    )


def judge(scheduler, curve, n_full, a_new=0.0, step=1, direction=Direction.MINIMIZE):
    """Return the decision on a new trial at ``step`` after ``n_full`` trials went to the top."""
    peers = [trial(i, a, curve, TOP) for i, a in enumerate(np.linspace(0.1, 1.0, n_full))]
    if direction is Direction.MAXIMIZE:
        flip = lambda t: FrozenTrial(  # noqa: E731
            **{
                **t.__dict__,
                "intermediate": {s: -v for s, v in t.intermediate.items()},
                "values": None if t.values is None else (-t.values[0],),
            }
        )
        peers = [flip(t) for t in peers]
    new = trial(len(peers), a_new, curve, step, TrialState.RUNNING)
    if direction is Direction.MAXIMIZE:
        new = flip(new)
    history = History((direction,), (*peers, new))
    return scheduler.on_report(history, new, step, new.intermediate[step])


def test_a_slow_learner_goes_on_where_its_early_value_would_stop_it():
    by_value = judge(ASHA(max_resource=TOP), crossing, n_full=10)
    by_model = judge(ASHA(max_resource=TOP, rank_by="model"), crossing, n_full=10)
    assert by_value.prune
    assert not by_model.prune
    assert "by predicted final value (" in by_model.reason
    assert "model of 10 trials that reached resource 27" in by_model.reason


def test_maximisation_ranks_the_same_way():
    decision = judge(
        ASHA(max_resource=TOP, rank_by="model"), crossing, n_full=10, direction=Direction.MAXIMIZE
    )
    assert not decision.prune
    assert "by predicted final value (" in decision.reason


def test_a_fast_learner_that_ends_poorly_is_stopped_by_the_model():
    by_value = judge(ASHA(max_resource=TOP), crossing, n_full=10, a_new=1.0, step=3)
    by_model = judge(
        ASHA(max_resource=TOP, rank_by="model"), crossing, n_full=10, a_new=1.0, step=3
    )
    assert not by_value.prune  # it looks best at epoch 3
    assert by_model.prune


def test_the_values_at_the_rung_stay_in_charge_where_they_rank_as_well():
    decision = judge(ASHA(max_resource=TOP, rank_by="model"), parallel, n_full=10, a_new=0.9)
    assert decision.prune
    assert "by value at the rung (" in decision.reason
    assert "against 1.00 for the values at the rung" in decision.reason


def test_too_few_trials_at_the_top_leave_the_plain_rule():
    model = ASHA(max_resource=TOP, rank_by="model")
    plain = ASHA(max_resource=TOP)
    for n_full in (3, MIN_TRAIN - 1):
        decision = judge(model, crossing, n_full=n_full)
        assert decision == judge(plain, crossing, n_full=n_full)
        assert "Spearman" not in decision.reason


def test_hyperband_learns_from_every_bracket():
    hb = Hyperband(min_resource=1, max_resource=TOP, rank_by="model")
    # Ten full trials of bracket 0 (no early stopping); the new one is in bracket 3.
    peers = [
        trial(i, a, crossing, TOP, attrs={"bracket": 0})
        for i, a in enumerate(np.linspace(0.1, 1.0, 10))
    ]
    peers += [
        trial(10 + i, a, crossing, 1, TrialState.PRUNED, {"bracket": 3})
        for i, a in enumerate(np.linspace(0.3, 1.0, 5))
    ]
    new = trial(15, 0.0, crossing, 1, TrialState.RUNNING, {"bracket": 3})
    history = History((Direction.MINIMIZE,), (*peers, new))
    decision = hb.on_report(history, new, 1, new.intermediate[1])
    assert not decision.prune
    assert "bracket 3" in decision.reason
    assert "of 6" in decision.reason  # ranked among its bracket only
    assert "model of 10 trials" in decision.reason


def test_several_objectives_rank_by_pareto_fronts_at_the_rung():
    hb = Hyperband(max_resource=9, rank_by="model")
    peers = [
        FrozenTrial(
            trial_id=i,
            number=i,
            state=TrialState.COMPLETE,
            intermediate={e: (float(i + e), float(9 - i)) for e in range(1, 10)},
            values=(float(i + 9), float(9 - i)),
            user_attrs={"bracket": 2},
        )
        for i in range(9)
    ]
    history = History((Direction.MINIMIZE, Direction.MINIMIZE), tuple(peers))
    decision = hb.on_report(history, peers[-1], 1, peers[-1].intermediate[1])
    assert "Spearman" not in decision.reason


def _crossing_objective(t):
    a = (math.log10(t.suggest_float("lr", 1e-4, 1e-1, log=True)) + 4) / 3
    shift = t.suggest_float("shift", 0.0, 1.0)
    for epoch in range(1, TOP + 1):
        value = crossing(a, epoch) + 0.1 * shift
        t.report(value, epoch)
        if t.should_prune():
            raise hyperdial.TrialPruned()
    return value


def _study_best(rank_by: str, seed: int) -> float:
    study = hyperdial.create_study(
        sampler=RandomSampler(seed=seed),
        scheduler=Hyperband(min_resource=1, max_resource=TOP, rank_by=rank_by),
    )
    study.optimize(_crossing_objective, n_trials=150)
    reasons = [t.error or "" for t in study.trials if t.state is TrialState.PRUNED]
    if rank_by == "model":
        assert any("by predicted final value (" in r for r in reasons)
    return study.best_value


def test_slow_learners_win_a_study_when_rungs_rank_by_predicted_finals():
    by_value = np.mean([_study_best("value", seed) for seed in range(4)])
    by_model = np.mean([_study_best("model", seed) for seed in range(4)])
    assert by_model < by_value - 0.005


def test_the_default_scheduler_ranks_rungs_by_predicted_finals():
    study = hyperdial.create_study(sampler=RandomSampler(seed=0))
    study.optimize(_crossing_objective, n_trials=80)
    reasons = [t.error or "" for t in study.trials if t.state is TrialState.PRUNED]
    assert any(r.startswith("auto: BOHB: ") and "by predicted final value (" in r for r in reasons)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: ASHA(max_resource=9, rank_by="best"),
            "rank_by must be 'value' or 'model'; got 'best'",
        ),
        (lambda: Hyperband(rank_by=None), "got None"),
        (lambda: ASHA(rank_by="model"), "needs one; got None"),
        (lambda: Hyperband(max_resource=9, promote=True, rank_by="model"), "promote=True"),
        (lambda: ASHA(max_resource=9, promote=True, rank_by="model"), "promote=True"),
    ],
)
def test_bad_rank_by_is_refused_by_name(make, match):
    with pytest.raises(InvalidValueError, match=match):
        make()


def test_rank_by_is_a_setting_the_cli_builds_and_pickles():
    spec = parse_scheduler({"name": "bohb", "max_resource": 27, "rank_by": "model"})
    built = build_scheduler(spec)
    assert isinstance(built, BOHB)
    assert built.settings()["rank_by"] == "model"
    assert pickle.loads(pickle.dumps(built)).settings() == built.settings()
    with pytest.raises(HyperdialError, match="rank_by"):
        build_scheduler(parse_scheduler({"name": "asha", "max_resource": 9, "rank_by": "x"}))


class TestASHAModelConformance(SchedulerConformance):
    n_trials = 60

    @pytest.fixture
    def make_scheduler(self):
        return lambda: ASHA(max_resource=9, rank_by="model")


class TestHyperbandModelConformance(SchedulerConformance):
    n_trials = 60

    @pytest.fixture
    def make_scheduler(self):
        return lambda: Hyperband(max_resource=9, rank_by="model")


def test_a_diverged_training_counts_as_the_worst_and_equal_finals_teach_nothing():
    scheduler = ASHA(max_resource=TOP, rank_by="model")
    peers = [trial(i, a, crossing, TOP) for i, a in enumerate(np.linspace(0.1, 1.0, 10))]
    diverged = FrozenTrial(
        trial_id=10,
        number=10,
        state=TrialState.COMPLETE,
        params={"lr": 0.1},
        distributions={"lr": LR},
        intermediate={e: math.nan for e in range(1, TOP + 1)},
        values=(math.nan,),
    )
    new = trial(11, 0.0, crossing, 1, TrialState.RUNNING)
    history = History((Direction.MINIMIZE,), (*peers, diverged, new))
    decision = scheduler.on_report(history, new, 1, new.intermediate[1])
    assert not decision.prune
    assert "by predicted final value (model of 11 trials" in decision.reason

    flat = [trial(i, a, lambda a, e: 0.5, TOP) for i, a in enumerate(np.linspace(0, 1, 10))]
    new = trial(10, 0.5, lambda a, e: 0.5, 1, TrialState.RUNNING)
    decision = scheduler.on_report(
        History((Direction.MINIMIZE,), (*flat, new)), new, 1, new.intermediate[1]
    )
    assert "by value at the rung (model of 10 trials" in decision.reason
