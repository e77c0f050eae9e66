from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import hyperdial
from hyperdial import Categorical, Direction, Float, Int, SearchSpace, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import RandomSampler
from hyperdial.samplers._math import cma
from hyperdial.samplers.cmaes import CmaEsSampler
from hyperdial.space import from_unit, to_unit
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial


class TestCmaEsConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: CmaEsSampler(seed=seed, popsize=4)


class TestBipopCmaEsConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: CmaEsSampler(seed=seed, restart_strategy="bipop")


MIN = (Direction.MINIMIZE,)
PLANE = SearchSpace({"x": Float(-5.0, 5.0), "y": Float(0.0, 1.0)})


def _drive(sampler, space, f, n_trials, directions=MIN, state_of=None, rng_seed=0):
    """Ask and tell ``n_trials`` one after the other, building the history from literals."""
    trials = []
    for number in range(n_trials):
        current = FrozenTrial(number, number, TrialState.RUNNING)
        history = History(directions, (*trials, current))
        rng = np.random.default_rng([rng_seed, number])
        suggestion = sampler.sample(history, current, space, rng)
        params = dict(suggestion.params)
        state = TrialState.COMPLETE if state_of is None else state_of(number)
        values = (f(params),) if state is TrialState.COMPLETE else None
        trials.append(
            FrozenTrial(
                number,
                number,
                state,
                params,
                dict(space),
                values=values,
                reason=suggestion.reason,
                sampler_meta=dict(suggestion.meta),
            )
        )
    return trials


def _plane(params):
    return (params["x"] - 1.0) ** 2 + 10 * (params["y"] - 0.2) ** 2


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param({"sigma0": 0}, "sigma0 must be a float in (0, 1]; got 0.", id="sigma0-zero"),
        pytest.param({"sigma0": 1.5}, "sigma0 must be a float in (0, 1]", id="sigma0-big"),
        pytest.param({"sigma0": True}, "sigma0 must be a float in (0, 1]", id="sigma0-bool"),
        pytest.param({"popsize": 1}, "popsize must be an int >= 2 or None; got 1.", id="pop"),
        pytest.param({"restart_strategy": "IPOP"}, "restart_strategy must be None", id="rs"),
        pytest.param({"with_margin": 1}, "with_margin must be a bool; got 1.", id="margin"),
        pytest.param({"seed": -1}, "seed must be an int >= 0 or None; got -1.", id="seed"),
    ],
)
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(InvalidValueError) as info:
        CmaEsSampler(**kwargs)
    assert str(info.value).startswith(f"CmaEsSampler: {message}")


def test_independent_sampler_must_be_a_sampler():
    with pytest.raises(TypeError, match="independent_sampler must be a Sampler or None; got str"):
        CmaEsSampler(independent_sampler="random")


def test_repr_and_reseed_keep_the_options():
    sampler = CmaEsSampler(sigma0=0.25, popsize=6, restart_strategy="ipop", seed=1)
    other = sampler.reseed(2)
    assert repr(other) == ("CmaEsSampler(sigma0=0.25, popsize=6, restart_strategy='ipop', seed=2)")
    assert other.independent_sampler.seed == 2 and sampler.independent_sampler.seed == 1
    custom = CmaEsSampler(independent_sampler=RandomSampler(seed=5), seed=1).reseed(3)
    assert custom.independent_sampler.seed == 3


def test_multi_objective_studies_are_refused():
    with pytest.raises(InvalidValueError, match="CmaEsSampler handles one objective"):
        hyperdial.create_study(sampler=CmaEsSampler(), directions=["minimize", "minimize"])


# ---------------------------------------------------------------- generations and meta
def test_candidates_carry_generation_index_and_reason():
    trials = _drive(CmaEsSampler(seed=0, popsize=4), PLANE, _plane, 9)
    tags = [(t.sampler_meta["generation"], t.sampler_meta["index"]) for t in trials]
    assert tags == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0)]
    assert trials[5].reason.startswith("CMA-ES generation 2, candidate 2 of 4; sigma ")
    meta = trials[5].sampler_meta
    json.dumps(meta)
    assert meta["popsize"] == 4 and meta["restart"] == 0 and len(meta["x"]) == 2
    assert trials[5].params["x"] == from_unit(PLANE["x"], meta["x"][0])


