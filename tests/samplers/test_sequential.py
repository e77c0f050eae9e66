from __future__ import annotations

import pytest

import hyperdial
from hyperdial.exceptions import InvalidValueError
from hyperdial.samplers import QMCSampler, RandomSampler
from hyperdial.samplers.sequential import SequentialSampler, default_initial_design_size
from hyperdial.testing import SamplerConformance


class TestSequentialSampler(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: SequentialSampler(
            [(QMCSampler(seed=seed), 3), (RandomSampler(seed=seed), None)], seed=seed
        )


def test_stages_follow_the_trial_numbers_and_label_the_reason():
    sampler = SequentialSampler([(QMCSampler(seed=1), 3), (RandomSampler(), None)])
    study = hyperdial.create_study(sampler=sampler, seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=6)
    stages = [t.reason.split(":")[0] for t in study.trials]
    assert stages[:3] == ["stage 1 of 2 (QMCSampler)"] * 3
    assert stages[3:] == ["stage 2 of 2 (RandomSampler)"] * 3


def test_auto_initial_design_scales_with_the_dimension():
    space = hyperdial.SearchSpace({f"x{i}": hyperdial.Float(0, 1) for i in range(6)})
    sampler = SequentialSampler([(QMCSampler(seed=0), "auto"), (RandomSampler(), None)])
    study = hyperdial.create_study(sampler=sampler, seed=0)
    for _ in range(14):
        trial = study.ask()
        study.tell(trial, sum(trial.suggest_space(space).values()))
    first = [t.number for t in study.trials if t.sampler_meta.get("stage") == 0]
    assert first == list(range(default_initial_design_size(6))) == list(range(12))


@pytest.mark.parametrize(
    "stages, fragment",
    [
        pytest.param([], "non-empty", id="empty"),
        pytest.param([(RandomSampler(), 5)], "last stage", id="last-finite"),
        pytest.param([(RandomSampler(), -1), (RandomSampler(), None)], "int >= 0", id="neg"),
        pytest.param([("random", 5), (RandomSampler(), None)], "Sampler", id="not-sampler"),
        pytest.param(
            [(RandomSampler(), None), (RandomSampler(), "auto"), (RandomSampler(), None)],
            "int >= 0",
            id="auto-late",
        ),
    ],
)
def test_bad_stages_are_rejected(stages, fragment):
    with pytest.raises(InvalidValueError, match=fragment):
        SequentialSampler(stages)
