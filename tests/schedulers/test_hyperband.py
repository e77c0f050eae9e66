from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

from hyperdial import Direction, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers import Bracket, Hyperband, brackets
from hyperdial.testing import SchedulerConformance
from hyperdial.trial import FrozenTrial

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE
RNG = np.random.default_rng(0)

# Li et al. (2018), Table 1: R = 81, eta = 3; (n_i, r_i) per rung of each bracket.
TABLE_1 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(34, 3), (11, 9), (3, 27), (1, 81)],
    2: [(15, 9), (5, 27), (1, 81)],
    1: [(8, 27), (2, 81)],
    0: [(5, 81)],
}


def test_brackets_match_table_1_of_the_paper():
    table = brackets(1, 81, 3)
    assert [b.s for b in table] == [4, 3, 2, 1, 0]
    for b in table:
        assert list(b.rungs) == TABLE_1[b.s], b.s
        assert b.n_configs == TABLE_1[b.s][0][0]
        assert b.min_resource == TABLE_1[b.s][0][1]
        assert all(isinstance(r, int) for _, r in b.rungs)


def test_brackets_scale_with_the_minimum_resource():
    table = brackets(2, 162, 3)
    for b in table:
        assert list(b.rungs) == [(n, 2 * r) for n, r in TABLE_1[b.s]]


def test_brackets_end_at_the_maximum_when_it_is_off_the_grid():
    table = brackets(1, 100, 3)
    assert [b.s for b in table] == [4, 3, 2, 1, 0]  # floor(log3(100)) = 4
    assert all(b.rungs[-1][1] == 100 for b in table)
    assert table[0].min_resource == pytest.approx(100 / 81)
    assert table[0].min_resource >= 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param((1, 1, 3), [Bracket(0, 1, ((1, 1),))], id="one-bracket"),
        pytest.param((1, 8, 2), None, id="eta-2"),
        pytest.param((1, 26, 3), None, id="just-below-a-power"),
    ],
)
def test_bracket_edge_cases(args, expected):
    table = brackets(*args)
    if expected is not None:
        assert table == expected
    r_min, r_max, eta = args
    s_max = table[0].s
    assert r_min * eta**s_max <= r_max < r_min * eta ** (s_max + 1)
    for b in table:
        n, r = b.rungs[0]
        assert n == -(-(s_max + 1) * eta**b.s // (b.s + 1))
        assert [n_i for n_i, _ in b.rungs] == [n // eta**i for i in range(b.s + 1)]
        assert [r_i for _, r_i in b.rungs] == pytest.approx([r * eta**i for i in range(b.s + 1)])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: brackets(0, 81, 3), "brackets: min_resource must be a finite number > 0; got 0"),
        (lambda: brackets(9, 3, 3), "brackets: max_resource must be >= min_resource"),
        (lambda: brackets(1, 81, 1), "brackets: reduction_factor must be an int >= 2; got 1"),
        (lambda: Hyperband(max_resource=0.5), "Hyperband: max_resource must be >= min_resource"),
        (lambda: Hyperband(reduction_factor=True), "reduction_factor must be an int >= 2"),
        (lambda: Hyperband(promote=1), "Hyperband: promote must be a bool; got 1"),
    ],
)
def test_invalid_arguments_name_the_value(make, message):
    with pytest.raises(InvalidValueError, match=message):
        make()


# ------------------------------------------------------------------------------ prune mode


def test_brackets_fill_in_proportion_to_their_size():
    hb = Hyperband(max_resource=81)
    cycle = [hb.bracket_of(n) for n in range(143)]  # 81 + 34 + 15 + 8 + 5
    assert Counter(cycle) == {4: 81, 3: 34, 2: 15, 1: 8, 0: 5}
    assert [hb.bracket_of(n) for n in range(143, 286)] == cycle
    # Interleaved: every bracket has trials among the first 20, none runs away.
    assert set(cycle[:20]) == {0, 1, 2, 3, 4}
    for s, share in [(4, 81 / 143), (3, 34 / 143)]:
        assert abs(cycle[:50].count(s) - 50 * share) <= 1.5


def test_prune_mode_launches_to_the_maximum_with_the_bracket():
    hb = Hyperband(max_resource=81)
    for number in (0, 1, 7, 200):
        launch = hb.next_launch(History((MIN,), ()), number, RNG)
        assert launch.parent is None
        assert launch.budget == 81
        assert dict(launch.user_attrs) == {"bracket": hb.bracket_of(number)}
        assert f"bracket {hb.bracket_of(number)}" in launch.reason


def make_trial(number, bracket, curve, state=TrialState.COMPLETE):
    curve = curve if isinstance(curve, dict) else {i + 1: v for i, v in enumerate(curve)}
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        intermediate=curve,
        values=(curve[max(curve)],) if state is TrialState.COMPLETE else None,
        budget=81,
        user_attrs={"bracket": bracket},
    )


def report(hb, peers, bracket, curve, directions=(MIN,)):
    trial = make_trial(len(peers), bracket, curve, TrialState.RUNNING)
    step = max(trial.intermediate)
    return hb.on_report(
        History(directions, (*peers, trial)), trial, step, trial.intermediate[step]
    )


