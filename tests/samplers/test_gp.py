from __future__ import annotations

import dataclasses
import json
import pickle
import re

import numpy as np
import pytest

import hyperdial
from hyperdial import Categorical, Direction, Float, Int, SearchSpace, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import RandomSampler
from hyperdial.samplers.gp import GPSampler
from hyperdial.space import from_unit
from hyperdial.testing import SamplerConformance
from hyperdial.trial import FrozenTrial


class TestGPSampler(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: GPSampler(seed=seed, n_startup_trials=3)


# ------------------------------------------------------------------ helpers
def _done(number, params, space, value):
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=TrialState.COMPLETE,
        params=params,
        distributions={n: space[n] for n in params},
        values=(float(value),),
    )


def _running(number, params=None, space=None):
    params = params or {}
    dists = {n: space[n] for n in params} if space is not None else {}
    return FrozenTrial(
        trial_id=number, number=number, state=TrialState.RUNNING, params=params,
        distributions=dists,
    )  # fmt: skip


def _history(trials, direction=Direction.MINIMIZE):
    return History((direction,), tuple(trials))


def _grid_history(space, f, points):
    return [_done(i, p, space, f(p)) for i, p in enumerate(points)]


LINE = SearchSpace({"x": Float(0.0, 1.0)})


def _line_points(xs):
    return [{"x": float(x)} for x in xs]


# ------------------------------------------------------------------ options
@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        pytest.param({"seed": -1}, "seed must be an int >= 0 or None; got -1.", id="seed"),
        pytest.param(
            {"n_startup_trials": -3},
            "n_startup_trials must be an int >= 0 or None; got -3.",
            id="n_startup_trials",
        ),
        pytest.param(
            {"acquisition": "pi"}, "acquisition must be 'logei' or 'ucb'; got 'pi'.", id="acq"
        ),
        pytest.param(
            {"prior_weight": -1.0}, "prior_weight must be a finite number >= 0; got -1.0.", id="w"
        ),
        pytest.param(
            {"prior_width": 0.0}, "prior_width must be a finite number > 0; got 0.0.", id="width"
        ),
        pytest.param(
            {"deterministic_objective": 1},
            "deterministic_objective must be a bool; got 1.",
            id="deterministic",
        ),
        pytest.param(
            {"trust_region": "auto"},
            "trust_region must be True, False or None; got 'auto'.",
            id="trust_region",
        ),
        pytest.param(
            {"multi_fidelity": "auto"},
            "multi_fidelity must be True, False or None; got 'auto'.",
            id="multi_fidelity",
        ),
        pytest.param(
            {"independent_sampler": "random"},
            "independent_sampler must be a Sampler or None; got str.",
            id="independent",
        ),
    ],
)
def test_invalid_options_fail_with_a_clear_message(kwargs, fragment):
    with pytest.raises(InvalidValueError, match="GPSampler: " + re.escape(fragment)):
        GPSampler(**kwargs)


def test_default_startup_scales_with_dimension():
    sampler = GPSampler()
    assert [sampler.startup_trials(d) for d in (1, 4, 8, 50)] == [5, 8, 16, 20]
    assert GPSampler(n_startup_trials=7).startup_trials(50) == 7


def test_multi_objective_histories_are_refused():
    sampler = GPSampler(seed=0)
    current = _running(0)
    history = History((Direction.MINIMIZE, Direction.MINIMIZE), (current,))
    with pytest.raises(InvalidValueError, match="GPSampler handles one objective"):
        sampler.sample(history, current, LINE, np.random.default_rng(0))


# ------------------------------------------------------------------ phases and reasons
def test_initial_design_is_a_sobol_sequence_indexed_by_trial_number():
    sampler = GPSampler(seed=5, n_startup_trials=10)
    space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
    rows = []
    for k in range(8):
        current = _running(k)
        s = sampler.sample(_history([current]), current, space, np.random.default_rng(k))
        assert s.reason == "initial design: sobol point 1 of 10"
        assert s.meta["phase"] == "initial" and s.meta["sobol_index"] == k
        rows.append((s.params["x"], s.params["y"]))
    again = GPSampler(seed=5, n_startup_trials=10)
    current = _running(3)
    s = again.sample(_history([current]), current, space, np.random.default_rng(99))
    assert (s.params["x"], s.params["y"]) == rows[3]
    # Eight Sobol' points fill each half of each axis exactly four times.
    xs = np.array(rows)
    assert (xs[:, 0] < 0.5).sum() == 4 and (xs[:, 1] < 0.5).sum() == 4


