from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import hyperdial
from hyperdial import Categorical, Direction, Float, Int, SearchSpace, TrialState
from hyperdial.exceptions import InvalidValueError, StudyFinished
from hyperdial.history import History
from hyperdial.samplers import GridSampler
from hyperdial.space import from_unit
from hyperdial.storage.memory import MemoryStorage
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial


def grid_for(space: SearchSpace) -> dict[str, list]:
    """Return a grid covering ``space``: every choice, and spread values of each range.

    Four values per range in small spaces, two in large ones, to keep the grid (and the
    shuffled order, which costs O(n_grid)) small.
    """
    spread = (0.0, 0.35, 0.65, 1.0) if len(space) <= 4 else (0.2, 0.8)
    grid = {}
    for name, dist in space.items():
        if isinstance(dist, Categorical):
            grid[name] = list(dist.choices)
        else:
            grid[name] = list(dict.fromkeys(from_unit(dist, u) for u in spread))
    return grid


class TestGridConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: GridSampler({"x": [0.0, 0.5, 1.0]}, seed=seed, shuffle=True)

    @pytest.fixture
    def make_sampler_for(self):
        return lambda space, seed=None: GridSampler(grid_for(space), seed=seed, shuffle=True)


def _trial(number, state=TrialState.COMPLETE, fixed=None, meta=None):
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        fixed_params=fixed or {},
        sampler_meta=meta or {},
        values=(0.0,) if state is TrialState.COMPLETE else None,
    )


def _history(*trials):
    return History((Direction.MINIMIZE,), tuple(trials))


GRID = {"a": [1, 2], "b": ["x", "y", "z"]}
SPACE = SearchSpace({"a": Int(1, 2), "b": Categorical(["x", "y", "z"])})


@pytest.mark.parametrize(
    "search_space, fragment",
    [
        pytest.param([("a", [1])], "search_space must be a mapping", id="not-a-mapping"),
        pytest.param({}, "at least one parameter", id="empty"),
        pytest.param({"": [1]}, "non-empty strings", id="empty-name"),
        pytest.param({"a": []}, "values of 'a' must be non-empty", id="no-values"),
        pytest.param({"a": "abc"}, "must be a list or tuple; got str", id="str-values"),
        pytest.param({"a": [1, [2]]}, "str, int, float, bool or None; got [2]", id="list-value"),
        pytest.param({"a": [object]}, "of type type", id="not-json"),
        pytest.param({"a": [float("nan")]}, "must be finite", id="nan"),
        pytest.param({"a": [0.5, 0.5]}, "must be unique; got 0.5 twice", id="duplicate"),
        pytest.param({"a": [1, 1.0]}, "must be unique; got 1.0 twice", id="int-float-duplicate"),
    ],
)
def test_invalid_grids_fail_with_a_clear_message(search_space, fragment):
    with pytest.raises(InvalidValueError, match="GridSampler: .*" + re.escape(fragment)):
        GridSampler(search_space)


def test_invalid_options_fail_with_a_clear_message():
    with pytest.raises(InvalidValueError, match="GridSampler: shuffle must be a bool; got 1."):
        GridSampler(GRID, shuffle=1)
    with pytest.raises(InvalidValueError, match="GridSampler: seed must be an int >= 0"):
        GridSampler(GRID, seed=-2)


def test_true_and_one_are_distinct_values_and_numpy_inputs_become_python():
    sampler = GridSampler({"a": [1, True, "1", None], "b": np.linspace(0, 1, 3)})
    assert sampler.search_space == {"a": [1, True, "1", None], "b": [0.0, 0.5, 1.0]}
    assert type(GridSampler({"c": [np.int64(3)]}).search_space["c"][0]) is int


def test_points_follow_the_factorial_order():
    sampler = GridSampler(GRID)
    assert sampler.n_grid == 6
    expected = [dict(zip(GRID, combo)) for combo in itertools.product(*GRID.values())]
    assert [sampler.point(i) for i in range(6)] == expected
    with pytest.raises(InvalidValueError, match=r"index must lie in \[0, 5\]; got 6"):
        sampler.point(6)


def test_enqueued_trials_covering_the_grid_do_not_use_up_points():
    sampler = GridSampler(GRID)
    history = _history(
        _trial(0),
        _trial(1, fixed={"a": 2, "b": "z"}),  # covers the grid: skipped
        _trial(2, TrialState.FAILED),
        _trial(3, fixed={"a": 1}),  # partial: takes a point
        _trial(4, TrialState.RUNNING),
        _trial(5, TrialState.WAITING, fixed={"a": 1, "b": "x"}),  # later number: ignored
    )
    suggestion = sampler.sample(history, history.trials[4], SPACE, None)
    assert suggestion.meta == {"grid_index": 3}
    assert suggestion.reason == "grid point 3 of 6"
    assert suggestion.params == {"a": 2, "b": "x"}
    partial = sampler.sample(history, history.trials[3], SPACE, None)
    assert partial.params == {"b": "z"} and partial.meta == {"grid_index": 2}
    covered = sampler.sample(history, history.trials[1], SPACE, None)
    assert covered.params == {} and covered.meta == {}


