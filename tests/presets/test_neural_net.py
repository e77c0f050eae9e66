from __future__ import annotations

import pickle

import pytest

import hyperdial
import hyperdial.presets
from hyperdial.exceptions import InvalidDistributionError
from hyperdial.presets import neural_net
from hyperdial.samplers import RandomSampler

N_SEEDS = 100
N_TRIALS_PER_SEED = 4


def expected_names(n_layers: int) -> list[str]:
    return [
        "learning_rate",
        "batch_size",
        "n_layers",
        *(f"units_{k}" for k in range(1, n_layers + 1)),
        *(f"dropout_{k}" for k in range(1, n_layers + 1)),
        "l1",
        "l2",
        "lr_schedule",
    ]


def check_sample(params, *, min_layers: int = 2, max_layers: int = 5) -> None:
    n = params["n_layers"]
    assert isinstance(n, int) and min_layers <= n <= max_layers
    assert list(params) == expected_names(n)
    assert 1e-4 <= params["learning_rate"] <= 1e-1
    assert params["batch_size"] in (32, 64, 128, 256)
    assert 1e-3 <= params["l1"] <= 1e-1
    assert 1e-3 <= params["l2"] <= 1e-1
    assert params["lr_schedule"] in ("constant", "step", "cosine", "one-cycle")
    units = [params[f"units_{k}"] for k in range(1, n + 1)]
    dropout = [params[f"dropout_{k}"] for k in range(1, n + 1)]
    assert all(isinstance(u, int) and 16 <= u <= 512 for u in units)
    assert all(isinstance(d, float) and 0.2 <= d <= 0.5 for d in dropout)
    assert units == sorted(units, reverse=True), f"widths grow toward the output: {units}"
    assert dropout == sorted(dropout), f"dropout falls toward the output: {dropout}"


def draw(space, seed: int, n_trials: int = N_TRIALS_PER_SEED):
    """Yield samples drawn through the public API, telling each trial so history grows."""
    study = hyperdial.create_study(seed=seed)
    for _ in range(n_trials):
        trial = study.ask()
        params = trial.suggest_space(space)
        study.tell(trial, float(params["learning_rate"]))
        yield params


@pytest.mark.parametrize(
    ("max_layers", "min_layers"),
    [
        pytest.param(5, 2, id="default"),
        pytest.param(3, 1, id="one-to-three"),
        pytest.param(4, 4, id="fixed-depth"),
        pytest.param(1, 1, id="single-layer"),
    ],
)
def test_samples_obey_the_space(max_layers, min_layers):
    space = neural_net(max_layers, min_layers=min_layers)
    depths = set()
    for seed in range(N_SEEDS):
        for params in draw(space, seed):
            check_sample(params, min_layers=min_layers, max_layers=max_layers)
            depths.add(params["n_layers"])
    assert depths == set(range(min_layers, max_layers + 1))


def test_conditional_layers_exist_iff_deep_enough():
    space = neural_net(5)
    for seed in range(N_SEEDS):
        for params in draw(space, seed):
            for k in range(1, 6):
                present = params["n_layers"] >= k
                assert (f"units_{k}" in params) is present
                assert (f"dropout_{k}" in params) is present


@pytest.mark.parametrize(
    ("enqueued", "check"),
    [
        pytest.param(
            {"n_layers": 3, "units_1": 64},
            lambda p: p["units_1"] == 64 and p["units_3"] <= p["units_2"] <= 64,
            id="first-width",
        ),
        pytest.param(
            {"n_layers": 4, "dropout_1": 0.45},
            lambda p: p["dropout_1"] == 0.45 and p["dropout_2"] >= 0.45,
            id="first-dropout",
        ),
        pytest.param(
            {"n_layers": 2, "lr_schedule": "one-cycle"},
            lambda p: p["lr_schedule"] == "one-cycle",
            id="unconstrained",
        ),
    ],
)
def test_enqueued_partial_configuration_is_respected(enqueued, check):
    space = neural_net()
    rest = set()
    for seed in range(N_SEEDS):
        # Random search: a model-based sampler starts at the experts' defaults on purpose.
        study = hyperdial.create_study(sampler=RandomSampler(), seed=seed)
        study.enqueue(enqueued)
        params = study.ask().suggest_space(space)
        assert {k: params[k] for k in enqueued} == enqueued
        check_sample(params)
        assert check(params)
        rest.add(params["learning_rate"])
    assert len(rest) == N_SEEDS  # the rest is sampled, not filled with defaults


def test_enqueued_later_width_keeps_the_order():
    space = neural_net()
    for seed in range(N_SEEDS):
        study = hyperdial.create_study(seed=seed)
        study.enqueue({"n_layers": 3, "units_3": 128})
        params = study.ask().suggest_space(space)
        assert params["units_3"] == 128
        check_sample(params)


def test_same_seed_gives_the_same_samples():
    space = neural_net()
    assert list(draw(space, 7)) == list(draw(space, 7))


@pytest.mark.parametrize("max_layers", [1, 2, 5, 8])
def test_defaults_form_a_valid_configuration(max_layers):
    space = neural_net(max_layers, min_layers=1)
    params = hyperdial.FixedTrial({}).suggest_space(space)
    assert params["n_layers"] == 1
    assert space.validate(params) == params
    deepest = hyperdial.FixedTrial({"n_layers": max_layers}).suggest_space(space)
    assert all(c.holds(deepest) for c in space.constraints)
    assert deepest["learning_rate"] == 1e-2 and deepest["batch_size"] == 32


def test_space_shape():
    space = neural_net(4, min_layers=2)
    assert list(space) == [
        "learning_rate",
        "batch_size",
        "n_layers",
        *(f"units_{k}" for k in range(1, 5)),
        *(f"dropout_{k}" for k in range(1, 5)),
        "l1",
        "l2",
        "lr_schedule",
    ]
    assert space["learning_rate"].log and space["units_1"].log and space["l2"].log
    assert (space["n_layers"].low, space["n_layers"].high) == (2, 4)
    assert {name: [str(c) for c in conds] for name, conds in space.conditions.items()} == {
        name: [f"n_layers >= {k}"] for k in (3, 4) for name in (f"units_{k}", f"dropout_{k}")
    }
    units, dropout = space.constraints
    assert (units.names, units.increasing) == (tuple(f"units_{k}" for k in range(1, 5)), False)
    assert (dropout.names, dropout.increasing) == (
        tuple(f"dropout_{k}" for k in range(1, 5)),
        True,
    )


def test_space_pickles():
    space = neural_net()
    assert pickle.loads(pickle.dumps(space)) == space


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param(
            {"max_layers": 1},
            InvalidDistributionError,
            "neural_net: max_layers must be an int >= min_layers; got 1.",
            id="max-below-min",
        ),
        pytest.param(
            {"min_layers": 0},
            InvalidDistributionError,
            "neural_net: min_layers must be an int >= 1; got 0.",
            id="min-zero",
        ),
        pytest.param(
            {"max_layers": 2.5},
            TypeError,
            "neural_net: max_layers must be an int; got float.",
            id="float",
        ),
        pytest.param(
            {"min_layers": True},
            TypeError,
            "neural_net: min_layers must be an int; got bool.",
            id="bool",
        ),
    ],
)
def test_invalid_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        neural_net(**kwargs)
    assert str(info.value) == message


def test_all_is_sorted_and_public():
    assert hyperdial.presets.__all__ == sorted(hyperdial.presets.__all__)
    assert all(hasattr(hyperdial.presets, name) for name in hyperdial.presets.__all__)
