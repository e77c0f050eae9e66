from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

from hyperdial import Direction, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers import ASHA, Launch, SuccessiveHalving
from hyperdial.testing import SchedulerConformance
from hyperdial.trial import FrozenTrial

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE
RNG = np.random.default_rng(0)


def make_trial(number, curve=None, state=TrialState.COMPLETE, values=None, **kwargs):
    """Return a trial; ``curve`` maps steps to reports (a list: step ``i + 1``)."""
    if isinstance(curve, list):
        curve = {i + 1: v for i, v in enumerate(curve)}
    curve = curve or {}
    if values is None and state is TrialState.COMPLETE and curve:
        values = (curve[max(curve)],)
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        intermediate=curve,
        values=values,
        **kwargs,
    )


def report(scheduler, peers, curve, directions=(MIN,)):
    """Return the decision after the last report of a RUNNING trial numbered after ``peers``."""
    trial = make_trial(len(peers), curve, TrialState.RUNNING)
    history = History(tuple(directions), (*peers, trial))
    step = max(trial.intermediate)
    return scheduler.on_report(history, trial, step, trial.intermediate[step])


def lineage(number, budget, value, parent=None, state=TrialState.COMPLETE, **kwargs):
    """Return a trial launched with ``budget`` (a promotion when ``parent`` is set)."""
    values = None if state is not TrialState.COMPLETE else value
    if isinstance(values, (int, float)):
        values = (float(values),)
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        params={"x": number},
        values=values,
        budget=budget,
        parent=parent,
        **kwargs,
    )


# ----------------------------------------------------------------------------- rung arithmetic


@pytest.mark.parametrize(
    ("kwargs", "rungs"),
    [
        pytest.param({"max_resource": 81}, (1, 3, 9, 27, 81), id="powers"),
        pytest.param({"max_resource": 10}, (1, 3, 9, 10), id="max-off-grid"),
        pytest.param({"max_resource": 16, "reduction_factor": 2}, (1, 2, 4, 8, 16), id="eta2"),
        pytest.param(
            {"min_resource": 2, "max_resource": 100, "min_early_stopping_rate": 1},
            (6, 18, 54, 100),
            id="early-stopping-rate",
        ),
        pytest.param({"max_resource": 1}, (1,), id="one-rung"),
        pytest.param({}, None, id="unbounded"),
    ],
)
def test_asha_rungs(kwargs, rungs):
    assert ASHA(**kwargs).rungs == rungs


def test_asha_rung_without_maximum_grows_geometrically():
    asha = ASHA(min_resource=2, reduction_factor=4, min_early_stopping_rate=1)
    assert [asha.rung(k) for k in range(3)] == [8, 32, 128]
    assert ASHA(max_resource=10).rung(5) == 10


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ASHA(reduction_factor=1), "ASHA: reduction_factor must be an int >= 2; got 1"),
        (lambda: ASHA(reduction_factor=2.5), "reduction_factor must be an int >= 2; got 2.5"),
        (lambda: ASHA(min_resource=0), "ASHA: min_resource must be a finite number > 0; got 0"),
        (lambda: ASHA(min_early_stopping_rate=-1), "min_early_stopping_rate must be an int >= 0"),
        (lambda: ASHA(min_resource=3, max_resource=2), "max_resource must be >= the first rung"),
        (lambda: ASHA(promote=True), "max_resource is needed with promote=True"),
        (lambda: ASHA(promote="yes"), "promote must be a bool; got 'yes'"),
        (lambda: SuccessiveHalving(0), "SuccessiveHalving: n_configs must be an int >= 1; got 0"),
        (lambda: SuccessiveHalving(9, max_resource=0.5), "max_resource must be >= min_resource"),
    ],
)
def test_invalid_arguments_name_the_value(make, message):
    with pytest.raises(InvalidValueError, match=message):
        make()


# ---------------------------------------------------------------------------- ASHA, prune mode

# Three learning curves (loss) that reached step 9; rungs at 1, 3, 9 (27 is the top).
GOOD = [
    make_trial(i, [0.9 - 0.1 * i, 0.7, 0.5 - 0.05 * i, 0.4, 0.35, 0.3, 0.3, 0.3, 0.2])
    for i in range(3)
]


