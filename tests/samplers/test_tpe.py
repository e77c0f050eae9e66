from __future__ import annotations

import json
import math

import numpy as np
import pytest

import hyperdial
from hyperdial import Categorical, Direction, Float, Int, SearchSpace, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import RandomSampler
from hyperdial.samplers.tpe import TPEConfig, TPESampler
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial


class TestTPEConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: TPESampler(seed=seed, n_startup_trials=3)


class TestUnivariateTPEConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: TPESampler(seed=seed, n_startup_trials=2, multivariate=False)


LINE = SearchSpace({"x": Float(0.0, 1.0)})
MIN = (Direction.MINIMIZE,)


def _done(number, params, value, space, state=TrialState.COMPLETE, **kwargs):
    values = None if value is None else (value if isinstance(value, tuple) else (value,))
    dists = {n: space[n] for n in params}
    return FrozenTrial(number, number, state, params, dists, values=values, **kwargs)


def _history(trials, directions=MIN, running=()):
    current = FrozenTrial(
        len(trials) + len(running), len(trials) + len(running), TrialState.RUNNING
    )
    return History(directions, (*trials, *running, current)), current


def _line(n, f, seed=0):
    xs = np.random.default_rng(seed).random(n)
    return [_done(i, {"x": float(x)}, f(float(x)), LINE) for i, x in enumerate(xs)]


def _rng(k=0):
    return np.random.default_rng([7, k])


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param(
            {"n_startup_trials": -3}, "n_startup_trials must be an int >= 0; got -3.", id="startup"
        ),
        pytest.param(
            {"n_ei_candidates": 0}, "n_ei_candidates must be an int >= 1; got 0.", id="candidates"
        ),
        pytest.param(
            {"multivariate": 1}, "multivariate must be a bool; got 1.", id="multivariate"
        ),
        pytest.param({"prior_weight": -1.0}, "prior_weight must be a number in", id="prior"),
        pytest.param({"constant_liar": "yes"}, "constant_liar must be a bool", id="liar"),
        pytest.param({"seed": -1}, "seed must be an int >= 0", id="seed"),
    ],
)
def test_invalid_arguments_name_the_sampler_and_the_value(kwargs, message):
    with pytest.raises(InvalidValueError, match="^TPESampler: " + message.replace("(", r"\(")):
        TPESampler(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gamma": 0.0},
        {"gamma_max": 0},
        {"gamma_rule": "cubic"},
        {"n_recent": 0},
        {"prior_sigma": 0},
        {"categorical_pseudo_counts": (1.0,)},
        {"categorical_pseudo_counts": (0.0, 1.0)},
    ],
)
def test_invalid_config_is_rejected(kwargs):
    with pytest.raises(InvalidValueError, match="^TPEConfig: "):
        TPEConfig(**kwargs)
    with pytest.raises(TypeError, match="TPEConfig"):
        TPESampler(config={"gamma": 0.2})


# ---------------------------------------------------------------- initial design
def test_the_first_trial_takes_the_defaults_then_the_design_is_random():
    space = SearchSpace(
        {
            "lr": Float(1e-4, 1.0, log=True, default=1e-2),
            "n": Int(1, 9),
            "k": Categorical(["a", "b"], default="b"),
        }
    )
    sampler = TPESampler()
    history, current = _history([])
    first = sampler.sample(history, current, space, _rng())
    assert first.params["lr"] == 1e-2 and first.params["k"] == "b" and 1 <= first.params["n"] <= 9
    assert first.reason == "initial design: defaults 1 of 10"
    trials = [
        _done(0, dict(first.params), 1.0, space),
        _done(1, {"lr": 0.5, "n": 2, "k": "a"}, 2.0, space),
    ]
    history, current = _history(trials)
    second = sampler.sample(history, current, space, _rng())
    assert second.reason == "initial design: stratified 3 of 10"
    assert second.meta == {"phase": "initial", "design": "stratified", "index": 3}


def test_the_initial_design_fills_one_stratum_per_trial():
    space = SearchSpace({"x": Float(0.0, 1.0), "n": Int(1, 1000, log=True)})

    def objective(trial):
        if trial.number % 2:  # define-by-run and declared suggestions share the design
            return trial.suggest_float("x", 0.0, 1.0) + trial.suggest_int("n", 1, 1000, log=True)
        params = trial.suggest_space(space)
        return params["x"] + params["n"]

    study = hyperdial.create_study(sampler=TPESampler(seed=1, n_startup_trials=8))
    study.optimize(objective, n_trials=8)
    for name, dist in space.items():
        units = [hyperdial.space.to_unit(dist, t.params[name]) for t in study.trials]
        assert sorted(int(u * 8) for u in units) == list(range(8)), name


def test_a_study_starts_at_the_defaults():
    space = SearchSpace({"x": Float(-5, 5, default=1.5), "c": Categorical([1, 2, 3], default=3)})
    study = hyperdial.create_study(sampler=TPESampler(seed=0))
    study.optimize(lambda t: float(t.suggest_space(space)["x"]), n_trials=2)
    assert study.trials[0].params == {"x": 1.5, "c": 3}
    assert study.trials[1].params != {"x": 1.5, "c": 3}


