"""CMA-ES: adapt a multivariate normal search distribution from ranked generations."""

from __future__ import annotations

import json
import math
import numbers
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers._math import cma
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.samplers.random import RandomSampler
from hyperdial.space import Categorical, Distribution, Float, Int, SearchSpace, from_unit, to_unit
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["CmaEsSampler"]

_OWNER = "CmaEsSampler"
_STRATEGIES = (None, "ipop", "bipop")
_FINISHED = (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)
_MAX_RESAMPLES = 100  # draws per candidate until one lies in the unit cube; then clip
_MAX_CACHED_RUNS = 16
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Dims:
    """The numeric, always-active parameters CMA-ES models, in the order of the space."""

    names: tuple[str, ...]
    dists: tuple[Float | Int, ...]
    key: int  # identifies names and distributions (defaults included) across processes

    @classmethod
    def of(cls, space: SearchSpace) -> _Dims:
        pairs = [
            (name, dist)
            for name, dist in space.items()
            if not isinstance(dist, Categorical) and name not in space.conditions
        ]
        text = json.dumps([[n, d.to_json()] for n, d in pairs], sort_keys=True)
        return cls(
            tuple(n for n, _ in pairs),
            tuple(d for _, d in pairs),
            zlib.crc32(text.encode("utf-8")),
        )

    def is_discrete(self) -> np.ndarray:
        return np.array([isinstance(d, Int) or d.step is not None for d in self.dists])


@dataclass(frozen=True)
class _Run:
    """The replayed state: the current run of CMA-ES and what the restarts need."""

    restart: int
    regime: str  # "initial", "large" or "small"
    params: cma.StrategyParams
    state: cma.CmaState
    best: tuple[float, ...]  # the best value of each generation of this run
    evals_large: int  # evaluations spent in the initial run and large-population restarts
    evals_small: int
    n_large: int  # large-population restarts so far
    stopped: str | None  # why the previous run ended