def test_model_suggestion_reports_prediction_incumbent_and_acquisition():
    sampler = GPSampler(seed=0, n_startup_trials=4)
    done = _grid_history(LINE, lambda p: (p["x"] - 0.3) ** 2, _line_points([0.0, 0.5, 0.8, 1.0]))
    current = _running(4)
    s = sampler.sample(_history([*done, current]), current, LINE, np.random.default_rng(4))
    assert s.reason.startswith("GP log-EI: predicted ")
    assert "vs incumbent" in s.reason and "(trial 1)" in s.reason
    meta = json.loads(json.dumps(dict(s.meta)))
    assert meta["phase"] == "model" and meta["incumbent_trial"] == 1
    for key in ("mean", "std", "acq", "incumbent"):
        assert isinstance(meta[key], float), key
    assert meta["incumbent"] == pytest.approx(0.04, abs=0.02)
    assert 0.0 < s.params["x"] < 0.5


def test_ucb_acquisition_is_available():
    sampler = GPSampler(seed=0, n_startup_trials=4, acquisition="ucb")
    done = _grid_history(LINE, lambda p: (p["x"] - 0.3) ** 2, _line_points([0.0, 0.5, 0.8, 1.0]))
    current = _running(4)
    s = sampler.sample(_history([*done, current]), current, LINE, np.random.default_rng(4))
    assert s.reason.startswith("GP UCB: ") and s.meta["acquisition"] == "ucb"


def test_maximisation_looks_for_the_largest_value():
    sampler = GPSampler(seed=0, n_startup_trials=5)
    done = _grid_history(
        LINE, lambda p: -((p["x"] - 0.7) ** 2), _line_points([0.0, 0.25, 0.5, 0.75, 1.0])
    )
    current = _running(5)
    history = _history([*done, current], Direction.MAXIMIZE)
    s = sampler.sample(history, current, LINE, np.random.default_rng(5))
    assert s.meta["incumbent_trial"] == 3
    assert abs(s.params["x"] - 0.7) < 0.2
    assert s.meta["incumbent"] == pytest.approx(-0.0025, abs=0.01)


def test_deterministic_incumbent_is_the_best_observed_value():
    sampler = GPSampler(seed=0, n_startup_trials=4, deterministic_objective=True)
    done = _grid_history(LINE, lambda p: (p["x"] - 0.3) ** 2, _line_points([0.0, 0.5, 0.8, 1.0]))
    current = _running(4)
    s = sampler.sample(_history([*done, current]), current, LINE, np.random.default_rng(4))
    assert s.meta["incumbent"] == pytest.approx(0.04, rel=1e-6)


# ------------------------------------------------------------------ discrete and conditional
MIXED = SearchSpace(
    {
        "x": Float(-1.0, 1.0),
        "n": Int(0, 30),
        "k": Int(1, 1000, log=True),
        "s": Float(0.0, 1.0, step=0.1),
        "w": Int(8, 64, step=8),
        "c": Categorical(["a", "b", "c", None, 2]),
    }
)


def _mixed_objective(p):
    return (
        (p["x"] - 0.2) ** 2
        + ((p["n"] - 17) / 10) ** 2
        + (np.log10(p["k"]) - 2) ** 2
        + (p["s"] - 0.7) ** 2
        + ((p["w"] - 40) / 30) ** 2
        + {"a": 0.5, "b": 0.0, "c": 0.3, None: 0.9, 2: 0.7}[p["c"]]
    )


def test_discrete_values_stay_on_their_grid_in_the_model_phase():
    study = hyperdial.create_study(sampler=GPSampler(seed=0, n_startup_trials=4))
    study.optimize(lambda t: _mixed_objective(t.suggest_space(MIXED)), n_trials=10)
    model = [t for t in study.trials if t.reason.startswith("GP")]
    assert len(model) == 6
    for t in study.trials:
        for name, value in t.params.items():
            assert MIXED[name].contains(value), (name, value)
            assert type(value) is type(MIXED[name].cast(value))