def test_the_mean_starts_at_the_defaults_or_the_centre():
    space = SearchSpace({"lr": Float(1e-4, 1.0, log=True, default=1e-3), "u": Int(0, 9)})
    sampler = CmaEsSampler(seed=0, sigma0=1e-3)
    trials = _drive(sampler, space, lambda p: 0.0, 3)
    for t in trials:
        assert t.sampler_meta["x"] == pytest.approx([to_unit(space["lr"], 1e-3), 0.5], abs=0.02)
        assert t.params["u"] in (4, 5)


def test_parallel_asks_get_distinct_candidates_of_the_same_generation():
    sampler = CmaEsSampler(seed=0, popsize=3)
    pending = []
    for number in range(5):  # none finishes: the generation stays open
        current = FrozenTrial(number, number, TrialState.RUNNING)
        history = History(MIN, (*pending, current))
        suggestion = sampler.sample(history, current, PLANE, np.random.default_rng(number))
        pending.append(
            FrozenTrial(
                number,
                number,
                TrialState.RUNNING,
                dict(suggestion.params),
                dict(PLANE),
                sampler_meta=dict(suggestion.meta),
            )
        )
    metas = [t.sampler_meta for t in pending]
    assert [(m["generation"], m["index"]) for m in metas] == [(0, k) for k in range(5)]
    assert len({tuple(m["x"]) for m in metas}) == 5
    assert "candidate 5 of 3" in suggestion.reason
    # Two workers that ask at the same moment (same history, same index) still differ.
    twin = FrozenTrial(5, 5, TrialState.RUNNING)
    history = History(MIN, (*pending, twin))
    other = FrozenTrial(6, 6, TrialState.RUNNING)
    a = sampler.sample(history, twin, PLANE, np.random.default_rng(5)).meta
    b = sampler.sample(History(MIN, (*pending, other)), other, PLANE, None).meta
    assert a["index"] == b["index"] and a["x"] != b["x"]


def test_failed_and_pruned_trials_rank_last_and_complete_the_generation():
    def state_of(number):
        return [TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED][number % 3]

    trials = _drive(CmaEsSampler(seed=0, popsize=3), PLANE, _plane, 12, state_of=state_of)
    assert [t.sampler_meta["generation"] for t in trials] == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    nan = _drive(CmaEsSampler(seed=0, popsize=3), PLANE, lambda p: math.nan, 7)
    assert nan[-1].sampler_meta["generation"] == 2


def test_maximize_moves_towards_the_maximum():
    space = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    directions = (Direction.MAXIMIZE,)
    trials = _drive(CmaEsSampler(seed=0), space, lambda p: p["x"] + p["y"], 120, directions)
    last = trials[-6:]
    assert all(t.params["x"] > 0.8 and t.params["y"] > 0.8 for t in last)


# ---------------------------------------------------------------- replay
def _replayed(sampler, trials, space, directions=MIN):
    current = FrozenTrial(len(trials), len(trials), TrialState.RUNNING)
    history = History(directions, (*trials, current))
    dims = type(sampler)._replay.__globals__["_Dims"].of(space)
    stream = trials[0].sampler_meta["stream"]
    return sampler._replay(history, dims, stream)