class CmaEsSampler(Sampler):
    """Covariance Matrix Adaptation Evolution Strategy for float and integer parameters.

    Each generation draws ``popsize`` candidates from ``N(m, sigma^2 C)`` in the unit cube of
    the numeric parameters (:func:`~hyperdial.space.to_unit`, so log scales are handled by the
    map); once all have finished, the mean moves to a weighted mean of the better half, and
    ``C`` and ``sigma`` learn from the ranked steps (Hansen, 2016, "The CMA Evolution
    Strategy: A Tutorial", arXiv:1604.00772; default weights with active negative updates).

    Details:
        * Start: the mean is the distributions' ``default`` values where given (an expert's
          guess), else the centre of the range; ``sigma0`` is a share of the unit range.
        * Bounds: a candidate outside the cube is redrawn (up to 100 times, then clipped).
        * Integers and stepped floats: candidates are rounded to the grid by the map; the
          update uses the unrounded vector. A margin keeps the probability of leaving the
          mean's cell at least ``1 / (n popsize)`` per coordinate, so the search never
          freezes on a grid point (simplified from Hamano et al., 2022, "CMA-ES with
          Margin", arXiv:2205.13482: the sampling scale is widened, the mean is not moved).
        * Restarts: a run ends when the distribution collapses (every coordinate's spread
          below 1e-6), the best values stall (range below 1e-12 over ``10 + 30 n / popsize``
          generations) or ``C`` is ill-conditioned (1e14). ``"ipop"`` restarts at a random
          mean with the population doubled (Auger and Hansen, 2005, "A Restart CMA Evolution
          Strategy With Increasing Population Size", CEC); ``"bipop"`` alternates those with
          small-population runs with a random smaller ``sigma`` so both regimes get a similar
          budget (Hansen, 2009, "Benchmarking a BI-Population CMA-ES on the BBOB-2009
          Function Testbed", GECCO). ``None`` never restarts.
        * FAILED and PRUNED trials, and NaN values, rank as the worst of their generation.
        * Other parameters (categorical ones, conditional ones, and in define-by-run studies
          those not in every completed trial) are drawn by ``independent_sampler``; the
          trial's reason names them.

    State: every trial stores its restart, generation, candidate index and the unrounded
    unit-cube vector in ``sampler_meta``; the sampler rebuilds mean, covariance and paths by
    replaying the completed generations of the history, so workers agree without sharing
    memory. A generation is complete when ``popsize`` of its trials have finished; the first
    ``popsize`` to finish are used. Workers asking while it is incomplete get further
    candidates of it (past ``popsize`` when all are out). Candidate ``k`` of generation ``g``
    of restart ``r`` is drawn from ``default_rng([seed, r, g, k, number])``: the trial number
    keeps two workers that ask at once from drawing the same point. Without a seed, the first
    CMA-ES trial draws a stream seed from its generator and stores it for the others.
    Replayed generations are cached in memory; the cache never changes results.

    Args:
        sigma0: The initial step size, as a share of each parameter's unit range.
        popsize: Candidates per generation (``None``: ``4 + floor(3 ln n)``).
        restart_strategy: ``None``, ``"ipop"`` or ``"bipop"``.
        with_margin: Keep discrete coordinates moving with the margin.
        independent_sampler: Draws the parameters outside the numeric joint space
            (default: ``RandomSampler`` with the same seed).
        seed: Fixes the suggestions.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers.cmaes import CmaEsSampler
        >>> study = hyperdial.create_study(sampler=CmaEsSampler(seed=0))
        >>> def objective(trial):
        ...     x, y = trial.suggest_float("x", -5, 5), trial.suggest_int("y", -5, 5)
        ...     return (x - 1) ** 2 + (y + 2) ** 2
        >>> study.optimize(objective, n_trials=80)
        >>> study.best_value < 0.5
        True
        >>> study.trials[-1].reason.startswith("CMA-ES generation")
        True
    """

    supports_multi_objective = False

    _caches = ("_runs",)

    def __init__(
        self,
        *,
        sigma0: float = 1 / 6,
        popsize: int | None = None,
        restart_strategy: str | None = None,
        with_margin: bool = True,
        independent_sampler: Sampler | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        ok = isinstance(sigma0, numbers.Real) and not isinstance(sigma0, bool)
        if not (ok and 0 < float(sigma0) <= 1):
            raise InvalidValueError(f"{_OWNER}: sigma0 must be a float in (0, 1]; got {sigma0!r}.")
        self.sigma0 = float(sigma0)
        if popsize is not None and (
            isinstance(popsize, bool) or not isinstance(popsize, numbers.Integral) or popsize < 2
        ):
            raise InvalidValueError(
                f"{_OWNER}: popsize must be an int >= 2 or None; got {popsize!r}."
            )
        self.popsize = None if popsize is None else int(popsize)
        if restart_strategy not in _STRATEGIES:
            raise InvalidValueError(
                f"{_OWNER}: restart_strategy must be None, 'ipop' or 'bipop'; "
                f"got {restart_strategy!r}."
            )
        self.restart_strategy = restart_strategy
        if not isinstance(with_margin, bool):
            raise InvalidValueError(f"{_OWNER}: with_margin must be a bool; got {with_margin!r}.")
        self.with_margin = with_margin
        if independent_sampler is not None and not isinstance(independent_sampler, Sampler):
            raise TypeError(
                f"{_OWNER}: independent_sampler must be a Sampler or None; "
                f"got {type(independent_sampler).__name__}."
            )
        self._default_independent = independent_sampler is None
        self.independent_sampler = independent_sampler or RandomSampler(seed=self.seed)
        self._init_caches()

    def _init_caches(self) -> None:
        # (space key, stream) -> [(signature of a generation's trials, run after it), ...].
        # A run is reused only when every generation before it matched too.
        self._runs: dict[tuple[int, int], list[tuple[tuple[object, ...], _Run]]] = {}

    def __repr__(self) -> str:
        return (
            f"CmaEsSampler(sigma0={self.sigma0!r}, popsize={self.popsize!r}, "
            f"restart_strategy={self.restart_strategy!r}, seed={self.seed!r})"
        )

    def reseed(self, seed: int | None) -> CmaEsSampler:
        """Return a copy with another seed (the default independent sampler follows it)."""
        clone = CmaEsSampler(
            sigma0=self.sigma0,
            popsize=self.popsize,
            restart_strategy=self.restart_strategy,
            with_margin=self.with_margin,
            independent_sampler=None
            if self._default_independent
            else self.independent_sampler.reseed(seed),
            seed=seed,
        )
        return clone

    # ------------------------------------------------------------------ the contract
    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Propose the active, unfixed parameters of ``space`` for ``trial``."""
        known: dict[str, ParamValue] = {**trial.params, **trial.fixed_params}
        dims = _Dims.of(space)
        if all(n in known for n in dims.names):
            dims = _Dims((), (), 0)
        joint: dict[str, ParamValue] = {}
        reason, meta = "", dict[str, JSON]()
        if dims.names:
            joint, reason, meta = self._candidate(history, trial, dims, known, rng)
        params: dict[str, ParamValue] = {}
        independent = []
        for name, dist in space.items():
            if name in known or not space.is_active(name, known):
                continue
            if name in joint:
                value = joint[name]
            else:
                value = self.independent_sampler.sample_one(history, trial, name, dist, rng)
                independent.append(name)
            params[name] = known[name] = value
        if independent:
            label = type(self.independent_sampler).__name__
            parts = [reason] if reason else []
            parts.append(f"independent draws ({label}): {', '.join(independent)}")
            reason = "; ".join(parts)
        return Suggestion(params, reason, meta)

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Draw ``name`` with the independent sampler."""
        return self.independent_sampler.sample_one(history, trial, name, dist, rng)

    # ------------------------------------------------------------------ candidates
    def _candidate(
        self,
        history: History,
        trial: FrozenTrial,
        dims: _Dims,
        known: Mapping[str, ParamValue],
        rng: np.random.Generator,
    ) -> tuple[dict[str, ParamValue], str, dict[str, JSON]]:
        stream = self._stream(history, dims, rng)
        run = self._replay(history, dims, stream)
        generation = run.state.generation
        index = sum(
            1
            for t in history.trials
            if t.number != trial.number and _tag(t, dims, stream) == (run.restart, generation)
        )
        draw = np.random.default_rng([stream, run.restart, generation, index, trial.number])
        for _ in range(_MAX_RESAMPLES):
            x = cma.sample(run.state, draw.standard_normal(len(dims.names)))
            if np.all((x >= 0) & (x <= 1)):
                break
        else:
            x = np.clip(x, 0.0, 1.0)
        values: dict[str, ParamValue] = {}
        for j, (name, dist) in enumerate(zip(dims.names, dims.dists)):
            if name in known and dist.contains(known[name]):
                x[j] = to_unit(dist, dist.cast(known[name]))
            values[name] = from_unit(dist, float(x[j]))
        popsize = run.params.popsize
        reason = f"CMA-ES generation {generation + 1}, candidate {index + 1} of {popsize}"
        if run.restart:
            label = "IPOP" if self.restart_strategy == "ipop" else f"BIPOP {run.regime}"
            reason += f" (restart {run.restart}, {label} popsize {popsize})"
        reason += f"; sigma {run.state.sigma:.3g}"
        if run.stopped is not None and generation == 0:
            reason += f"; the previous run stopped on {run.stopped}"
        meta: dict[str, JSON] = {
            "space": dims.key,
            "stream": stream,
            "restart": run.restart,
            "generation": generation,
            "index": index,
            "popsize": popsize,
            "regime": run.regime,
            "sigma": float(run.state.sigma),
            "x": [float(v) for v in x],
        }
        return values, reason, meta

    def _stream(self, history: History, dims: _Dims, rng: np.random.Generator) -> int:
        if self.seed is not None:
            return self.seed
        for t in history.trials:  # the first CMA-ES trial of this space fixes the stream
            meta = t.sampler_meta
            if meta.get("space") == dims.key and isinstance(meta.get("stream"), int):
                return int(meta["stream"])
        return int(rng.integers(2**63))

    # ------------------------------------------------------------------ replay
    def _replay(self, history: History, dims: _Dims, stream: int) -> _Run:
        """Return the run after the completed generations of ``history``, in order."""
        finished: dict[tuple[int, int], list[FrozenTrial]] = {}
        for t in history.trials:
            tag = _tag(t, dims, stream)
            if tag is not None and t.state in _FINISHED:
                finished.setdefault(tag, []).append(t)
        sign = -1.0 if history.directions[0] is Direction.MAXIMIZE else 1.0
        cached = self._runs.get((dims.key, stream), [])
        checkpoints: list[tuple[tuple[object, ...], _Run]] = []
        run = self._first_run(dims)
        while True:
            members = finished.get((run.restart, run.state.generation), [])
            if len(members) < run.params.popsize:
                break
            members = sorted(members, key=_finish_order)[: run.params.popsize]
            values = np.array([_value(t, sign) for t in members])
            signature = (values.tobytes(), *(_signature(t, dims) for t in members))
            k = len(checkpoints)
            if k < len(cached) and cached[k][0] == signature:
                run = cached[k][1]
            else:
                cached = []
                xs = np.array([_evaluated(t, dims) for t in members])
                run = self._advance(run, dims, stream, xs, values)
            checkpoints.append((signature, run))
        if len(self._runs) >= _MAX_CACHED_RUNS:
            self._runs = {}
        self._runs = {**self._runs, (dims.key, stream): checkpoints}  # replaced, never mutated
        return run

    def _first_run(self, dims: _Dims) -> _Run:
        mean = np.array([0.5 if d.default is None else to_unit(d, d.default) for d in dims.dists])
        popsize = self.popsize or cma.default_popsize(len(mean))
        return _Run(
            restart=0,
            regime="initial",
            params=cma.strategy_params(len(mean), popsize),
            state=cma.initial_state(mean, self.sigma0),
            best=(),
            evals_large=0,
            evals_small=0,
            n_large=0,
            stopped=None,
        )

    def _advance(
        self, run: _Run, dims: _Dims, stream: int, xs: np.ndarray, values: np.ndarray
    ) -> _Run:
        """Return the run after one complete generation (or the next run, on a restart)."""
        state = cma.update(run.state, run.params, xs, values)
        discrete = dims.is_discrete()
        if self.with_margin and discrete.any():
            low, high = _cells(dims, state.mean)
            alpha = 1 / (len(dims.names) * run.params.popsize)
            state = cma.margin_scale(state, low, high, alpha)
        finite = values[np.isfinite(values)]
        best = run.best + (float(finite.min()) if len(finite) else math.inf,)
        evals = run.params.popsize
        run = replace(
            run,
            state=state,
            best=best,
            evals_large=run.evals_large + (evals if run.regime != "small" else 0),
            evals_small=run.evals_small + (evals if run.regime == "small" else 0),
        )
        if self.restart_strategy is None:
            return run
        stop = cma.stop_reason(state, run.params, np.array(best), finite)
        return run if stop is None else self._restart(run, dims, stream, stop)

    def _restart(self, run: _Run, dims: _Dims, stream: int, stop: str) -> _Run:
        n = len(dims.names)
        restart = run.restart + 1
        draw = np.random.default_rng([stream, restart])
        mean = draw.random(n)
        u_popsize, u_sigma = draw.random(2)
        base = self.popsize or cma.default_popsize(n)
        small = (
            self.restart_strategy == "bipop"
            and run.n_large >= 1
            and run.evals_small < run.evals_large
        )
        n_large = run.n_large + (0 if small else 1)
        sigma = self.sigma0
        if small:
            ratio = 2.0**run.n_large / 2
            popsize = max(2, int(math.floor(base * ratio ** (u_popsize**2))))
            sigma = self.sigma0 * 10 ** (-2 * u_sigma)
        else:
            popsize = base * 2**n_large
        return replace(
            run,
            restart=restart,
            regime="small" if small else "large",
            params=cma.strategy_params(n, popsize),
            state=cma.initial_state(mean, sigma),
            best=(),
            n_large=n_large,
            stopped=stop,
        )


def _tag(trial: FrozenTrial, dims: _Dims, stream: int) -> tuple[int, int] | None:
    """Return ``(restart, generation)`` of a CMA-ES candidate of this space and stream."""
    meta = trial.sampler_meta
    if meta.get("space") != dims.key or meta.get("stream") != stream:
        return None
    restart, generation, x = meta.get("restart"), meta.get("generation"), meta.get("x")
    if not isinstance(restart, int) or not isinstance(generation, int):
        return None
    if not isinstance(x, list) or len(x) != len(dims.names):
        return None
    return restart, generation


def _finish_order(trial: FrozenTrial) -> tuple[datetime, int]:
    finished = trial.finished_at or _EPOCH
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=timezone.utc)
    return finished, trial.number