def test_a_bad_curve_is_pruned_at_the_first_rung_with_enough_peers():
    asha = ASHA(max_resource=27)
    # Rung 0 (resource 1): peers report 0.9, 0.8, 0.7; 2.0 is the worst of 4, top 1 goes on.
    decision = report(asha, GOOD, [2.0])
    assert decision.prune
    assert decision.reason == "pruned at step 1 (rung 0, resource 1): rank 4 of 4, top 1 continue"
    # With only one peer, two trials reached the rung: fewer than eta = 3, so it goes on.
    decision = report(asha, GOOD[:1], [2.0])
    assert not decision.prune
    assert "2 trial(s) reached the rung, fewer than 3" in decision.reason
    # With two peers there are three: judged, and pruned.
    assert report(asha, GOOD[:2], [2.0]).prune


def test_a_good_curve_continues():
    decision = report(ASHA(max_resource=27), GOOD, [0.1])
    assert not decision.prune
    assert (
        decision.reason == "continues at step 1 (rung 0, resource 1): rank 1 of 4, top 1 continue"
    )


def test_the_top_fraction_grows_with_the_rung():
    peers = [make_trial(i, [float(i)]) for i in range(5)]  # 0 .. 4 at step 1
    asha = ASHA(max_resource=27)
    # Six trials reach rung 0, so the top 2 go on: 0.5 ranks 2nd, 1.5 ranks 3rd.
    assert not report(asha, peers, [0.5]).prune
    assert report(asha, peers, [1.5]).prune


def test_maximize():
    peers = [make_trial(i, [0.5 + 0.1 * i]) for i in range(3)]  # accuracies 0.5, 0.6, 0.7
    asha = ASHA(max_resource=27)
    assert report(asha, peers, [0.2], directions=(MAX,)).prune
    assert not report(asha, peers, [0.9], directions=(MAX,)).prune
    # The same accuracies read as losses give the opposite decisions.
    assert not report(asha, peers, [0.2], directions=(MIN,)).prune
    assert report(asha, peers, [0.9], directions=(MIN,)).prune


def test_no_decision_between_rungs_or_at_the_top():
    asha = ASHA(max_resource=3)  # rungs 1 (judged) and 3 (the top: the trial is done)
    bad = [5.0, 5.0, 5.0]
    assert report(asha, GOOD, bad[:1]).prune
    # Reports at steps 2 and 3 cross no rung where a decision is taken.
    decision = report(asha, GOOD, {1: 0.1, 2: 5.0})
    assert not decision.prune
    assert decision.reason == "step 2 crosses no rung"
    assert not report(asha, GOOD, {1: 0.1, 3: 5.0}).prune


def test_a_rung_is_judged_once_at_the_report_that_crosses_it():
    asha = ASHA(max_resource=27)
    # Step 9 was reported first, which judged rungs 1 and 3; a late report at step 3 does not
    # judge rung 3 again (the value there would be pruned).
    trial = make_trial(3, {1: 0.1, 9: 0.1, 3: 9.0}, TrialState.RUNNING)
    decision = asha.on_report(History((MIN,), (*GOOD, trial)), trial, 3, 9.0)
    assert not decision.prune
    assert decision.reason == "step 3 crosses no rung"
    # The same values reported in order are pruned at step 3.
    assert report(asha, GOOD, {1: 0.1, 2: 0.1, 3: 9.0}).prune
    # A report at step 4 after step 2 crosses rung 1 (resource 3): the value at 3 is step 4's.
    assert report(asha, GOOD, {1: 0.1, 2: 0.1, 4: 9.0}).prune
    assert not report(asha, GOOD, {1: 0.1, 2: 0.1, 4: 0.01}).prune


def test_a_report_crossing_several_rungs_is_judged_at_each():
    # Rung 0 peers report 0.9 .. 0.7 at step 1; rung 1 peers 0.5, 0.45, 0.4 at step 3.
    asha = ASHA(max_resource=27)
    decision = report(asha, GOOD, {0: 1.0, 4: 0.6})  # best at rung 0, worst at rung 1
    assert decision.prune
    assert "(rung 1, resource 3): rank 4 of 4" in decision.reason


def test_peers_are_running_or_finished_trials_that_reached_the_rung():
    peers = [
        make_trial(0, [0.1], TrialState.RUNNING),
        make_trial(1, [0.2], TrialState.PRUNED),
        make_trial(2, [0.3], TrialState.FAILED),
        make_trial(3, [0.0], TrialState.WAITING),
        make_trial(4, {}, TrialState.RUNNING),  # has not reached rung 0
    ]
    decision = report(ASHA(max_resource=27), peers, [0.5])
    assert decision.prune
    assert "rank 4 of 4" in decision.reason


def test_no_decision_before_the_first_rung():
    asha = ASHA(min_resource=1, max_resource=81, min_early_stopping_rate=1)  # first rung: 3
    assert not report(asha, GOOD, [9.0, 9.0]).prune
    assert report(asha, GOOD, [9.0, 9.0, 9.0]).prune