def test_replay_gives_the_state_of_a_straight_run():
    sampler = CmaEsSampler(seed=3, popsize=5)
    trials = _drive(sampler, PLANE, _plane, 52)
    cached = _replayed(sampler, trials, PLANE)
    fresh = _replayed(CmaEsSampler(seed=3, popsize=5), trials, PLANE)
    # The straight run: the update equations applied generation by generation.
    params = cma.strategy_params(2, 5)
    state = cma.initial_state(np.full(2, 0.5), 1 / 6)
    for g in range(10):
        gen = [t for t in trials if t.sampler_meta["generation"] == g]
        xs = np.array([t.sampler_meta["x"] for t in gen])
        state = cma.update(state, params, xs, np.array([_plane(t.params) for t in gen]))
    for run in (cached, fresh):
        assert run.state.generation == 10
        assert np.array_equal(run.state.mean, state.mean)
        assert np.array_equal(run.state.cov, state.cov)
        assert np.array_equal(run.state.p_sigma, state.p_sigma)
        assert run.state.sigma == state.sigma
    # And the next suggestion does not depend on what a sampler has cached.
    current = FrozenTrial(52, 52, TrialState.RUNNING)
    history = History(MIN, (*trials, current))
    used = pickle.loads(pickle.dumps(sampler)).sample(history, current, PLANE, None)
    again = sampler.sample(history, current, PLANE, None)
    assert used == again


def test_enqueued_values_replace_the_candidate_in_the_update():
    sampler = CmaEsSampler(seed=0, popsize=3)
    current = FrozenTrial(0, 0, TrialState.RUNNING, fixed_params={"x": 4.0})
    suggestion = sampler.sample(History(MIN, (current,)), current, PLANE, None)
    assert "x" not in suggestion.params
    assert suggestion.meta["x"][0] == to_unit(PLANE["x"], 4.0)


def test_a_new_joint_space_starts_a_new_run():
    sampler = CmaEsSampler(seed=0, popsize=3)
    trials = _drive(sampler, PLANE, _plane, 7)
    wider = SearchSpace({**PLANE, "z": Float(0.0, 1.0)})
    current = FrozenTrial(7, 7, TrialState.RUNNING)
    meta = sampler.sample(History(MIN, (*trials, current)), current, wider, None).meta
    assert meta["generation"] == 0 and meta["index"] == 0 and len(meta["x"]) == 3


def test_unseeded_samplers_share_the_stream_of_the_first_trial():
    trials = _drive(CmaEsSampler(popsize=3), PLANE, _plane, 4, rng_seed=11)
    assert len({t.sampler_meta["stream"] for t in trials}) == 1
    again = _drive(CmaEsSampler(popsize=3), PLANE, _plane, 4, rng_seed=11)
    assert [t.params for t in again] == [t.params for t in trials]


# ---------------------------------------------------------------- restarts
def test_ipop_restarts_with_a_doubled_population_when_values_stall():
    sampler = CmaEsSampler(seed=0, popsize=4, restart_strategy="ipop")
    space = SearchSpace({"x": Float(0.0, 1.0)})
    window = 10 + math.ceil(30 / 4)
    n = 4 * (window + 1)
    trials = _drive(sampler, space, lambda p: 1.0, n + 2)
    assert {t.sampler_meta["restart"] for t in trials[:n]} == {0}
    first = trials[n]
    assert first.sampler_meta["restart"] == 1 and first.sampler_meta["popsize"] == 8
    assert "(restart 1, IPOP popsize 8)" in first.reason
    assert "the previous run stopped on tolfun" in first.reason


def test_a_collapsed_step_size_restarts_the_run():
    sampler = CmaEsSampler(seed=0, popsize=4, sigma0=1e-7, restart_strategy="ipop")
    space = SearchSpace({"x": Float(0.0, 1.0)})
    trials = _drive(sampler, space, lambda p: p["x"], 5)
    assert trials[4].sampler_meta["restart"] == 1
    assert "stopped on tolx" in trials[4].reason


def test_bipop_alternates_large_and_small_populations():
    sampler = CmaEsSampler(seed=0, popsize=4, sigma0=1e-7, restart_strategy="bipop")
    space = SearchSpace({"x": Float(0.0, 1.0)})
    trials = _drive(sampler, space, lambda p: p["x"], 40)
    runs = {}
    for t in trials:
        runs.setdefault(t.sampler_meta["restart"], (t.sampler_meta["regime"], t.reason))
    regimes = [regime for regime, _ in runs.values()]
    assert regimes[:3] == ["initial", "large", "small"]
    assert "BIPOP large popsize 8" in runs[1][1]
    small = [t.sampler_meta for t in trials if t.sampler_meta["restart"] == 2][0]
    assert 2 <= small["popsize"] <= 4 and small["sigma"] <= 1e-7


