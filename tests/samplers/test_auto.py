from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hyperdial import Categorical, Direction, Float, Int, SearchSpace
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers.auto import AutoSampler, advise
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial, TrialState

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class TestAutoSampler(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: AutoSampler(seed=seed)


def _history(n, dists, *, seconds=1.0, directions=(Direction.MINIMIZE,), drop=None):
    trials = []
    for i in range(n):
        params = {
            k: (d.choices[0] if isinstance(d, Categorical) else d.low) for k, d in dists.items()
        }
        ds = dict(dists)
        if drop and i % 2:
            params.pop(drop)
            ds.pop(drop)
        trials.append(
            FrozenTrial(
                trial_id=i,
                number=i,
                state=TrialState.COMPLETE,
                params=params,
                distributions=ds,
                values=tuple(float(i) for _ in directions),
                started_at=T0,
                finished_at=T0 + timedelta(seconds=seconds),
            )
        )
    return History(tuple(directions), tuple(trials))


NUMERIC = {"x": Float(0, 1), "y": Float(1e-3, 1, log=True), "n": Int(1, 8)}


@pytest.mark.parametrize(
    "history, method, fragment",
    [
        pytest.param(_history(20, NUMERIC), "gp", "Gaussian process", id="small-numeric"),
        pytest.param(_history(300, NUMERIC), "tpe", "300 trials", id="large"),
        pytest.param(_history(60, NUMERIC, seconds=0.001), "gp", "Gaussian", id="cheap"),
        pytest.param(
            _history(20, NUMERIC, drop="x"), "gp", "conditions inferred", id="conditional"
        ),
        pytest.param(
            _history(
                20, {"a": Categorical(["p", "q"]), "b": Categorical([1, 2]), "x": Float(0, 1)}
            ),
            "tpe",
            "categorical",
            id="categorical",
        ),
        pytest.param(
            _history(5, {f"x{i}": Float(0, 1) for i in range(101)}),
            "tpe",
            "101 parameters",
            id="dim",
        ),
        pytest.param(
            _history(5, {f"x{i}": Float(0, 1) for i in range(100)}),
            "gp",
            "100 numeric-leaning parameters",
            id="dim-100",
        ),
        pytest.param(
            _history(10, NUMERIC, directions=(Direction.MINIMIZE, Direction.MAXIMIZE)),
            "tpe",
            "2 objectives",
            id="multi-objective",
        ),
    ],
)
def test_rules_pick_the_method_and_say_why(history, method, fragment):
    choice = AutoSampler().choose(history)
    assert choice.method == method
    assert fragment in choice.why


def test_reasons_name_the_method_in_use():
    import hyperdial

    study = hyperdial.create_study(sampler=AutoSampler(seed=0), seed=0)
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    assert all(t.reason.startswith("auto: GP (") for t in study.trials)
    assert all(t.sampler_meta["auto_method"] == "gp" for t in study.trials)


def test_advise_plans_the_phases_and_warns_about_a_small_budget_and_a_large_grid():
    space = SearchSpace({f"x{i}": Float(0, 1) for i in range(6)})
    advice = advise(space, n_trials=15, grid={"a": [1, 2, 3, 4], "b": [1, 2, 3, 4, 5]})
    assert advice.plan[0] == (
        "trials 0-11",
        "initial design: 12 scrambled Sobol points (2 per parameter, at least 5)",
    )
    assert any("leaves almost nothing" in w for w in advice.warnings)
    assert any("grid has 20 points" in w for w in advice.warnings)
    conditional = SearchSpace(
        {"k": Categorical(["a", "b"]), "g": Float(0, 1)}, conditions={"g": "k == a"}
    )
    conditional_advice = advise(conditional, n_trials=100)
    assert "Gaussian process" in conditional_advice.plan[1][1]
    assert "with conditions" in conditional_advice.reasons[0]


def test_advise_uses_the_time_budget():
    space = SearchSpace({"x": Float(0, 1)})
    advice = advise(space, timeout_s=60, seconds_per_trial=10, n_workers=2)
    assert "about 12 trials" in advice.reasons[0]
    assert not advice.warnings
    cheap = advise(space, timeout_s=60, seconds_per_trial=0.001)
    assert any("TPESampler" in w for w in cheap.warnings)
    assert not advise(space, n_trials=100, seconds_per_trial=0.001).warnings


@pytest.mark.parametrize("seed", ["a", -5, 1.5, True])
def test_every_sampler_names_itself_when_its_seed_is_wrong(seed):
    from hyperdial.samplers import CmaEsSampler, GPSampler, QMCSampler, RandomSampler, TPESampler

    for cls in (AutoSampler, GPSampler, TPESampler, RandomSampler, QMCSampler, CmaEsSampler):
        with pytest.raises(InvalidValueError, match=f"^{cls.__name__}: seed must be an int >= 0"):
            cls(seed=seed)