def test_prune_mode_launches_fresh_trials_to_the_maximum():
    launch = ASHA(max_resource=27).next_launch(History((MIN,), GOOD), 3, RNG)
    assert (launch.parent, launch.budget, dict(launch.params)) == (None, 27, {})
    assert "judged at resources 1, 3, 9" in launch.reason


def test_several_objectives_rank_by_pareto_front_in_prune_mode():
    peers = [make_trial(i, {1: v}) for i, v in enumerate([(1.0, 5.0), (2.0, 2.0), (5.0, 1.0)])]
    asha = ASHA(max_resource=27)
    dominated = make_trial(3, {1: (3.0, 3.0)}, TrialState.RUNNING)
    history = History((MIN, MIN), (*peers, dominated))
    assert asha.on_report(history, dominated, 1, (3.0, 3.0)).prune
    dominating = make_trial(3, {1: (0.5, 0.5)}, TrialState.RUNNING)
    history = History((MIN, MIN), (*peers, dominating))
    assert not asha.on_report(history, dominating, 1, (0.5, 0.5)).prune


def test_several_objectives_with_scalar_reports_is_a_clear_error():
    peers = [make_trial(i, [0.1 * i], values=(0.1, 0.2)) for i in range(3)]
    trial = make_trial(3, [0.5], TrialState.RUNNING)
    with pytest.raises(InvalidValueError, match="ASHA: the study has 2 objective"):
        ASHA(max_resource=27).on_report(History((MIN, MIN), (*peers, trial)), trial, 1, 0.5)


# -------------------------------------------------------------------------- ASHA, promote mode


def test_promote_mode_starts_fresh_at_the_first_rung():
    asha = ASHA(max_resource=9, promote=True)
    launch = asha.next_launch(History((MIN,), ()), 0, RNG)
    assert (launch.parent, launch.budget, dict(launch.user_attrs)) == (None, 1, {"rung": 0})
    assert launch.reason


def test_promote_mode_promotes_the_best_of_a_rung_once():
    asha = ASHA(max_resource=9, promote=True)
    rung0 = [lineage(0, 1, 0.5), lineage(1, 1, 0.2), lineage(2, 1, 0.9)]
    launch = asha.next_launch(History((MIN,), rung0), 3, RNG)
    assert launch.parent == 1
    assert launch.budget == 3
    assert dict(launch.params) == {"x": 1}
    assert dict(launch.user_attrs) == {"rung": 1}
    assert "promote trial 1 from rung 0" in launch.reason
    # The child exists (still waiting to run): trial 1 is not promoted again; 3 // 3 = 1 slot.
    child = lineage(3, 3, None, parent=1, state=TrialState.WAITING)
    launch = asha.next_launch(History((MIN,), (*rung0, child)), 4, RNG)
    assert launch.parent is None
    assert launch.budget == 1


def test_promote_mode_fills_the_next_slot_when_the_rung_grows():
    asha = ASHA(max_resource=9, promote=True)
    rung0 = [lineage(i, 1, v) for i, v in enumerate([0.5, 0.2, 0.9, 0.4, 0.8, 0.7])]
    child = lineage(6, 3, None, parent=1, state=TrialState.RUNNING)
    launch = asha.next_launch(History((MIN,), (*rung0, child)), 7, RNG)
    assert launch.parent == 3  # second best (0.4); 6 // 3 = 2 slots
    assert launch.budget == 3


def test_promote_mode_needs_eta_complete_trials():
    asha = ASHA(max_resource=9, promote=True)
    trials = [
        lineage(0, 1, 0.5),
        lineage(1, 1, 0.2),
        lineage(2, 1, None, state=TrialState.RUNNING),
    ]
    assert asha.next_launch(History((MIN,), trials), 3, RNG).parent is None


def test_promote_mode_looks_from_the_highest_rung_down():
    asha = ASHA(max_resource=27, promote=True)
    rung0 = [lineage(i, 1, 1.0 - 0.1 * i) for i in range(9)]  # best: 8, 7, 6
    rung1 = [
        lineage(9, 3, 0.3, parent=8),
        lineage(10, 3, 0.1, parent=7),
        lineage(11, 3, 0.2, parent=6),
    ]
    launch = asha.next_launch(History((MIN,), (*rung0, *rung1)), 12, RNG)
    assert (launch.parent, launch.budget, dict(launch.user_attrs)) == (10, 9, {"rung": 2})
    assert "rank 1 of 3" in launch.reason


