"""The public conformance suite every sampler (ours and plugins') must pass.

Example:
    A plugin tests its sampler with one factory fixture::

        import pytest
        from hyperdial.testing import SamplerConformance

        class TestMySampler(SamplerConformance):
            @pytest.fixture
            def make_sampler(self):
                return lambda seed=None: MySampler(seed=seed)
"""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pytest

import hyperdial
from hyperdial._types import Direction, ParamValue
from hyperdial.exceptions import HyperdialError, TrialPruned
from hyperdial.history import History
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.space import Categorical, Distribution, Float, Int, SearchSpace, from_unit
from hyperdial.trial import FrozenTrial, Trial, TrialState

__all__ = ["SamplerConformance"]

KINDS: dict[str, Distribution] = {
    "float": Float(-1.0, 2.0),
    "float_log": Float(1e-4, 1.0, log=True),
    "float_step": Float(0.0, 1.0, step=0.25),
    "int": Int(-3, 7),
    "int_log": Int(1, 1000, log=True),
    "int_step": Int(0, 12, step=4),
    "categorical": Categorical(("a", "b", "c")),
}
MIXED = Categorical((1, True, "1", None, 1.5))
CONDITIONAL = SearchSpace(
    {
        "kernel": Categorical(("linear", "rbf", "poly")),
        "gamma": Float(1e-3, 1.0, log=True),
        "degree": Int(2, 5),
        "coef": Float(0.0, 1.0),
    },
    conditions={
        "gamma": "kernel in [rbf, poly]",
        "degree": "kernel == poly",
        "coef": "degree >= 3",
    },
)
BRANCHES = SearchSpace(  # the superset of what the define-by-run objective asks for
    {
        "branch": Categorical(("small", "large")),
        "units": Int(1, 4),  # Int(1, 8) on odd trials: a range that changes between trials
        "dropout": Float(0.0, 0.5),
        "lr": Float(1e-4, 1e-1, log=True),
    }
)
PAIR = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
SEQUENCE = SearchSpace({**CONDITIONAL, **KINDS, "mixed": MIXED}, CONDITIONAL.conditions)
_N = 16


def _suggest(trial: Trial, name: str, dist: Distribution) -> ParamValue:
    """Ask through the public ``suggest_*`` methods, as an objective would."""
    if isinstance(dist, Categorical):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, Int):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _is_choice(dist: Categorical, value: object) -> bool:
    return any(type(value) is type(c) and value == c for c in dist.choices)


def _check_value(name: str, dist: Distribution, value: object) -> None:
    assert not isinstance(value, np.generic), f"{name}: numpy scalar {value!r}"
    if isinstance(dist, Categorical):
        assert _is_choice(dist, value), f"{name}: {value!r} is not one of {dist.choices!r}"
        return
    expected = int if isinstance(dist, Int) else float
    assert type(value) is expected, f"{name}: {value!r} is a {type(value).__name__}"
    assert dist.contains(value), f"{name}: {value!r} is not a legal value of {dist!r}"


def _branches(trial: Trial) -> float:
    branch = trial.suggest_categorical("branch", ["small", "large"])
    if branch == "small":
        trial.suggest_int("units", 1, 4 if trial.number % 2 == 0 else 8)
    else:
        trial.suggest_float("dropout", 0.0, 0.5)
    return trial.suggest_float("lr", 1e-4, 1e-1, log=True)


def _sequence_objective(trial: Trial) -> float:
    trial.suggest_space(CONDITIONAL)
    for name, dist in [*KINDS.items(), ("mixed", MIXED)]:
        _suggest(trial, name, dist)
    return float(trial.number % 3)


def _sequence(sampler: Sampler, n_trials: int = 8) -> str:
    """Return the parameters a fresh study with ``sampler`` draws, as type-exact JSON."""
    study = hyperdial.create_study(sampler=sampler)
    study.optimize(_sequence_objective, n_trials=n_trials)
    return json.dumps([sorted(t.params.items()) for t in study.trials])


