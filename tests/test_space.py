from __future__ import annotations

import math

import pytest

from hyperdial import Categorical, Condition, Float, Int, Monotonic, SearchSpace
from hyperdial.exceptions import InvalidDistributionError, InvalidValueError
from hyperdial.space import distribution_from_json, from_unit, to_unit


@pytest.mark.parametrize(
    "make, fragment",
    [
        pytest.param(lambda: Float(1.0, 0.0), "low must be <= high", id="float-low-high"),
        pytest.param(lambda: Float(0.0, 1.0, log=True), "low must be > 0", id="float-log-zero"),
        pytest.param(lambda: Float(0.0, 1.0, step=0.3), "step must divide", id="float-step"),
        pytest.param(lambda: Float(0.0, 1.0, step=-1), "step must be > 0", id="float-neg-step"),
        pytest.param(lambda: Float(0, math.inf), "finite number", id="float-inf"),
        pytest.param(lambda: Float(-1e308, 1e308), "difference overflows", id="float-span"),
        pytest.param(lambda: Float(0, 1, default=2), "default must lie", id="float-default"),
        pytest.param(
            lambda: Float(1e-3, 1, log=True, step=0.1), "cannot be combined", id="log-step"
        ),
        pytest.param(lambda: Int(5, 1), "low must be <= high", id="int-low-high"),
        pytest.param(lambda: Int(0, 8, log=True), "low must be >= 1", id="int-log-zero"),
        pytest.param(lambda: Int(0, 10, step=3), "step must divide", id="int-step"),
        pytest.param(lambda: Int(0.5, 3), "must be an int", id="int-float-bound"),
        pytest.param(lambda: Categorical([]), "must not be empty", id="cat-empty"),
        pytest.param(lambda: Categorical(["a", "a"]), "unique", id="cat-dup"),
        pytest.param(lambda: Categorical([object()]), "can be stored", id="cat-unstorable"),
        pytest.param(lambda: Categorical("abc"), "list or tuple", id="cat-string"),
        pytest.param(
            lambda: Categorical(["a"], default="b"), "default must be one of", id="cat-def"
        ),
    ],
)
def test_invalid_distributions_fail_at_once_with_a_clear_message(make, fragment):
    with pytest.raises(InvalidDistributionError, match=fragment):
        make()


def test_categorical_keeps_types_apart():
    dist = Categorical([1, True, "1", None, 1.5])
    assert [dist.index(v) for v in (1, True, "1", None, 1.5)] == [0, 1, 2, 3, 4]
    assert dist.cast(True) is True
    assert not dist.contains(2)


@pytest.mark.parametrize(
    "dist",
    [
        pytest.param(Float(-3.0, 5.0), id="float"),
        pytest.param(Float(1e-5, 10.0, log=True), id="float-log"),
        pytest.param(Float(0.0, 1.0, step=0.25), id="float-step"),
        pytest.param(Int(-4, 9), id="int"),
        pytest.param(Int(1, 1024, log=True), id="int-log"),
        pytest.param(Int(32, 256, step=32), id="int-step"),
        pytest.param(Categorical(["a", 2, None, False]), id="categorical"),
    ],
)
def test_unit_maps_round_trip_and_stay_legal(dist):
    for i in range(101):
        value = from_unit(dist, i / 100)
        assert dist.contains(value)
        assert 0.0 <= to_unit(dist, value) <= 1.0
        assert from_unit(dist, to_unit(dist, value)) == pytest.approx(value)
        assert type(value) in (float, int, str, bool, type(None))


def test_integer_unit_map_gives_each_value_an_equal_cell():
    dist = Int(1, 4)
    counts = {v: 0 for v in range(1, 5)}
    for i in range(400):
        counts[from_unit(dist, (i + 0.5) / 400)] += 1
    assert set(counts.values()) == {100}


def test_log_scale_maps_decades_evenly():
    dist = Float(1e-4, 1e-1, log=True)
    assert to_unit(dist, 1e-3) == pytest.approx(1 / 3)
    assert from_unit(dist, 2 / 3) == pytest.approx(1e-2)


def test_distribution_json_round_trip():
    for dist in (Float(0.1, 1, log=True, default=0.5), Int(2, 8, step=2), Categorical([1, "a"])):
        assert distribution_from_json(dist.to_json()) == dist
    with pytest.raises(InvalidDistributionError, match="type must be"):
        distribution_from_json({"type": "gaussian"})


def test_cast_rejects_values_outside_the_distribution():
    with pytest.raises(InvalidValueError, match="got 2"):
        Float(0, 1).cast(2)
    assert Int(0, 4).cast(3.0) == 3
    assert Float(0, 1, step=0.1).cast(0.30000000000000004) == pytest.approx(0.3)