def test_promote_mode_never_promotes_from_the_top_rung():
    asha = ASHA(max_resource=3, promote=True)
    top = [lineage(i, 3, 0.1 * i) for i in range(6)]
    assert asha.next_launch(History((MIN,), top), 6, RNG).parent is None


def test_promote_mode_maximize():
    asha = ASHA(max_resource=9, promote=True)
    rung0 = [lineage(0, 1, 0.5), lineage(1, 1, 0.2), lineage(2, 1, 0.9)]
    assert asha.next_launch(History((MAX,), rung0), 3, RNG).parent == 2


def test_promote_mode_several_objectives_promote_the_front():
    asha = ASHA(max_resource=9, promote=True)
    rung0 = [lineage(0, 1, (3.0, 3.0)), lineage(1, 1, (2.0, 4.0)), lineage(2, 1, (1.0, 1.0))]
    assert asha.next_launch(History((MIN, MIN), rung0), 3, RNG).parent == 2
    assert asha.next_launch(History((MAX, MAX), rung0), 3, RNG).parent == 0


def test_promote_mode_never_prunes():
    asha = ASHA(max_resource=27, promote=True)
    decision = report(asha, GOOD, [100.0])
    assert not decision.prune
    assert decision.reason


def simulate(scheduler, n_trials, loss, directions=(MIN,)):
    """Run ``n_trials`` serially, each finished before the next starts; return the history."""
    trials = []
    for number in range(n_trials):
        launch = scheduler.next_launch(History(tuple(directions), tuple(trials)), number, RNG)
        assert isinstance(launch, Launch)
        params = dict(launch.params) or {"x": (number * 0.618034) % 1.0}
        trials.append(
            FrozenTrial(
                trial_id=number,
                number=number,
                state=TrialState.COMPLETE,
                params=params,
                values=(loss(params["x"], launch.budget),),
                budget=launch.budget,
                parent=launch.parent,
                user_attrs=launch.user_attrs,
                reason=launch.reason,
            )
        )
    return History(tuple(directions), tuple(trials))


def test_asha_promote_simulation_promotes_each_trial_at_most_once():
    history = simulate(
        ASHA(max_resource=27, promote=True), 80, lambda x, r: (x - 0.3) ** 2 + 1 / r
    )
    children = Counter(t.parent for t in history.trials if t.parent is not None)
    assert children and max(children.values()) == 1
    for t in history.trials:
        assert t.budget in (1, 3, 9, 27)
        if t.parent is not None:
            parent = history.by_number(t.parent)
            assert t.budget == 3 * parent.budget
            assert t.params == parent.params
    assert any(t.budget == 27 for t in history.trials)
    # The configuration trained to the top is close to the optimum x = 0.3.
    best_top = min((t for t in history.trials if t.budget == 27), key=lambda t: t.values)
    assert abs(best_top.params["x"] - 0.3) < 0.1


# ------------------------------------------------------------------ synchronous halving (SH)


@pytest.mark.parametrize(
    ("sh", "plan"),
    [
        pytest.param(SuccessiveHalving(9), ((9, 1), (3, 3), (1, 9)), id="to-one"),
        pytest.param(
            SuccessiveHalving(10, min_resource=2), ((10, 2), (3, 6), (1, 18)), id="floor"
        ),
        pytest.param(
            SuccessiveHalving(3, max_resource=9), ((3, 1), (1, 3), (1, 9)), id="keeps-one-to-max"
        ),
        pytest.param(
            SuccessiveHalving(27, max_resource=9), ((27, 1), (9, 3), (3, 9)), id="stops-at-max"
        ),
        pytest.param(SuccessiveHalving(2), ((2, 1),), id="fewer-than-eta"),
    ],
)
def test_successive_halving_plan(sh, plan):
    assert sh.plan == plan


def sh_trial(number, iteration, rung, value, state=TrialState.COMPLETE, parent=None, budget=1):
    return lineage(
        number,
        budget,
        value,
        parent=parent,
        state=state,
        user_attrs={"iteration": iteration, "rung": rung},
    )