def test_categorical_choices_are_not_ordered():
    # Choice "c" (last) is best and "b" (middle) worst: an ordered encoding would have to pass
    # through "b"; the Hamming kernel goes straight to "c".
    space = SearchSpace({"c": Categorical(["a", "b", "c"]), "x": Float(0, 1)})
    cost = {"a": 0.5, "b": 1.0, "c": 0.0}
    points = [{"c": c, "x": x} for c in ("a", "b") for x in (0.2, 0.5, 0.8)]
    done = _grid_history(space, lambda p: cost[p["c"]] + (p["x"] - 0.5) ** 2, points)
    current = _running(len(done))
    s = GPSampler(seed=0, n_startup_trials=2).sample(
        _history([*done, current]), current, space, np.random.default_rng(0)
    )
    assert s.params["c"] == "c"


COND = SearchSpace(
    {
        "model": Categorical(["lin", "rbf"]),
        "alpha": Float(1e-4, 1.0, log=True),
        "gamma": Float(1e-3, 10.0, log=True),
        "depth": Int(1, 8),
    },
    conditions={"alpha": "model == lin", "gamma": "model == rbf", "depth": "model == rbf"},
)


def _cond_objective(p):
    if p["model"] == "lin":
        return 1.0 + (np.log10(p["alpha"]) + 2) ** 2 / 4
    return (np.log10(p["gamma"]) + 1) ** 2 / 4 + ((p["depth"] - 5) / 4) ** 2


def test_conditional_spaces_return_only_active_parameters():
    study = hyperdial.create_study(sampler=GPSampler(seed=1, n_startup_trials=4))
    study.optimize(lambda t: _cond_objective(t.suggest_space(COND)), n_trials=14)
    assert sum(t.reason.startswith("GP") for t in study.trials) == 10
    for t in study.trials:
        assert list(t.params) == COND.active_names(t.params)
    assert study.best_params["model"] == "rbf"


def test_inactive_parameters_share_one_value_and_an_indicator():
    from hyperdial.samplers.gp._encoding import Encoding

    enc = Encoding(COND)
    lin = enc.encode({"model": "lin", "alpha": 0.01})
    rbf = enc.encode({"model": "rbf", "gamma": 0.1, "depth": 3})
    lin2 = enc.encode({"model": "lin", "alpha": 0.5})
    assert enc.dim == 6  # four parameters and one indicator per distinct condition
    assert lin[2] == lin2[2] == 0.5 and lin[3] == lin2[3] == 0.5  # imputed alike
    assert (lin[4], lin[5]) == (1.0, 0.0) and (rbf[4], rbf[5]) == (0.0, 1.0)
    assert enc.encode({"model": "rbf", "gamma": 0.1}) is None  # depth missing: unusable


def test_enqueued_parent_fixes_the_branch_in_the_model_phase():
    study = hyperdial.create_study(sampler=GPSampler(seed=2, n_startup_trials=3))
    study.optimize(lambda t: _cond_objective(t.suggest_space(COND)), n_trials=5)
    study.enqueue({"model": "lin"})
    study.optimize(lambda t: _cond_objective(t.suggest_space(COND)), n_trials=1)
    last = study.trials[-1]
    assert last.params["model"] == "lin" and set(last.params) == {"model", "alpha"}
    assert last.reason.startswith("enqueued by user: model; GP")


def test_the_initial_design_is_the_quasi_random_samplers():
    # GPSampler's own design and the explicit QMC-then-GP recipe are one algorithm: the same
    # points, hence the same model and the same suggestions after the design.
    from hyperdial.samplers import QMCSampler, SequentialSampler

    def objective(t):
        x = t.suggest_float("x", -5, 10)
        y = t.suggest_float("y", 1e-3, 1.0, log=True)
        n = t.suggest_int("n", 1, 8)
        return (x - 1) ** 2 + np.log10(y) ** 2 + (n - 3) ** 2

    runs = []
    for sampler in (
        GPSampler(seed=4),
        SequentialSampler([(QMCSampler(seed=4), "auto"), (GPSampler(seed=4), None)]),
    ):
        study = hyperdial.create_study(sampler=sampler, seed=11)
        study.optimize(objective, n_trials=9)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]


def _nested_define_by_run(t):
    model = t.suggest_categorical("model", ["linear", "tree", "kernel"])
    if model == "linear":
        return 0.6 + (np.log10(t.suggest_float("alpha", 1e-6, 1.0, log=True)) + 3) ** 2 / 9
    if model == "tree":
        depth = t.suggest_int("depth", 1, 12)
        leaf = t.suggest_int("min_leaf", 1, 64, log=True) if depth > 6 else 8
        return 0.3 + ((depth - 9) / 6) ** 2 + ((np.log2(leaf) - 3) / 3) ** 2
    g = np.log10(t.suggest_float("gamma", 1e-4, 10.0, log=True)) + 2
    c = np.log10(t.suggest_float("c", 1e-2, 1e3, log=True)) - 1
    return g**2 + c**2 + 0.5 * g * c


