from __future__ import annotations

import math

import numpy as np
import pytest

from hyperdial import Categorical, Direction, Float, Int, SearchSpace, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import RandomSampler
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial


class TestRandomConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: RandomSampler(seed=seed)


class _SingleObjectiveSampler(RandomSampler):
    supports_multi_objective = False


class TestConformanceHooks(SamplerConformance):
    """The suite's own hooks: a single-objective sampler, and a check declared skipped."""

    skip_checks = {
        "test_same_seed_same_sequence_in_a_fresh_process": "the class lives in a test module"
    }

    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: _SingleObjectiveSampler(seed=seed)


def _running(number, **fixed):
    return FrozenTrial(
        trial_id=number, number=number, state=TrialState.RUNNING, fixed_params=fixed
    )


EMPTY = History((Direction.MINIMIZE,), ())


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True], ids=["negative", "float", "str", "bool"])
def test_seed_must_be_a_non_negative_int(seed):
    with pytest.raises(InvalidValueError, match=r"RandomSampler: seed must be an int >= 0"):
        RandomSampler(seed=seed)


def test_infer_space_is_empty_without_reading_the_history():
    class Unread(tuple):
        def __iter__(self):
            raise AssertionError("the history's trials were read")

        def __getitem__(self, i):
            raise AssertionError("the history's trials were read")

    dist = {"x": Float(0, 1)}
    trials = Unread(
        FrozenTrial(i, i, TrialState.COMPLETE, {"x": 0.5}, dist, values=(1.0,))
        for i in range(1_000)
    )
    history = History((Direction.MINIMIZE,), trials)
    assert len(RandomSampler().infer_space(history)) == 0


def test_a_seeded_value_depends_on_seed_number_and_name_only():
    def draw(seed, number, name):
        rng = np.random.default_rng()  # ignored when the sampler has a seed
        return RandomSampler(seed=seed).sample_one(EMPTY, _running(number), name, Float(0, 1), rng)

    assert draw(7, 3, "x") == draw(7, 3, "x")
    assert len({draw(7, 3, "x"), draw(7, 3, "y"), draw(7, 4, "x"), draw(8, 3, "x")}) == 4


def test_unseeded_draws_come_from_the_study_generator():
    sampler = RandomSampler()
    a = sampler.sample_one(EMPTY, _running(0), "x", Float(0, 1), np.random.default_rng([1, 0]))
    b = sampler.sample_one(EMPTY, _running(0), "x", Float(0, 1), np.random.default_rng([1, 0]))
    assert a == b == np.random.default_rng([1, 0]).random()


def test_sample_draws_active_unfixed_parameters_only():
    space = SearchSpace(
        {"kind": Categorical(["a", "b"]), "x": Float(0, 1), "y": Int(1, 3)},
        conditions={"x": "kind == a", "y": "kind == b"},
    )
    suggestion = RandomSampler(seed=0).sample(EMPTY, _running(0, kind="b"), space, None)
    assert set(suggestion.params) == {"y"} and suggestion.reason == "random"
    assert type(suggestion.params["y"]) is int


@pytest.mark.parametrize(
    "dist, share_below, cut",
    [
        pytest.param(Float(1e-4, 1.0, log=True), 0.5, 1e-2, id="log-uniform"),
        pytest.param(Float(0.0, 10.0), 0.25, 2.5, id="uniform"),
        pytest.param(Int(1, 4), 0.5, 2.5, id="int"),
    ],
)
def test_draws_are_uniform_on_their_scale(dist, share_below, cut):
    sampler = RandomSampler(seed=0)
    values = [sampler.sample_one(EMPTY, _running(n), "p", dist, None) for n in range(4000)]
    share = sum(v < cut for v in values) / len(values)
    assert math.isclose(share, share_below, abs_tol=0.03)


def test_repr_names_the_seed():
    assert repr(RandomSampler(seed=3)) == "RandomSampler(seed=3)"