def test_sh_fills_the_first_rung_then_waits_for_all_of_it():
    sh = SuccessiveHalving(3)  # 3 at resource 1, then 1 at resource 3
    launch = sh.next_launch(History((MIN,), ()), 0, RNG)
    assert (launch.parent, launch.budget) == (None, 1)
    assert dict(launch.user_attrs) == {"iteration": 0, "rung": 0}
    trials = [
        sh_trial(0, 0, 0, 0.3),
        sh_trial(1, 0, 0, 0.1),
        sh_trial(2, 0, 0, None, state=TrialState.RUNNING),
    ]
    # Trial 1 is the best so far, but trial 2 may still beat it: start iteration 1 instead.
    launch = sh.next_launch(History((MIN,), trials), 3, RNG)
    assert launch.parent is None
    assert dict(launch.user_attrs) == {"iteration": 1, "rung": 0}
    # Once the rung is complete, its best is promoted, before iteration 1 goes on.
    trials[2] = sh_trial(2, 0, 0, 0.05)
    trials.append(sh_trial(3, 1, 0, None, state=TrialState.RUNNING))
    launch = sh.next_launch(History((MIN,), trials), 4, RNG)
    assert (launch.parent, launch.budget) == (2, 3)
    assert dict(launch.user_attrs) == {"iteration": 0, "rung": 1}
    assert "iteration 0: promote trial 2 from rung 0" in launch.reason
    assert "rank 1 of 3, top 1 go on" in launch.reason


def test_sh_promotes_the_top_of_a_rung_one_by_one_and_never_twice():
    sh = SuccessiveHalving(9, max_resource=9)
    rung0 = [sh_trial(i, 0, 0, v) for i, v in enumerate([5, 1, 7, 3, 9, 2, 8, 6, 4])]
    parents = []
    trials = list(rung0)
    for number in range(9, 12):
        launch = sh.next_launch(History((MIN,), tuple(trials)), number, RNG)
        parents.append(launch.parent)
        trials.append(
            sh_trial(number, 0, 1, None, TrialState.RUNNING, parent=launch.parent, budget=3)
        )
    assert parents == [1, 5, 3]  # values 1, 2, 3
    # Rung 1 is running: nothing to promote, so iteration 1 starts.
    launch = sh.next_launch(History((MIN,), tuple(trials)), 12, RNG)
    assert launch.parent is None
    assert launch.user_attrs["iteration"] == 1


def test_sh_failed_trials_finish_a_rung_but_are_not_promoted():
    sh = SuccessiveHalving(3)
    trials = [
        sh_trial(0, 0, 0, None, state=TrialState.FAILED),
        sh_trial(1, 0, 0, 0.5),
        sh_trial(2, 0, 0, None, state=TrialState.PRUNED),
    ]
    assert sh.next_launch(History((MIN,), trials), 3, RNG).parent == 1


def test_sh_ignores_trials_without_its_attributes():
    sh = SuccessiveHalving(3)
    trials = [lineage(i, 1, 0.1 * i) for i in range(3)]  # no iteration or rung attributes
    launch = sh.next_launch(History((MIN,), trials), 3, RNG)
    assert launch.parent is None
    assert dict(launch.user_attrs) == {"iteration": 0, "rung": 0}


def test_sh_several_objectives_and_maximize():
    sh = SuccessiveHalving(3)
    values = [
        (3.0, 2.0),
        (1.0, 1.0),
        (5.0, 1.0),
    ]  # 1 dominates under (min, min), 2 under (max, min)
    trials = [sh_trial(i, 0, 0, v) for i, v in enumerate(values)]
    assert sh.next_launch(History((MIN, MIN), trials), 3, RNG).parent == 1
    assert sh.next_launch(History((MAX, MIN), trials), 3, RNG).parent == 2


def test_sh_simulation_runs_full_iterations():
    history = simulate(SuccessiveHalving(9, max_resource=9), 26, lambda x, r: abs(x - 0.3) + 1 / r)
    shape = Counter((t.user_attrs["iteration"], t.budget) for t in history.trials)
    assert shape == {(0, 1): 9, (0, 3): 3, (0, 9): 1, (1, 1): 9, (1, 3): 3, (1, 9): 1}
    assert all(t.parent is None for t in history.trials if t.budget == 1)
    assert all(t.parent is not None for t in history.trials if t.budget != 1)


def test_sh_never_prunes_and_pickles():
    sh = SuccessiveHalving(9, max_resource=27)
    assert not report(sh, GOOD, [100.0]).prune
    clone = pickle.loads(pickle.dumps(sh))
    assert clone.plan == sh.plan
    assert clone.settings() == sh.settings()
    assert pickle.loads(pickle.dumps(ASHA(max_resource=9))).rungs == (1, 3, 9)


class TestASHAConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: ASHA(max_resource=9)


class TestASHAPromoteConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: ASHA(max_resource=9, promote=True)


class TestSuccessiveHalvingConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: SuccessiveHalving(9, max_resource=9)