def test_define_by_run_conditions_are_inferred_from_the_trials():
    from hyperdial.samplers._infer import conditional_space

    study = hyperdial.create_study(sampler=RandomSampler(), seed=3)
    study.optimize(_nested_define_by_run, n_trials=40)
    space = conditional_space(study.history())
    assert set(space) == {"model", "alpha", "depth", "min_leaf", "gamma", "c"}
    conds = {name: [str(c) for c in cs] for name, cs in space.conditions.items()}
    assert conds["alpha"] == ['model == "linear"']
    assert conds["gamma"] == conds["c"] == ['model == "kernel"']
    # depth exists only in the tree branch, so its threshold alone explains min_leaf
    (threshold,) = [c for c in space.conditions["min_leaf"] if c.param == "depth"]
    assert threshold.op == ">" and 6 <= threshold.value <= 7
    for t in study.history().completed:  # the inferred space reproduces every trial's parameters
        assert sorted(space.active_names(t.params)) == sorted(t.params)


def test_a_parameter_whose_presence_nothing_explains_is_left_out():
    from hyperdial.samplers._infer import conditional_space

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        if t.number % 2:  # present or not regardless of the other parameters
            t.suggest_float("noise", 0, 1)
        return x

    study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
    study.optimize(objective, n_trials=12)
    assert list(conditional_space(study.history())) == ["x"]


def test_define_by_run_gp_models_every_branch():
    study = hyperdial.create_study(sampler=GPSampler(seed=0), seed=0)
    study.optimize(_nested_define_by_run, n_trials=45)
    modelled = [t for t in study.trials if t.reason.startswith("GP log-EI")]
    # The best branch's own parameters come from the model, not from independent draws.
    assert any(t.params["model"] == "kernel" and "independent" not in t.reason for t in modelled)
    assert study.best_params["model"] == "kernel"
    assert study.best_value < 0.3  # below the tree branch's minimum


# ------------------------------------------------------------------ pending trials
def test_running_outcomes_are_sampled_each_with_its_incumbent():
    # A running trial at the predicted optimum beats the best finished trial in most samples
    # of its outcome; the reason says so, and little improvement is left to expect.
    sampler = GPSampler(seed=0, n_startup_trials=5)
    f = lambda p: (p["x"] - 0.3) ** 2  # noqa: E731
    done = _grid_history(LINE, f, _line_points([0.0, 0.2, 0.5, 0.8, 1.0]))
    current = _running(6)
    alone = sampler.sample(_history([*done, current]), current, LINE, np.random.default_rng(0))
    assert alone.meta["incumbent"] == pytest.approx(0.01, abs=2e-3)  # trial 1, at x = 0.2
    assert alone.meta["pending_beats_incumbent"] is None
    pending = _running(5, {"x": 0.3}, LINE)
    s = sampler.sample(_history([*done, pending, current]), current, LINE,
                       np.random.default_rng(0))  # fmt: skip
    assert s.meta["incumbent"] == pytest.approx(alone.meta["incumbent"])
    assert s.meta["pending_beats_incumbent"] > 0.5
    assert "samples of the outcome of 1 running trial" in s.reason
    assert s.meta["acq"] < alone.meta["acq"] - 1.0  # log-EI: e times less
    # A running trial far from the optimum rarely beats it.
    far = _running(5, {"x": 0.95}, LINE)
    s = sampler.sample(_history([*done, far, current]), current, LINE, np.random.default_rng(0))
    assert s.meta["pending_beats_incumbent"] < 0.1


def test_ucb_counts_a_running_point_at_its_predicted_mean():
    # Kriging believer: the running trial's predicted value counts as observed, so the
    # improvement the next worker aims for is over it, not over the best finished trial.
    sampler = GPSampler(seed=0, n_startup_trials=5, acquisition="ucb")
    f = lambda p: (p["x"] - 0.3) ** 2  # noqa: E731
    done = _grid_history(LINE, f, _line_points([0.0, 0.2, 0.5, 0.8, 1.0]))
    current = _running(6)
    pending = _running(5, {"x": 0.3}, LINE)
    s = sampler.sample(_history([*done, pending, current]), current, LINE,
                       np.random.default_rng(0))  # fmt: skip
    assert s.meta["incumbent"] < 0.005
    assert "a running trial's prediction" in s.reason