# ---------------------------------------------------------------- the model
def test_the_reason_and_meta_describe_the_split_and_the_incumbent():
    trials = _line(30, lambda x: (x - 0.3) ** 2)
    history, current = _history(trials)
    suggestion = TPESampler().sample(history, current, LINE, _rng())
    best = min(trials, key=lambda t: t.values[0])
    threshold = sorted(t.values[0] for t in trials)[2]
    assert suggestion.reason.startswith("TPE (multivariate): best of 24 candidates, log l/g = ")
    assert f"; 3 good of 30 (value <= {threshold:.4g}); " in suggestion.reason
    assert suggestion.reason.endswith(f"incumbent {best.values[0]:.4g} (trial {best.number})")
    meta = json.loads(json.dumps(suggestion.meta))
    assert meta["phase"] == "model" and meta["n_good"] == 3 and meta["n_bad"] == 27
    assert meta["threshold"] == threshold and meta["incumbent"] == best.values[0]
    assert meta["incumbent_trial"] == best.number
    assert isinstance(meta["log_ratio"], float) and math.isfinite(meta["log_ratio"])


def test_proposals_concentrate_where_good_trials_are():
    trials = _line(40, lambda x: (x - 0.3) ** 2)
    history, current = _history(trials)
    for multivariate in (True, False):
        sampler = TPESampler(multivariate=multivariate)
        xs = [sampler.sample(history, current, LINE, _rng(k)).params["x"] for k in range(20)]
        assert abs(np.median(xs) - 0.3) < 0.1, (multivariate, xs)


def test_maximisation_flips_the_split():
    trials = _line(30, lambda x: -((x - 0.7) ** 2))
    history, current = _history(trials, directions=(Direction.MAXIMIZE,))
    suggestion = TPESampler().sample(history, current, LINE, _rng())
    assert suggestion.meta["threshold"] == sorted(t.values[0] for t in trials)[-3]
    assert "(value >= " in suggestion.reason
    xs = [TPESampler().sample(history, current, LINE, _rng(k)).params["x"] for k in range(20)]
    assert abs(np.median(xs) - 0.7) < 0.1


def test_pruned_trials_rank_after_complete_ones_and_failed_ones_are_ignored():
    trials = _line(12, lambda x: x)
    extra = [
        _done(12, {"x": 0.5}, None, LINE, TrialState.PRUNED, intermediate={0: 9.0, 3: 0.0}),
        _done(13, {"x": 0.6}, None, LINE, TrialState.PRUNED),
        _done(14, {"x": 0.9}, None, LINE, TrialState.FAILED),
    ]
    history, current = _history([*trials, *extra])
    meta = TPESampler().sample(history, current, LINE, _rng()).meta
    assert (meta["n_good"], meta["n_bad"]) == (2, 12)
    ignoring = TPESampler(config=TPEConfig(use_pruned=False)).sample(
        history, current, LINE, _rng()
    )
    assert (ignoring.meta["n_good"], ignoring.meta["n_bad"]) == (2, 10)


def test_constant_liar_moves_the_proposal_away_from_running_trials():
    trials = _line(30, lambda x: (x - 0.3) ** 2)
    history, current = _history(trials)
    alone = TPESampler().sample(history, current, LINE, _rng()).params["x"]
    running = [
        FrozenTrial(30 + i, 30 + i, TrialState.RUNNING, {"x": alone}, dict(LINE)) for i in range(4)
    ]
    busy, current = _history(trials, running=running)
    liar = TPESampler().sample(busy, current, LINE, _rng())
    honest = TPESampler(constant_liar=False).sample(busy, current, LINE, _rng())
    assert honest.params["x"] == alone
    assert liar.params["x"] != alone and liar.meta["n_running"] == 4
    assert liar.reason.endswith("; 4 running counted as bad")


def test_an_expert_default_pulls_the_early_proposals():
    flat = [_done(i, {"x": x}, 0.0, LINE) for i, x in enumerate(np.linspace(0.05, 0.95, 10))]
    near = {}
    for default in (None, 0.9):
        space = SearchSpace({"x": Float(0.0, 1.0, default=default)})
        trials = [_done(t.number, dict(t.params), 0.0, space) for t in flat]
        history, current = _history(trials)
        xs = [TPESampler().sample(history, current, space, _rng(k)).params["x"] for k in range(40)]
        near[default] = np.mean(np.abs(np.array(xs) - 0.9))
    assert near[0.9] < 0.6 * near[None]