def _signature(trial: FrozenTrial, dims: _Dims) -> tuple[object, ...]:
    """Return what :func:`_evaluated` and the rank of ``trial`` depend on, cheaply."""
    return (
        trial.number,
        tuple(trial.sampler_meta["x"]),  # a list: checked by _tag
        tuple((type(v), v) for v in (trial.params.get(n) for n in dims.names)),
        tuple(trial.distributions.get(n) == d for n, d in zip(dims.names, dims.dists)),
    )


def _evaluated(trial: FrozenTrial, dims: _Dims) -> np.ndarray:
    """Return the unit-cube vector of ``trial``: its stored ``x``, where its params agree."""
    x = np.array(trial.sampler_meta["x"], dtype=float)
    for j, (name, dist) in enumerate(zip(dims.names, dims.dists)):
        value = trial.params.get(name)
        if value is None or trial.distributions.get(name) != dist or not dist.contains(value):
            continue
        if from_unit(dist, float(x[j])) != dist.cast(value):  # an enqueued or fixed value
            x[j] = to_unit(dist, dist.cast(value))
    return x


def _value(trial: FrozenTrial, sign: float) -> float:
    """Return the minimised value; FAILED, PRUNED and NaN rank last (``inf``)."""
    if trial.state is not TrialState.COMPLETE or not trial.values:
        return math.inf
    value = sign * float(trial.values[0])
    return math.inf if math.isnan(value) else value


def _cells(dims: _Dims, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the unit-cube edges of the grid cell holding ``mean``, NaN at the range's ends."""
    low = np.full(len(mean), np.nan)
    high = np.full(len(mean), np.nan)
    for j, dist in enumerate(dims.dists):
        u = min(max(float(mean[j]), 0.0), 1.0)
        if isinstance(dist, Int) and dist.log:
            v = int(from_unit(dist, u))  # type: ignore[arg-type]
            lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            if v > dist.low:
                low[j] = (math.log(v - 0.5) - lo) / (hi - lo)
            if v < dist.high:
                high[j] = (math.log(v + 0.5) - lo) / (hi - lo)
        elif isinstance(dist, Int) or dist.step is not None:
            n = int(dist.n_grid or 1)
            k = min(int(u * n), n - 1)
            if k > 0:
                low[j] = k / n
            if k < n - 1:
                high[j] = (k + 1) / n
    return low, high