def test_pruned_trials_count_towards_the_initial_design():
    # Under early stopping most trials end PRUNED; they used their design points, so the
    # model starts once the design is spent and half of it finished (before: only when
    # n_startup trials completed, a quarter of a Hyperband study).
    sampler = GPSampler(seed=0, n_startup_trials=4)
    f = lambda p: (p["x"] - 0.3) ** 2  # noqa: E731
    done = _grid_history(LINE, f, _line_points([0.0, 0.5]))
    pruned = [
        dataclasses.replace(_done(i, {"x": x}, LINE, 1.0), state=TrialState.PRUNED)
        for i, x in ((2, 0.8), (3, 1.0))
    ]
    current = _running(4)
    s = sampler.sample(
        _history([*done, *pruned, current]), current, LINE, np.random.default_rng(0)
    )
    assert s.meta["phase"] == "model" and s.meta["n_train"] == 2


def test_running_trials_count_towards_the_initial_design():
    sampler = GPSampler(seed=0, n_startup_trials=6)
    f = lambda p: (p["x"] - 0.3) ** 2  # noqa: E731
    done = _grid_history(LINE, f, _line_points([0.0, 0.2, 0.5, 0.8]))
    running = [_running(4, {"x": 0.9}, LINE), _running(5, {"x": 0.1}, LINE)]
    # Four finished and two running make the six design points a sequential study would
    # have drawn: the next trial is the model's, with the running ones as pending points.
    current = _running(6)
    history = _history([*done, *running, current])
    s = sampler.sample(history, current, LINE, np.random.default_rng(0))
    assert s.meta["phase"] == "model" and s.meta["n_pending"] == 2
    # Too few finished (two of six) and the design goes on, whatever is running.
    few = [*done[:2], *(_running(i, {"x": 0.1 * i}, LINE) for i in range(2, 6))]
    current = _running(6)
    s = sampler.sample(_history([*few, current]), current, LINE, np.random.default_rng(0))
    assert s.meta["phase"] == "initial"


def test_pending_trials_push_the_next_suggestion_away():
    sampler = GPSampler(seed=0, n_startup_trials=4)
    done = _grid_history(LINE, lambda p: (p["x"] - 0.3) ** 2, _line_points([0.0, 0.5, 0.8, 1.0]))
    current = _running(5)
    alone = sampler.sample(_history([*done, current]), current, LINE, np.random.default_rng(5))
    pending = _running(4, {"x": alone.params["x"]}, LINE)
    partial = _running(6)  # no parameters yet: ignored
    history = _history([*done, pending, current, partial])
    s = sampler.sample(history, current, LINE, np.random.default_rng(5))
    assert s.meta["n_pending"] == 1
    assert abs(s.params["x"] - alone.params["x"]) > 0.02


# ------------------------------------------------------------------ expert priors
PRIOR_SPACE = SearchSpace({"x": Float(0.0, 1.0, default=0.9), "y": Float(0.0, 1.0)})


def test_first_point_is_the_defaults():
    sampler = GPSampler(seed=0, n_startup_trials=5)
    current = _running(0)
    s = sampler.sample(_history([current]), current, PRIOR_SPACE, np.random.default_rng(0))
    assert s.params["x"] == 0.9 and 0.0 <= s.params["y"] <= 1.0
    assert s.meta["phase"] == "defaults" and "defaults" in s.reason
    first = FrozenTrial(0, 0, TrialState.COMPLETE, dict(s.params), dict(PRIOR_SPACE), (1.0,),
                        sampler_meta=dict(s.meta))  # fmt: skip
    nxt = _running(1)
    s2 = sampler.sample(_history([first, nxt]), nxt, PRIOR_SPACE, np.random.default_rng(1))
    assert s2.meta["phase"] == "initial"


def test_prior_pulls_early_suggestions_toward_the_default():
    plain = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    points = [{"x": x, "y": y} for x, y in ((0.1, 0.1), (0.5, 0.5), (0.3, 0.8), (0.8, 0.2))]

    def f(p):
        return 1.0 + 0.01 * p["y"]  # nearly flat: the prior decides

    dist = {}
    for label, space in (("prior", PRIOR_SPACE), ("plain", plain)):
        done = _grid_history(space, f, points)
        current = _running(4)
        s = GPSampler(seed=0, n_startup_trials=4).sample(
            _history([*done, current]), current, space, np.random.default_rng(4)
        )
        dist[label] = abs(s.params["x"] - 0.9)
    assert dist["prior"] < 0.1 < dist["plain"]