def test_integers_steps_and_categoricals_stay_on_the_grid():
    space = SearchSpace(
        {
            "n": Int(1, 1000, log=True),
            "k": Int(0, 12, step=4),
            "s": Float(0.0, 1.0, step=0.125),
            "c": Categorical([None, 1, "1", True]),
        }
    )
    rng = np.random.default_rng(0)
    trials = []
    for i in range(25):
        params = {
            n: space[n].cast(hyperdial.space.from_unit(d, rng.random())) for n, d in space.items()
        }
        trials.append(_done(i, params, float(rng.random()), space))
    history, current = _history(trials)
    for multivariate in (True, False):
        for k in range(5):
            params = (
                TPESampler(multivariate=multivariate)
                .sample(history, current, space, _rng(k))
                .params
            )
            for name, value in params.items():
                assert space[name].contains(value) and not isinstance(value, np.generic)
                if not isinstance(space[name], Categorical):
                    assert type(value) is (int if isinstance(space[name], Int) else float)


# ---------------------------------------------------------------- conditional spaces
BRANCHED = SearchSpace(
    {
        "model": Categorical(["svm", "tree"]),
        "c": Float(1e-3, 1e3, log=True),
        "gamma": Float(1e-4, 1.0, log=True),
        "depth": Int(1, 12),
    },
    conditions={"c": "model == svm", "gamma": "model == svm", "depth": "model == tree"},
)


def _branched_trials(n=24):
    rng = np.random.default_rng(3)
    trials = []
    for i in range(n):
        if i % 2:
            params = {
                "model": "svm",
                "c": float(10 ** rng.uniform(-3, 3)),
                "gamma": float(10 ** rng.uniform(-4, 0)),
            }
            value = abs(math.log10(params["c"])) + abs(math.log10(params["gamma"]) + 2)
        else:
            params = {"model": "tree", "depth": int(rng.integers(1, 13))}
            value = 1.0 + abs(params["depth"] - 4)
        trials.append(_done(i, params, value, BRANCHED))
    return trials


def test_co_occurring_parameters_form_groups_and_conditions_hold():
    history, current = _history(_branched_trials())
    grouped = TPESampler().sample(history, current, BRANCHED, _rng())
    assert grouped.meta["n_groups"] == 3  # {model}, {c, gamma}, {depth}
    assert grouped.reason.startswith("TPE (multivariate, 3 groups)")
    for k in range(10):
        params = TPESampler().sample(history, current, BRANCHED, _rng(k)).params
        assert list(params) == BRANCHED.active_names(params)
    flat = TPESampler(group=False).sample(history, current, BRANCHED, _rng())
    assert flat.meta["n_groups"] == 4  # only "model" is shared by all trials


def test_fixed_parameters_are_kept_and_only_active_ones_are_proposed():
    history, _ = _history(_branched_trials())
    current = FrozenTrial(24, 24, TrialState.RUNNING, fixed_params={"model": "tree"})
    params = TPESampler().sample(history, current, BRANCHED, _rng()).params
    assert set(params) == {"depth"}


def test_define_by_run_uses_the_union_of_parameters_and_univariate_tpe_outside_it():
    trials = _branched_trials()
    history, current = _history(trials)
    sampler = TPESampler()
    assert set(sampler.infer_space(history)) == set(BRANCHED)
    assert set(TPESampler(group=False).infer_space(history)) == {"model"}
    depths = [
        sampler.sample_one(history, current, "depth", BRANCHED["depth"], _rng(k))
        for k in range(30)
    ]
    assert all(type(d) is int for d in depths)
    assert np.mean(np.abs(np.array(depths) - 4)) < 2.0  # uniform draws would average ~3.6


def test_multi_objective_split_reports_pareto_ranks():
    space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
    rng = np.random.default_rng(0)
    trials = []
    for i in range(20):
        x, y = (float(v) for v in rng.random(2))
        trials.append(_done(i, {"x": x, "y": y}, (x, 1.0 - x + y), space))
    history, current = _history(trials, directions=(Direction.MINIMIZE, Direction.MINIMIZE))
    suggestion = TPESampler().sample(history, current, space, _rng())
    assert "good of 20 (Pareto rank <= " in suggestion.reason
    assert suggestion.meta["n_good"] == 2 and "incumbent" not in suggestion.meta


# ---------------------------------------------------------------- behaviour
def _quadratic(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(4))


def _mixed(trial):
    kind = trial.suggest_categorical("kind", ["a", "b", "c", "d"])
    n = trial.suggest_int("n", 1, 64, log=True)
    x = trial.suggest_float("x", 0.0, 1.0)
    return (
        {"a": 1.0, "b": 0.0, "c": 0.5, "d": 2.0}[kind] + abs(math.log2(n) - 3) / 3 + (x - 0.2) ** 2
    )


@pytest.mark.slow
@pytest.mark.parametrize("objective", [_quadratic, _mixed], ids=["quadratic-4d", "mixed"])
def test_tpe_beats_random_search_on_cheap_problems(objective):
    def best(sampler):
        study = hyperdial.create_study(sampler=sampler)
        study.optimize(objective, n_trials=50)
        return study.best_value

    seeds = range(3)
    tpe = np.mean([best(TPESampler(seed=s)) for s in seeds])
    rand = np.mean([best(RandomSampler(seed=s)) for s in seeds])
    assert tpe < rand, (tpe, rand)
