from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import qmc

import hyperdial
from hyperdial import Categorical, Direction, Float, Int, SearchSpace, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import QMCSampler, RandomSampler
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial


class TestSobolConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: QMCSampler(seed=seed)


class TestHaltonConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: QMCSampler(qmc_type="halton", seed=seed)


EMPTY = History((Direction.MINIMIZE,), ())
CUBE = SearchSpace({"x": Float(0, 1), "y": Float(0, 1), "z": Float(0, 1)})


def _running(number, **fixed):
    return FrozenTrial(number, number, TrialState.RUNNING, fixed_params=fixed)


def _points(sampler, n, space=CUBE):
    rows = [sampler.sample(EMPTY, _running(k), space, None).params for k in range(n)]
    return np.array([[row[name] for name in space] for row in rows])


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        pytest.param(
            {"qmc_type": "lhs"}, "qmc_type must be 'sobol' or 'halton'; got 'lhs'.", id="type"
        ),
        pytest.param({"scramble": 1}, "scramble must be a bool; got 1.", id="scramble"),
        pytest.param({"seed": -1}, "seed must be an int >= 0 or None; got -1.", id="seed"),
    ],
)
def test_invalid_options_fail_with_a_clear_message(kwargs, fragment):
    with pytest.raises(InvalidValueError, match="QMCSampler: " + fragment.replace(".", r"\.")):
        QMCSampler(**kwargs)


@pytest.mark.parametrize(
    "kind, reference",
    [
        pytest.param("sobol", lambda: qmc.Sobol(3, scramble=False).random_base2(6), id="sobol"),
        pytest.param("halton", lambda: qmc.Halton(3, scramble=False).random(64), id="halton"),
    ],
)
def test_unscrambled_points_are_the_sequence(kind, reference):
    points = _points(QMCSampler(qmc_type=kind, scramble=False), 64)
    np.testing.assert_array_equal(points, reference())


@pytest.mark.parametrize("kind", ["sobol", "halton"])
def test_points_are_more_even_than_random_ones(kind):
    n = 256
    quasi = qmc.discrepancy(_points(QMCSampler(qmc_type=kind, seed=0), n))
    random = qmc.discrepancy(_points(RandomSampler(seed=0), n))
    assert quasi < random / 5


def test_point_k_goes_to_trial_k_whatever_was_computed_before():
    trial = _running(40)
    fresh = QMCSampler(seed=3).sample(EMPTY, trial, CUBE, None)
    warm = QMCSampler(seed=3)
    for k in (5, 1000, 17):  # grows, then reads, the cached block
        warm.sample(EMPTY, _running(k), CUBE, None)
    assert warm.sample(EMPTY, trial, CUBE, None) == fresh
    assert fresh.reason == "sobol point 40" and fresh.meta == {}


def test_an_unseeded_sampler_uses_seed_zero():
    np.testing.assert_array_equal(_points(QMCSampler(), 8), _points(QMCSampler(seed=0), 8))
    assert not np.array_equal(_points(QMCSampler(seed=1), 8), _points(QMCSampler(seed=0), 8))


def test_inactive_and_fixed_dimensions_are_skipped():
    space = SearchSpace(
        {"kind": Categorical(["a", "b"]), "x": Float(0, 1), "y": Int(1, 9)},
        conditions={"x": "kind == a", "y": "kind == b"},
    )
    sampler = QMCSampler(seed=0)
    free = sampler.sample(EMPTY, _running(5), space, None).params
    fixed = sampler.sample(EMPTY, _running(5, kind="b"), space, None).params
    assert set(free) == {"kind", ("x" if free["kind"] == "a" else "y")}
    assert set(fixed) == {"y"} and type(fixed["y"]) is int


def test_parameters_outside_the_joint_space_follow_their_own_1d_sequences():
    sampler = QMCSampler(seed=0)
    n = 256
    xs = [sampler.sample_one(EMPTY, _running(k), "x", Float(0, 1), None) for k in range(n)]
    ys = [sampler.sample_one(EMPTY, _running(k), "y", Float(0, 1), None) for k in range(n)]
    assert xs != ys
    # each 1-D projection is stratified: one point in each of n equal cells
    assert sorted(int(x * n) for x in xs) == list(range(n))
    reason = sampler.sample(EMPTY, _running(0), SearchSpace({}), None).reason
    assert reason == "sobol point 0, one 1-D sequence per parameter"


def test_define_by_run_switches_to_the_joint_space_once_trials_complete():
    study = hyperdial.create_study(sampler=QMCSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 1, 4), n_trials=4)
    reasons = [t.reason for t in study.trials]
    assert "1-D sequence per parameter" in reasons[0]
    assert reasons[1:] == ["sobol point 1", "sobol point 2", "sobol point 3"]


def test_pickling_drops_the_cache_but_not_the_settings():
    sampler = QMCSampler(qmc_type="halton", scramble=False, seed=9)
    before = sampler.sample(EMPTY, _running(3), CUBE, None)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone._cache == {}
    assert repr(clone) == "QMCSampler(qmc_type='halton', scramble=False, seed=9)"
    assert clone.sample(EMPTY, _running(3), CUBE, None) == before