# ------------------------------------------------------------------ trust region
def test_trust_region_is_used_in_high_dimensions():
    space = SearchSpace({f"x{i}": Float(0.0, 1.0) for i in range(24)})
    rng = np.random.default_rng(0)
    points = [{n: float(v) for n, v in zip(space, rng.random(24))} for _ in range(10)]
    done = _grid_history(space, lambda p: sum((v - 0.5) ** 2 for v in p.values()), points)
    current = _running(10)
    s = GPSampler(seed=0, n_startup_trials=10).sample(
        _history([*done, current]), current, space, np.random.default_rng(10)
    )
    assert "trust region 0.8" in s.reason and s.meta["trust_region"] == 0.8
    best = min(done, key=lambda t: t.values[0]).params
    # The box around the incumbent has sides of about 0.8: every coordinate stays within it.
    assert max(abs(s.params[n] - best[n]) for n in space) <= 0.8 * 3


def test_trust_region_side_follows_successes_and_failures():
    from hyperdial.samplers.gp import _trust_region as tr

    grow = tr.replay(np.array([5.0, 4.0, 3.0, 2.0, 1.0]), 2, 10)
    assert grow.length == pytest.approx(1.6)
    shrink = tr.replay(np.array([1.0] * 2 + [2.0] * 5), 2, 10)
    assert shrink.length == pytest.approx(0.4)
    restart = tr.replay(np.array([1.0] + [2.0] * 200), 1, 8)
    assert restart.restarts >= 1


# ------------------------------------------------------------------ determinism and caches
def test_caches_never_change_results():
    space = MIXED
    rng = np.random.default_rng(3)
    points = [{n: MIXED[n].cast(from_unit(d, rng.random())) for n, d in space.items()}
              for _ in range(8)]  # fmt: skip
    done = _grid_history(space, _mixed_objective, points)
    current = _running(8)
    history = _history([*done, current])
    used = GPSampler(seed=0, n_startup_trials=4)
    first = used.sample(history, current, space, np.random.default_rng(8))
    again = used.sample(history, current, space, np.random.default_rng(8))
    fresh = pickle.loads(pickle.dumps(used)).sample(
        history, current, space, np.random.default_rng(8)
    )
    assert dict(first.params) == dict(again.params) == dict(fresh.params)
    assert first.meta == again.meta == fresh.meta


def test_reused_hyperparameters_give_the_same_factor_with_or_without_cache():
    from hyperdial.samplers._math.gp import GPHyperparameters
    from hyperdial.samplers.gp import _model

    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    is_cat = np.zeros(3, dtype=bool)
    hyper = GPHyperparameters(np.array([0.3, 0.5, 0.9]), 1.2, 1e-3)
    warm = _model.FactorCache()
    _model.factor(X[:30], hyper, is_cat, 30, warm)
    cached = _model.factor(X, hyper, is_cat, 30, warm)
    cold = _model.factor(X, hyper, is_cat, 30, _model.FactorCache())
    assert np.array_equal(cached, cold)


# ------------------------------------------------------------------ behaviour
def _branin(t):
    x1, x2 = t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)
    b, c = 5.1 / (4 * np.pi**2), 5 / np.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10


def _quadratic4(t):
    x = np.array([t.suggest_float(f"x{i}", -3, 3) for i in range(4)])
    return float(np.sum((x - np.array([1.0, -0.5, 2.0, 0.0])) ** 2))


@pytest.mark.slow
@pytest.mark.parametrize("objective", [_branin, _quadratic4], ids=["branin", "quadratic4"])
def test_gp_beats_random_search(objective):
    best = {"gp": [], "random": []}
    for seed in range(3):
        for label, sampler in (
            ("gp", GPSampler(seed=seed)),
            ("random", RandomSampler(seed=seed)),
        ):
            study = hyperdial.create_study(sampler=sampler)
            study.optimize(objective, n_trials=30)
            best[label].append(study.best_value)
    assert np.mean(best["gp"]) < 0.5 * np.mean(best["random"])


# ------------------------------------------------------------------ multi-fidelity
def _curve(number, x, final, last=27, state=TrialState.COMPLETE):
    """A trial on LINE that reported ``final + 1 / step`` at steps 1, 3, 9, 27 up to ``last``."""
    steps = [s for s in (1, 3, 9, 27) if s <= last]
    return dataclasses.replace(
        _done(number, {"x": x}, LINE, final),
        state=state,
        intermediate={s: final + 1.0 / s for s in steps},
        values=(float(final),) if state is TrialState.COMPLETE else None,
    )