def test_shuffle_permutes_positions_with_the_seed():
    history = _history(*(_trial(n) for n in range(6)))

    def order(sampler):
        return [sampler.sample(history, t, SPACE, None).meta["grid_index"] for t in history.trials]

    assert order(GridSampler(GRID, seed=5)) == list(range(6))  # no shuffle without shuffle=True
    assert order(GridSampler(GRID, seed=5, shuffle=True)) == list(
        np.random.default_rng(5).permutation(6)
    )
    assert order(GridSampler(GRID, shuffle=True)) == list(np.random.default_rng(0).permutation(6))
    assert order(GridSampler(GRID, seed=5, shuffle=True).reseed(6)) == list(
        np.random.default_rng(6).permutation(6)
    )


def test_an_exhausted_grid_raises_study_finished():
    sampler = GridSampler({"a": [1, 2]})
    history = _history(_trial(0), _trial(1), _trial(2, TrialState.RUNNING))
    with pytest.raises(StudyFinished, match="GridSampler: the grid of 2 points is exhausted."):
        sampler.sample(history, history.trials[2], SearchSpace({}), None)


@pytest.mark.parametrize(
    "trials, exhausted",
    [
        pytest.param([], False, id="empty"),
        pytest.param([_trial(0)], False, id="one-point-left"),
        pytest.param([_trial(0), _trial(1, TrialState.RUNNING)], True, id="all-handed-out"),
        pytest.param(
            [_trial(0), _trial(1, fixed={"a": 9}), _trial(2, TrialState.FAILED)],
            True,
            id="enqueued-do-not-count",
        ),
        pytest.param(
            [_trial(0), _trial(1), _trial(2, TrialState.WAITING, fixed={"a": 1})],
            False,
            id="an-enqueued-trial-waits",
        ),
    ],
)
def test_is_exhausted(trials, exhausted):
    assert GridSampler({"a": [1, 2]}).is_exhausted(_history(*trials)) is exhausted


def test_parameters_outside_the_grid_and_illegal_values_are_named():
    sampler = GridSampler({"a": [1, 5]})
    history = _history(_trial(0, TrialState.RUNNING), _trial(1, TrialState.RUNNING))
    with pytest.raises(
        InvalidValueError, match=r"must be in the grid; got 'z', not among \['a'\]"
    ):
        sampler.sample_one(history, history.trials[0], "z", Float(0, 1), None)
    with pytest.raises(InvalidValueError, match=r"grid values of 'a' must be legal .*; got 5."):
        sampler.sample_one(history, history.trials[1], "a", Int(0, 3), None)
    assert type(sampler.sample_one(history, history.trials[0], "a", Float(0, 3), None)) is float


def _points(study):
    return [
        tuple(sorted(t.params.items())) for t in study.trials if t.state is TrialState.COMPLETE
    ]


def _objective(trial):
    return trial.suggest_int("a", 1, 2) + len(trial.suggest_categorical("b", ["x", "y", "z"]))


@pytest.mark.parametrize("n_jobs", [1, 4])
def test_optimize_visits_each_point_once_and_stops(n_jobs):
    study = hyperdial.create_study(sampler=GridSampler(GRID, shuffle=True, seed=1))
    study.optimize(_objective, n_trials=100, n_jobs=n_jobs)
    points = _points(study)
    assert len(points) == len(set(points)) == 6 == len(study.trials)
    assert {t.reason for t in study.trials} == {f"grid point {i} of 6" for i in range(6)}


def test_enqueued_points_come_on_top_of_the_grid():
    study = hyperdial.create_study(sampler=GridSampler(GRID))
    study.enqueue({"a": 2, "b": "y"})
    study.optimize(_objective, n_trials=100)
    assert len(study.trials) == 7 and len(set(_points(study)[1:])) == 6
    study.enqueue({"a": 1, "b": "x"})  # after the grid is done, still run
    study.optimize(_objective, n_trials=100)
    assert len(study.trials) == 8 and study.trials[-1].state is TrialState.COMPLETE


def test_workers_without_shared_state_take_distinct_points():
    storage = MemoryStorage()
    one = hyperdial.create_study("g", storage=storage, sampler=GridSampler(GRID))
    two = hyperdial.load_study("g", storage=storage, sampler=GridSampler(GRID))
    trials = [study.ask() for study in (one, two, two, one, two, one)]  # interleaved
    for trial in reversed(trials):  # suggestions made out of order
        _objective(trial)
    points = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(points)) == 6
    with pytest.raises(StudyFinished):
        _objective(one.ask())


def test_grid_values_are_cast_to_the_distribution_the_objective_uses():
    study = hyperdial.create_study(sampler=GridSampler({"x": [1, 2]}))
    study.optimize(lambda t: t.suggest_float("x", 0, 3), n_trials=2)
    assert [type(t.params["x"]) for t in study.trials] == [float, float]


def test_an_illegal_grid_value_fails_the_trial_with_its_name():
    study = hyperdial.create_study(sampler=GridSampler({"x": [1, 9]}))
    with pytest.raises(InvalidValueError, match="grid values of 'x'"):
        study.optimize(lambda t: t.suggest_int("x", 0, 3), n_trials=2)


def test_one_sampler_shared_by_two_studies_keeps_their_positions_apart():
    sampler = GridSampler(GRID)
    first = hyperdial.create_study(sampler=sampler)
    first.enqueue({"a": 1, "b": "x"})
    first.optimize(_objective, n_trials=2)  # trial 1 takes point 0
    second = hyperdial.create_study(sampler=sampler)
    second.tell(second.ask(), state=TrialState.FAILED)  # trial 0 takes point 0 unseen
    trial = second.ask()
    _objective(trial)
    assert second.tell(trial, 0.0).sampler_meta == {"grid_index": 1}