@pytest.mark.parametrize(
    "text, values, expected",
    [
        pytest.param("n_layers >= 3", {"n_layers": 3}, True, id="ge-true"),
        pytest.param("n_layers >= 3", {"n_layers": 2}, False, id="ge-false"),
        pytest.param("kernel == rbf", {"kernel": "rbf"}, True, id="eq-str"),
        pytest.param("kernel != rbf", {"kernel": "rbf"}, False, id="ne"),
        pytest.param("kernel in [rbf, poly]", {"kernel": "poly"}, True, id="in"),
        pytest.param("kernel not in [rbf]", {"kernel": "linear"}, True, id="not-in"),
        pytest.param("kernel == rbf", {}, False, id="absent"),
        pytest.param("x < 1", {"x": "a"}, False, id="type-mismatch"),
    ],
)
def test_conditions(text, values, expected):
    assert Condition.parse(text).holds(values) is expected


def test_condition_parse_errors():
    with pytest.raises(InvalidDistributionError, match="name op value"):
        Condition.parse("nonsense")


def test_search_space_from_dict_with_conditions_and_validation():
    space = SearchSpace.from_dict(
        {
            "kernel": ["rbf", "linear"],
            "gamma": {
                "type": "float",
                "low": 1e-3,
                "high": 1,
                "log": True,
                "when": "kernel == rbf",
            },
            "C": {"type": "float", "low": 0.1, "high": 10, "default": 1.0},
        }
    )
    assert space.active_names({"kernel": "linear"}) == ["kernel", "C"]
    assert space.active_names({"kernel": "rbf"}) == ["kernel", "gamma", "C"]
    assert space.validate({"kernel": "rbf", "gamma": 0.1, "C": 2}) == {
        "kernel": "rbf",
        "gamma": 0.1,
        "C": 2.0,
    }
    with pytest.raises(InvalidValueError, match="inactive"):
        space.validate({"kernel": "linear", "gamma": 0.1, "C": 2})
    with pytest.raises(InvalidValueError, match="'gamma' is missing"):
        space.validate({"kernel": "rbf", "C": 2})
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_search_space_from_yaml_names_the_bad_parameter():
    with pytest.raises(InvalidDistributionError, match="parameter 'lr'"):
        SearchSpace.from_yaml("lr: {type: float, low: 0, high: 1, log: true}")
    with pytest.raises(InvalidDistributionError, match="listed before"):
        SearchSpace({"a": Int(0, 1), "b": Int(0, 1)}, conditions={"a": "b == 1"})


def test_monotonic_repair_sorts_drawn_values_and_clips_around_fixed_ones():
    order = Monotonic(("u1", "u2", "u3"), increasing=False)
    values = {"u1": 16, "u2": 64, "u3": 32}
    order.repair(values, frozenset())
    assert values == {"u1": 64, "u2": 32, "u3": 16}
    values = {"u1": 16, "u2": 64, "u3": 32}
    order.repair(values, frozenset({"u1"}))
    assert values == {"u1": 16, "u2": 16, "u3": 16}
    assert order.holds(values)


def test_monotonic_repair_keeps_sampled_values_between_fixed_ones():
    order = Monotonic(("u1", "u2", "u3", "u4"), increasing=False)
    values = {"u1": 32, "u2": 256, "u3": 128, "u4": 16}
    order.repair(values, frozenset({"u3"}))
    assert values["u3"] == 128 and order.holds(values)


def test_monotonic_repair_rejects_contradicting_fixed_values():
    order = Monotonic(("u1", "u2"), increasing=False)
    with pytest.raises(InvalidValueError, match="must not grow"):
        order.repair({"u1": 32, "u2": 64}, frozenset({"u1", "u2"}))


def test_constraints_need_one_shared_distribution_and_survive_to_dict():
    with pytest.raises(InvalidDistributionError, match="share one distribution"):
        SearchSpace({"a": Int(1, 8), "b": Int(1, 16)}, constraints=[Monotonic(("a", "b"))])
    space = SearchSpace(
        {"a": Int(1, 8, default=4), "b": Int(1, 8)}, constraints=[Monotonic(("a", "b"))]
    )
    again = SearchSpace.from_dict(space.to_dict())
    assert again == space and again.constraints == space.constraints


def test_categorical_equality_tells_types_apart():
    assert Categorical([1]) != Categorical([True])
    assert Categorical([1]) != Categorical([1.0])
    assert Categorical([1, "a"]) == Categorical((1, "a"))
    assert len({Categorical([1]), Categorical([True]), Categorical([1])}) == 2