def _slope_with_pruned_region():
    # Complete trials slope down towards x = 0; every trial below x = 0.35 was pruned at
    # step 1 or 3 with values far worse than the complete trials had there.
    trials = [_curve(i, x, x) for i, x in enumerate((0.5, 0.65, 0.8, 0.95))]
    for j, x in enumerate((0.02, 0.1, 0.18, 0.26, 0.34)):
        pruned = _curve(4 + j, x, 2.5, last=3, state=TrialState.PRUNED)
        trials.append(pruned)
    return trials


def test_early_stopped_trials_teach_the_model_where_not_to_go():
    trials = _slope_with_pruned_region()
    current = _running(len(trials))
    history = _history([*trials, current])
    proposals = {}
    for mf in (False, None):
        sampler = GPSampler(seed=0, n_startup_trials=4, multi_fidelity=mf)
        proposals[mf] = sampler.sample(history, current, LINE, np.random.default_rng(0))
    # Complete trials only: the slope points into the pruned region.
    assert proposals[False].params["x"] < 0.35
    assert proposals[False].meta["fidelity_top"] is None
    # With the resource as an input, the values the pruned trials had at steps 1 and 3,
    # against those of the complete trials there, show the region is bad.
    s = proposals[None]
    assert s.params["x"] > 0.4 and set(s.params) == {"x"}
    assert s.meta["fidelity_top"] == 27
    # 4 complete trials at 4 steps each, 5 pruned ones at 2 steps: 26 observations.
    assert s.meta["n_train"] == 26
    assert "22 of 26 observations at smaller resources" in s.reason


def test_with_early_stopped_trials_the_incumbent_is_a_complete_one():
    trials = _slope_with_pruned_region()
    # A trial pruned at step 3 with a value below every complete trial's final one.
    trials.append(dataclasses.replace(_curve(9, 0.4, 0.01, last=3, state=TrialState.PRUNED)))
    current = _running(10)
    s = GPSampler(seed=0, n_startup_trials=4).sample(
        _history([*trials, current]), current, LINE, np.random.default_rng(0)
    )
    assert s.meta["fidelity_top"] == 27
    assert s.meta["incumbent_trial"] in {0, 1, 2, 3}


def test_without_early_stopped_trials_the_resource_is_not_modelled():
    trials = [_curve(i, x, (x - 0.3) ** 2) for i, x in enumerate((0.0, 0.5, 0.8, 1.0))]
    current = _running(4)
    history = _history([*trials, current])
    a, b = (
        GPSampler(seed=0, n_startup_trials=4, multi_fidelity=mf).sample(
            history, current, LINE, np.random.default_rng(0)
        )
        for mf in (None, False)
    )
    assert a.meta["fidelity_top"] is None and a.params == b.params


def test_values_reported_as_one_element_sequences_are_modelled():
    trials = _slope_with_pruned_region()
    trials[4] = dataclasses.replace(trials[4], intermediate={1: (3.5,), 3: (3.1,)})
    current = _running(len(trials))
    s = GPSampler(seed=0, n_startup_trials=4).sample(
        _history([*trials, current]), current, LINE, np.random.default_rng(0)
    )
    assert s.meta["n_train"] == 26


def test_trials_that_stopped_on_their_own_are_at_the_full_resource():
    # An objective with its own early stopping (patience) completes at various steps: its
    # final values are final, so nothing is at a smaller resource.
    trials = [
        _curve(i, x, (x - 0.3) ** 2, last=last)
        for i, (x, last) in enumerate(((0.0, 27), (0.5, 9), (0.8, 3), (1.0, 27)))
    ]
    current = _running(4)
    s = GPSampler(seed=0, n_startup_trials=4).sample(
        _history([*trials, current]), current, LINE, np.random.default_rng(0)
    )
    assert s.meta["phase"] == "model" and s.meta["fidelity_top"] is None
    # Launched by lineage at a smaller budget (a rung), a complete trial is at that rung.
    trials[1] = dataclasses.replace(trials[1], budget=9)
    s = GPSampler(seed=0, n_startup_trials=4).sample(
        _history([*trials, current]), current, LINE, np.random.default_rng(0)
    )
    assert s.meta["fidelity_top"] == 27 and "at smaller resources" in s.reason


