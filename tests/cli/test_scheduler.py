from __future__ import annotations

import pytest

from hyperdial.cli.scheduler import SCHEDULERS, SchedulerSpec, build_scheduler, parse_scheduler
from hyperdial.exceptions import SpecError
from hyperdial.schedulers import (
    ASHA,
    BOHB,
    PBT,
    AutoScheduler,
    Hyperband,
    MedianPruner,
    NoScheduler,
    PercentilePruner,
    SuccessiveHalving,
)

CASES = {
    "auto": ({"max_resource": 9}, AutoScheduler),
    "none": ({}, NoScheduler),
    "median": ({"n_warmup_steps": 2}, MedianPruner),
    "percentile": ({"percentile": 25, "n_startup_trials": 2}, PercentilePruner),
    "asha": ({"max_resource": 27, "reduction_factor": 3}, ASHA),
    "successive_halving": ({"n_configs": 3}, SuccessiveHalving),
    "hyperband": ({"min_resource": 1, "max_resource": 27}, Hyperband),
    "bohb": ({"max_resource": 9, "min_points": 4}, BOHB),
    "pbt": ({"population_size": 4, "perturb_factors": [0.5, 2]}, PBT),
}


def test_every_name_has_a_case():
    assert set(CASES) == set(SCHEDULERS)


@pytest.mark.parametrize("name", list(CASES))
def test_each_scheduler_is_parsed_and_built_with_its_options(name):
    options, cls = CASES[name]
    spec = parse_scheduler({"name": name, **options})
    assert spec == SchedulerSpec(name, options)
    scheduler = build_scheduler(spec)
    assert type(scheduler) is cls
    settings = scheduler.settings()
    assert {key: settings[key] for key in options} == options


@pytest.mark.parametrize("name", ["auto", "none", "median", "asha", "hyperband", "bohb", "pbt"])
def test_a_bare_name_builds_the_defaults(name):
    assert type(build_scheduler(parse_scheduler(f" {name.upper()} "))) is CASES[name][1]


def test_null_leaves_the_choice_to_the_study():
    assert parse_scheduler(None) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param(
            "hyperbnd",
            "scheduler: unknown scheduler 'hyperbnd'; use one of ['auto', 'none', 'median', "
            "'percentile', 'asha', 'successive_halving', 'hyperband', 'bohb', 'pbt'].",
            id="unknown-name",
        ),
        pytest.param(
            {"name": "hyperband", "max_resorce": 27},
            "scheduler: 'hyperband' has no option 'max_resorce'. Did you mean 'max_resource'? "
            "Its options: min_resource, max_resource, reduction_factor, promote, rank_by.",
            id="unknown-option",
        ),
        pytest.param(
            {"name": "none", "percentile": 5},
            "scheduler: 'none' takes no options; got 'percentile'.",
            id="none-takes-nothing",
        ),
        pytest.param(
            "percentile",
            "scheduler: 'percentile' needs the option 'percentile' "
            "(e.g. {name: percentile, percentile: ...}).",
            id="missing-required",
        ),
        pytest.param(
            {"max_resource": 9},
            "scheduler: must be a name or a mapping with a 'name' key; got {'max_resource': 9}.",
            id="no-name",
        ),
        pytest.param(
            3, "scheduler: must be a name or a mapping with a 'name' key; got 3.", id="number"
        ),
    ],
)
def test_parse_errors_name_the_key_and_the_choices(value, expected):
    with pytest.raises(SpecError) as info:
        parse_scheduler(value)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param(
            {"name": "hyperband", "min_resource": 9, "max_resource": 3},
            "scheduler: Hyperband: max_resource must be >= min_resource (9); got 3.",
            id="range",
        ),
        pytest.param(
            {"name": "asha", "reduction_factor": 1},
            "scheduler: ASHA: reduction_factor must be an int >= 2; got 1.",
            id="eta",
        ),
        pytest.param(
            {"name": "successive_halving", "n_configs": 0},
            "scheduler: SuccessiveHalving: n_configs must be an int >= 1; got 0.",
            id="n-configs",
        ),
        pytest.param(
            {"name": "percentile", "percentile": 150},
            "scheduler: PercentilePruner: percentile must be a number in [0, 100]; got 150.",
            id="percentile",
        ),
    ],
)
def test_bad_values_give_the_library_message(value, expected):
    spec = parse_scheduler(value)
    with pytest.raises(SpecError) as info:
        build_scheduler(spec)
    assert str(info.value) == expected