def test_prune_mode_judges_a_trial_among_its_own_bracket():
    hb = Hyperband(max_resource=81)
    # Bracket 4 (rungs at 1, 3, 9, 27): two good peers; bracket 3 (rungs at 3, 9, 27): three
    # excellent ones, which do not count for bracket 4.
    peers = [make_trial(i, 4, [0.5] * 9) for i in range(2)]
    peers += [make_trial(2 + i, 3, [0.01] * 9) for i in range(3)]
    decision = report(hb, peers, 4, [0.9])
    assert decision.prune
    assert decision.reason == (
        "pruned at step 1 (bracket 4, rung 0, resource 1): rank 3 of 3, top 1 continue"
    )
    assert not report(hb, peers, 4, [0.1]).prune
    # In bracket 3 nothing is judged before resource 3; there it is the worst of four.
    decision = report(hb, peers, 3, [0.9])
    assert not decision.prune
    assert decision.reason == "step 1 crosses no rung"
    decision = report(hb, peers, 3, [0.9, 0.9, 0.9])
    assert decision.prune
    assert "(bracket 3, rung 0, resource 3): rank 4 of 4" in decision.reason
    # Bracket 2 has no peers at all: too few to compare.
    assert not report(hb, peers, 2, [0.9] * 9).prune


def test_prune_mode_maximize():
    hb = Hyperband(max_resource=81)
    peers = [make_trial(i, 4, [0.5] * 3) for i in range(2)]
    assert report(hb, peers, 4, [0.1], directions=(MAX,)).prune
    assert not report(hb, peers, 4, [0.9], directions=(MAX,)).prune


def test_bracket_zero_never_prunes():
    hb = Hyperband(max_resource=81)
    peers = [make_trial(i, 0, [0.01] * 81) for i in range(5)]
    for step in (1, 27, 80, 81):
        assert not report(hb, peers, 0, [9.0] * step).prune


def test_the_bracket_falls_back_to_the_trial_number():
    hb = Hyperband(max_resource=81)
    numbers = [n for n in range(20) if hb.bracket_of(n) == 4][:4]
    trials = [
        FrozenTrial(
            trial_id=n,
            number=n,
            state=TrialState.RUNNING if n == numbers[-1] else TrialState.COMPLETE,
            intermediate={1: 0.9 if n == numbers[-1] else 0.1},
            values=None if n == numbers[-1] else (0.1,),
        )
        for n in numbers
    ]
    trial = trials[-1]
    decision = hb.on_report(History((MIN,), tuple(trials)), trial, 1, 0.9)
    assert decision.prune
    assert "bracket 4" in decision.reason


# ---------------------------------------------------------------------------- promote mode


def simulate(scheduler, n_trials, loss):
    """Run trials serially, each finished before the next starts; return the history."""
    trials = []
    for number in range(n_trials):
        launch = scheduler.next_launch(History((MIN,), tuple(trials)), number, RNG)
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
            )
        )
    return History((MIN,), tuple(trials))


def test_promote_mode_runs_the_brackets_in_turn():
    hb = Hyperband(max_resource=9, promote=True)  # s = 2: 9@1 3@3 1@9; s = 1: 5@3 1@9; 3@9
    history = simulate(hb, 22 + 4, lambda x, r: abs(x - 0.3) + 1 / r)
    shape = Counter(
        (t.user_attrs["iteration"], t.user_attrs["bracket"], t.user_attrs["rung"], t.budget)
        for t in history.trials
    )
    assert shape == {
        (0, 2, 0, 1): 9,
        (0, 2, 1, 3): 3,
        (0, 2, 2, 9): 1,
        (1, 1, 0, 3): 5,
        (1, 1, 1, 9): 1,
        (2, 0, 0, 9): 3,
        (3, 2, 0, 1): 4,  # the outer loop starts again
    }
    for t in history.trials:
        if t.user_attrs["rung"] > 0:
            parent = history.by_number(t.parent)
            assert parent.user_attrs["iteration"] == t.user_attrs["iteration"]
            assert parent.user_attrs["rung"] == t.user_attrs["rung"] - 1
        else:
            assert t.parent is None


def test_promote_mode_starts_the_next_bracket_while_a_rung_runs():
    hb = Hyperband(max_resource=9, promote=True)
    rung0 = [
        FrozenTrial(
            trial_id=i,
            number=i,
            state=TrialState.RUNNING if i == 0 else TrialState.COMPLETE,
            values=None if i == 0 else (0.1 * i,),
            budget=1,
            user_attrs={"bracket": 2, "iteration": 0, "rung": 0},
        )
        for i in range(9)
    ]
    launch = hb.next_launch(History((MIN,), tuple(rung0)), 9, RNG)
    assert launch.parent is None
    assert launch.budget == 3
    assert dict(launch.user_attrs) == {"bracket": 1, "iteration": 1, "rung": 0}
    assert launch.reason.startswith("bracket 1, iteration 1 starts")


def test_promote_mode_never_prunes_and_pickles():
    hb = Hyperband(max_resource=27, promote=True)
    trial = make_trial(0, 3, [100.0] * 9, TrialState.RUNNING)
    assert not hb.on_report(History((MIN,), (trial,)), trial, 9, 100.0).prune
    clone = pickle.loads(pickle.dumps(Hyperband(max_resource=27)))
    assert clone.brackets == Hyperband(max_resource=27).brackets
    assert clone.settings()["max_resource"] == 27


class TestHyperbandConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: Hyperband(max_resource=9)


class TestHyperbandPromoteConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: Hyperband(max_resource=9, promote=True)