def test_a_pruned_configuration_is_not_proposed_again():
    # The completed trials slope down towards x = 0, where trials get pruned: left out of the
    # model, the pruned point would be proposed again and again.
    study = hyperdial.create_study(sampler=GPSampler(seed=0, n_startup_trials=0), seed=0)
    for x in (0.3, 0.45, 0.6, 0.75, 0.9):
        study.enqueue({"x": x})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    proposals = []
    for _ in range(4):
        trial = study.ask()
        proposals.append(trial.suggest_float("x", 0, 1))
        study.tell(trial, state=hyperdial.TrialState.PRUNED)
    gaps = [abs(a - b) for i, a in enumerate(proposals) for b in proposals[:i]]
    assert min(gaps) > 1e-3, proposals


def test_rows_cached_between_proposals_are_the_rows_encoded_afresh():
    from hyperdial.samplers.gp import _model
    from hyperdial.samplers.gp._encoding import Encoding
    from hyperdial.samplers.gp.sampler import _with_fidelity

    trials = _slope_with_pruned_region()
    current = _running(len(trials))
    history = _history([*trials, current])
    fidelity = _model.fidelity_of(history, "resource")
    enc = Encoding(_with_fidelity(LINE, "resource"))
    cache: dict = {}
    cold = _model.collect_fidelity(history, current, enc, fidelity, cache)
    assert len(cache) == len(trials)
    warm = _model.collect_fidelity(history, current, enc, fidelity, cache)
    fresh = _model.collect_fidelity(history, current, enc, fidelity)
    for data in (warm, fresh):
        np.testing.assert_array_equal(data.X, cold.X)
        np.testing.assert_array_equal(data.y, cold.y)
    # Each row is its trial's configuration at a resource the trial reported at.
    col = enc.index["resource"]
    for row, number in zip(cold.X, cold.numbers):
        t = history.by_number(int(number))
        levels = {fidelity.of(t)} | {fidelity.at(s) for s in t.intermediate}
        assert row[col] in levels
        np.testing.assert_array_equal(row, enc.encode({**t.params, "resource": row[col]}))


def test_hyperparameters_are_refitted_by_trials_observed_not_by_rows():
    # Under early stopping a trial gives several rows and the oldest low-resource rows are
    # dropped, so the row count can stand still while trials come in: the refit is due
    # after 5 newly observed trials whatever the rows do.
    from hyperdial.samplers.gp import _model

    rng = np.random.default_rng(0)
    X = rng.random((250, 2))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2
    is_cat = np.zeros(2, dtype=bool)
    first = _model.fit_model(
        X, y, is_cat, None, rng, _model.FactorCache(), deterministic=False, n_trials=100
    )
    assert first.refitted and first.fit_trials == 100
    previous = (first.posterior.hyper.theta, first.fit_n, first.fit_trials)
    for n_trials, refitted in ((100, False), (101, False), (104, False), (105, True)):
        fit = _model.fit_model(
            X, y, is_cat, previous, rng, _model.FactorCache(), deterministic=False,
            n_trials=n_trials,
        )  # fmt: skip
        assert fit.refitted is refitted, n_trials
        assert fit.fit_trials == (n_trials if refitted else 100)
    # One row per trial (complete trials only): the rows are the trials.
    fit = _model.fit_model(
        X[:-1], y[:-1], is_cat, (previous[0], 245, 245), rng, _model.FactorCache(),
        deterministic=False,
    )  # fmt: skip
    assert not fit.refitted and fit.fit_trials == 245


def test_the_refit_clock_counts_trials_whose_rows_were_left_out():
    from hyperdial.samplers.gp import _model
    from hyperdial.samplers.gp._encoding import Encoding
    from hyperdial.samplers.gp.sampler import _with_fidelity

    trials = [_curve(i, x, x) for i, x in enumerate((0.5, 0.65, 0.8, 0.95))]
    n_low = _model.LOW_FIDELITY_MAX + 20
    for j, x in enumerate(np.linspace(0, 1, n_low)):
        trials.append(_curve(4 + j, float(x), 2.0, last=1, state=TrialState.PRUNED))
    current = _running(len(trials))
    history = _history([*trials, current])
    fidelity = _model.fidelity_of(history, "resource")
    data = _model.collect_fidelity(
        history, current, Encoding(_with_fidelity(LINE, "resource")), fidelity
    )
    assert len(set(data.numbers.tolist())) < len(trials)  # the oldest pruned rows left out
    assert data.n_trials == len(trials)