def test_without_a_strategy_the_run_never_restarts():
    sampler = CmaEsSampler(seed=0, popsize=4, sigma0=1e-7)
    trials = _drive(sampler, SearchSpace({"x": Float(0.0, 1.0)}), lambda p: p["x"], 20)
    assert {t.sampler_meta["restart"] for t in trials} == {0}


# ---------------------------------------------------------------- integers and others
GRID = SearchSpace(
    {
        "units": Int(0, 3),
        "batch": Int(1, 1000, log=True),
        "frac": Float(0.0, 1.0, step=0.25),
        "width": Int(8, 64, step=8),
        "x": Float(0.0, 1.0),
    }
)


def _grid_objective(p):
    return (p["units"] - 2) ** 2 + (math.log(p["batch"]) - 3) ** 2 + p["frac"] + p["x"] ** 2


@pytest.mark.parametrize("with_margin", [True, False], ids=["margin", "no-margin"])
def test_integers_never_leave_the_grid(with_margin):
    sampler = CmaEsSampler(seed=0, with_margin=with_margin, restart_strategy="ipop")
    trials = _drive(sampler, GRID, _grid_objective, 150)
    for t in trials:
        for name, dist in GRID.items():
            value = t.params[name]
            assert type(value) is (int if isinstance(dist, Int) else float)
            assert dist.contains(value), (name, value)


def test_the_margin_keeps_integers_moving():
    space = SearchSpace({"units": Int(0, 3), "x": Float(0.0, 1.0)})
    sampler = CmaEsSampler(seed=0, popsize=6)
    trials = _drive(sampler, space, lambda p: (p["units"] - 1) ** 2 + (p["x"] - 0.5) ** 2, 300)
    late = [t.params["units"] for t in trials[-60:]]
    assert late.count(1) > 30 and len(set(late)) > 1
    assert trials[-1].sampler_meta["sigma"] < 0.01  # x has converged meanwhile


def test_categorical_and_conditional_parameters_are_independent():
    space = SearchSpace(
        {"kind": Categorical(["a", "b"]), "x": Float(0.0, 1.0), "y": Float(0.0, 1.0)},
        conditions={"y": "kind == b"},
    )
    trials = _drive(CmaEsSampler(seed=0), space, lambda p: p["x"], 8)
    assert all(len(t.sampler_meta["x"]) == 1 for t in trials)
    with_y = [t for t in trials if t.params["kind"] == "b"]
    assert with_y and all("y" in t.params for t in with_y)
    for t in trials:
        names = "kind, y" if t.params["kind"] == "b" else "kind"
        assert t.reason.endswith(f"; independent draws (RandomSampler): {names}")


def test_only_categorical_parameters_are_all_independent():
    space = SearchSpace({"kind": Categorical(["a", "b"])})
    trials = _drive(CmaEsSampler(seed=0), space, lambda p: 0.0, 2)
    assert trials[1].reason == "independent draws (RandomSampler): kind"
    assert trials[1].sampler_meta == {}


# ---------------------------------------------------------------- behaviour
def _ellipsoid(trial):
    xs = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(6)]
    return sum(10 ** (3 * i / 5) * (x - 1.0) ** 2 for i, x in enumerate(xs))


def _mean_best(make):
    best = []
    for seed in range(3):
        study = hyperdial.create_study(sampler=make(seed))
        study.optimize(_ellipsoid, n_trials=120)
        best.append(study.best_value)
    return float(np.mean(best))


def test_beats_random_search_on_a_six_dimensional_ellipsoid():
    cma_best = _mean_best(lambda seed: CmaEsSampler(seed=seed))
    random_best = _mean_best(lambda seed: RandomSampler(seed=seed))
    assert cma_best < random_best / 3, (cma_best, random_best)