def _study(sampler: Sampler, **kwargs: object) -> hyperdial.Study:
    return hyperdial.create_study(sampler=sampler, **kwargs)  # type: ignore[arg-type]


class _Boom(Exception):
    pass


class SamplerConformance:
    """Checks every sampler must pass; subclass it and provide ``make_sampler``.

    Fixtures a subclass provides:
        ``make_sampler`` (required): returns ``lambda seed=None: MySampler(seed=seed)``.
        ``make_sampler_for`` (optional): returns ``lambda space, seed=None: ...``, a sampler
        able to propose every parameter of ``space`` (a :class:`~hyperdial.SearchSpace`
        holding every parameter the check's objective asks for). The default ignores
        ``space`` and calls ``make_sampler``; a sampler that needs to know its parameters in
        advance, such as a grid, overrides it. Every check builds its samplers with it.

    Class attributes a subclass may set:
        ``skip_checks``: test name to the reason it cannot apply, e.g.
        ``{"test_reseed_diverges": "the order does not depend on the seed"}``.

    The seed checks create studies without a seed of their own, so the study derives its
    generators from the sampler's seed; the sampler's seed alone must fix the sequence.

    The fresh-process check starts a new interpreter and is marked ``slow``; register the
    marker (``markers = ["slow: ..."]``) if your pytest runs with ``--strict-markers``.

    Example:
        See the module docstring.
    """

    skip_checks: ClassVar[dict[str, str]] = {}

    @pytest.fixture
    def make_sampler(self) -> Callable[..., Sampler]:
        """Return a factory ``seed -> sampler`` (subclasses must override)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a make_sampler fixture returning "
            "lambda seed=None: MySampler(seed=seed)."
        )

    @pytest.fixture
    def make_sampler_for(self, make_sampler: Callable[..., Sampler]) -> Callable[..., Sampler]:
        """Return a factory ``(space, seed) -> sampler`` (default: ignores ``space``)."""
        return lambda space, seed=None: make_sampler(seed=seed)

    @pytest.fixture(autouse=True)
    def _skip_declared(self, request: pytest.FixtureRequest) -> None:
        reason = self.skip_checks.get(request.function.__name__)
        if reason is not None:
            pytest.skip(f"{type(self).__name__}.skip_checks: {reason}")

    def test_skip_checks_name_existing_checks(self) -> None:
        unknown = set(self.skip_checks) - {n for n in dir(self) if n.startswith("test_")}
        assert not unknown, f"skip_checks names no check: {sorted(unknown)}"

    @pytest.mark.parametrize("declared", [False, True], ids=["define-by-run", "suggest_space"])
    @pytest.mark.parametrize("kind", list(KINDS))
    def test_values_are_legal_python_scalars(
        self, make_sampler_for: Callable[..., Sampler], kind: str, declared: bool
    ) -> None:
        dist = KINDS[kind]
        space = SearchSpace({kind: dist})

        def objective(trial: Trial) -> float:
            value = trial.suggest_space(space)[kind] if declared else _suggest(trial, kind, dist)
            _check_value(kind, dist, value)
            return 0.0 if value is None or isinstance(value, str) else float(value)

        study = _study(make_sampler_for(space, seed=0))
        study.optimize(objective, n_trials=_N)
        assert study.trials, "no trial ran"
        for t in study.trials:
            assert t.state is TrialState.COMPLETE, t.error
            _check_value(kind, dist, t.params[kind])

    def test_sample_returns_legal_python_scalars(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        space = SearchSpace({**KINDS, "mixed": MIXED})
        sampler = make_sampler_for(space, seed=0)
        done = [
            FrozenTrial(
                trial_id=i,
                number=i,
                state=TrialState.COMPLETE,
                params={n: from_unit(d, (i + 0.5) / 4) for n, d in space.items()},
                distributions=dict(space),
                values=(float(i),),
            )
            for i in range(4)
        ]
        current = FrozenTrial(trial_id=4, number=4, state=TrialState.RUNNING)
        history = History((Direction.MINIMIZE,), (*done, current))
        rng = np.random.default_rng([0, 4])
        suggestion = sampler.sample(history, current, space, rng)
        assert isinstance(suggestion, Suggestion)
        assert isinstance(suggestion.reason, str)
        json.dumps(dict(suggestion.meta))  # the meta must be JSON
        for name, value in suggestion.params.items():
            assert name in space, f"the suggestion has {name!r}, not in the space"
            _check_value(name, space[name], value)
        for name, dist in space.items():
            _check_value(name, dist, sampler.sample_one(history, current, name, dist, rng))

    @pytest.mark.parametrize("declared", [False, True], ids=["define-by-run", "suggest_space"])
    def test_categorical_types_are_preserved(
        self, make_sampler_for: Callable[..., Sampler], declared: bool
    ) -> None:
        space = SearchSpace({"mixed": MIXED})
        seen: list[ParamValue] = []

        def objective(trial: Trial) -> float:
            value = (
                trial.suggest_space(space)["mixed"]
                if declared
                else _suggest(trial, "mixed", MIXED)
            )
            _check_value("mixed", MIXED, value)
            seen.append(value)
            return 0.0

        study = _study(make_sampler_for(space, seed=0))
        study.optimize(objective, n_trials=20)
        for t, value in zip(study.trials, seen):
            _check_value("mixed", MIXED, t.params["mixed"])
            assert json.dumps(t.params["mixed"]) == json.dumps(value)
        assert len({json.dumps(v) for v in seen}) >= 2, f"always {seen[0]!r} in 20 trials"

    def test_declared_conditional_space(self, make_sampler_for: Callable[..., Sampler]) -> None:
        study = _study(make_sampler_for(CONDITIONAL, seed=0))
        study.optimize(lambda t: float(len(t.suggest_space(CONDITIONAL))), n_trials=_N)
        for t in study.trials:
            assert t.state is TrialState.COMPLETE, t.error
            assert list(t.params) == CONDITIONAL.active_names(t.params)
            for name, value in t.params.items():
                _check_value(name, CONDITIONAL[name], value)

    def test_define_by_run_branches_and_changing_ranges(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        study = _study(make_sampler_for(BRANCHES, seed=0))
        study.optimize(_branches, n_trials=_N)
        for t in study.trials:
            assert t.state is TrialState.COMPLETE, t.error
            extra = "units" if t.params["branch"] == "small" else "dropout"
            assert set(t.params) == {"branch", extra, "lr"}
            for name, value in t.params.items():
                _check_value(name, t.distributions[name], value)

    def test_parameters_are_not_drawn_in_lockstep(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        study = _study(make_sampler_for(PAIR, seed=0))
        study.optimize(
            lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=12
        )
        pairs = [(t.params["x"], t.params["y"]) for t in study.trials]
        assert any(x != y for x, y in pairs), "x and y were always equal"
        assert len(set(pairs)) > 1, "every trial drew the same point"

    def test_same_seed_same_sequence(self, make_sampler_for: Callable[..., Sampler]) -> None:
        first = _sequence(make_sampler_for(SEQUENCE, seed=3))
        assert first == _sequence(make_sampler_for(SEQUENCE, seed=3))

    @pytest.mark.slow  # a new interpreter imports numpy (and scipy): about a second
    def test_same_seed_same_sequence_in_a_fresh_process(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        sampler = make_sampler_for(SEQUENCE, seed=3)
        payload = pickle.dumps(sampler)
        code = (
            "import pickle, sys\n"
            "from hyperdial.testing.sampler import _sequence\n"
            "print(_sequence(pickle.loads(sys.stdin.buffer.read())))\n"
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        env["PYTHONHASHSEED"] = "random"  # str hashes must not leak into the sequence
        child = subprocess.run(
            [sys.executable, "-c", code], input=payload, capture_output=True, env=env, timeout=60
        )
        assert child.returncode == 0, child.stderr.decode()
        assert child.stdout.decode().strip() == _sequence(pickle.loads(payload))

    def test_reseed_diverges(self, make_sampler_for: Callable[..., Sampler]) -> None:
        sampler = make_sampler_for(SEQUENCE, seed=1)
        other = sampler.reseed(2)
        assert type(other) is type(sampler) and other.seed == 2 and sampler.seed == 1
        assert _sequence(sampler) != _sequence(other)

    def test_failed_pruned_nan_and_running_trials_are_tolerated(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        study = _study(make_sampler_for(BRANCHES, seed=0))
        left_running = study.ask()
        _branches(left_running)
        told = study.ask()
        _branches(told)
        study.tell(told, state=TrialState.FAILED)

        def objective(trial: Trial) -> float:
            value = _branches(trial)
            kind = trial.number % 4
            if kind == 1:
                raise _Boom("the objective crashed")
            if kind == 2:
                trial.report(value, 0)
                raise TrialPruned
            return math.nan if kind == 3 else value

        study.optimize(objective, n_trials=_N, catch=(_Boom,))
        states = {t.state for t in study.trials}
        assert {TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED} <= states
        assert study.trials[0].state is TrialState.RUNNING
        study.optimize(lambda t: float(len(t.suggest_space(BRANCHES))), n_trials=2)
        assert all(t.state is TrialState.COMPLETE for t in study.trials[-2:])

    def test_multi_objective_support_is_declared(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        sampler = make_sampler_for(PAIR, seed=0)
        directions = ["minimize", "maximize"]
        if not sampler.supports_multi_objective:
            with pytest.raises(HyperdialError, match=type(sampler).__name__):
                _study(sampler, directions=directions)
            return
        study = _study(sampler, directions=directions)
        study.optimize(
            lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=_N
        )
        assert all(t.state is TrialState.COMPLETE for t in study.trials)
        assert study.best_trials

    def test_pickle_round_trip(self, make_sampler_for: Callable[..., Sampler]) -> None:
        sampler = make_sampler_for(SEQUENCE, seed=4)
        clone = pickle.loads(pickle.dumps(sampler))
        assert type(clone) is type(sampler) and clone.seed == sampler.seed
        expected = _sequence(clone)
        assert _sequence(sampler) == expected
        used = pickle.loads(pickle.dumps(sampler))  # with whatever it cached
        assert _sequence(used) == expected

    def test_enqueued_and_fixed_params_are_respected(
        self, make_sampler_for: Callable[..., Sampler]
    ) -> None:
        study = _study(make_sampler_for(SearchSpace({**PAIR, **CONDITIONAL}), seed=0))
        study.enqueue({"x": 0.3})
        study.enqueue({"x": 0.7, "y": 0.1})
        study.enqueue({"kernel": "poly", "degree": 4})

        def objective(trial: Trial) -> float:
            x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
            return x + y + len(trial.suggest_space(CONDITIONAL))

        study.optimize(objective, n_trials=6)
        trials = study.trials
        assert all(t.state is TrialState.COMPLETE for t in trials), [t.error for t in trials]
        assert trials[0].params["x"] == 0.3
        assert (trials[1].params["x"], trials[1].params["y"]) == (0.7, 0.1)
        assert trials[2].params["kernel"] == "poly" and trials[2].params["degree"] == 4
        assert "gamma" in trials[2].params and "coef" in trials[2].params
        for t in trials:
            for name, value in t.params.items():
                _check_value(name, t.distributions[name], value)
        fixed = study.ask({"y": 0.25})
        assert fixed.suggest_float("y", 0, 1) == 0.25
        _check_value("x", PAIR["x"], fixed.suggest_float("x", 0, 1))
