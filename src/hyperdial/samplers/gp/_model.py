"""The GP sampler's model step: data from the history, the fit schedule and the factor cache.

Everything here is a function of the history (and of the sampler's options): hyperparameters
are warm-started from the fit another trial stored in its ``sampler_meta``, and the factor
cache only skips work whose result would be bit-for-bit the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial.history import History
from hyperdial.samplers._math.gp import (
    N_EXTRA,
    GPHyperparameters,
    GPPosterior,
    HyperPrior,
    cholesky,
    condition,
    covariance,
    default_theta,
    extend_cholesky,
    fit_hyperparameters,
)
from hyperdial.samplers.gp._encoding import Encoding
from hyperdial.space import SearchSpace
from hyperdial.trial import FrozenTrial, TrialState

__all__ = [
    "Data",
    "Fidelity",
    "FactorCache",
    "Fit",
    "collect",
    "collect_fidelity",
    "fidelity_of",
    "fit_model",
    "single_threaded_blas",
    "space_key",
]

#: Up to this many observations the hyperparameters are refitted at every suggestion.
REFIT_ALWAYS = 200
#: Most observations the hyperparameters are fitted on (see :func:`fit_subset`).
FIT_SIZE = 300
#: Ratio between the resources a trial's curve is read at (see :meth:`Fidelity.ladder`).
LADDER = 3
#: Most observations below the full resource the model keeps (highest resources first, then
#: the latest trials): they teach it where not to go, at a cost cubic in their number.
LOW_FIDELITY_MAX = 300


_controller: object = None
_controller_lock = threading.Lock()
_blas_users = 0  # blocks inside single_threaded_blas, across threads
_blas_limit: object = None  # the limit they share; restored when the last one leaves


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with one BLAS thread, when threadpoolctl is installed.

    The model's linear algebra is many small calls; on few cores, BLAS threads spinning up for
    each of them make a suggestion ten to twenty times slower than one thread does. The limit
    is process-wide, so it is shared by concurrent blocks (parallel workers' suggestions) and
    lifted only when the last one leaves: otherwise one worker finishing would hand another
    a multi-threaded BLAS mid-suggestion, whose rounding differs.
    """
    global _controller, _blas_users, _blas_limit
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional: only a speed-up
        yield
        return
    with _controller_lock:
        if _controller is None:
            _controller = ThreadpoolController()
        if _blas_users == 0:
            _blas_limit = _controller.limit(limits=1, user_api="blas")  # type: ignore[attr-defined]
        _blas_users += 1
    try:
        yield
    finally:
        with _controller_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()  # type: ignore[attr-defined]
                _blas_limit = None


def space_key(space: SearchSpace) -> str:
    """Return a short stable digest of a space (names, distributions, conditions)."""
    text = json.dumps(space.to_dict(), sort_keys=False, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Data:
    """Completed observations (minimised) and pending configurations, as design rows."""

    X: np.ndarray
    y: np.ndarray  # objective values, negated for maximisation, so lower is better
    numbers: np.ndarray
    pending: np.ndarray
    #: Rows observed at the full resource (``None``: all of them; see :func:`collect_fidelity`).
    full: np.ndarray | None = None
    #: Trials that gave observations, counting those whose rows were left out to bound the
    #: cost (:func:`collect_fidelity`): it only grows as trials finish (the refit clock).
    n_trials: int = 0


def collect(
    history: History,
    current: FrozenTrial,
    enc: Encoding,
    cache: dict[int, tuple[Mapping[str, ParamValue], np.ndarray | None]] | None = None,
) -> Data:
    """Return the rows of COMPLETE trials that have every active parameter, and pending rows.

    RUNNING trials other than ``current`` count as pending once all their active joint
    parameters are set; PRUNED and FAILED trials are ignored. ``cache`` maps trial numbers
    to the parameters and row seen for this encoding; a hit is used only if the parameters
    are the same (a sampler may serve several studies).
    """
    sign = -1.0 if history.directions[0] is Direction.MAXIMIZE else 1.0
    rows, ys, numbers = [], [], []
    for t in history.completed:
        if t.values is None or t.number == current.number:
            continue
        row = _row(t, enc, cache)
        if row is not None and math.isfinite(t.values[0]):
            rows.append(row)
            ys.append(sign * float(t.values[0]))
            numbers.append(t.number)
    return _data(history, current, enc, rows, ys, numbers)


def _data(
    history: History,
    current: FrozenTrial,
    enc: Encoding,
    rows: list[np.ndarray],
    ys: list[float],
    numbers: list[int],
    full: list[bool] | None = None,
    extra: Mapping[str, ParamValue] | None = None,
    n_trials: int | None = None,
) -> Data:
    """Return :class:`Data` of the observed rows and of RUNNING trials other than
    ``current`` (pending; ``extra`` values, e.g. the full fidelity, added to their params);
    ``n_trials`` defaults to the trials the rows come from."""
    pending = []
    for t in history.running:
        if t.number != current.number:
            row = enc.encode({**t.params, **extra} if extra else t.params)
            if row is not None:
                pending.append(row)
    dim = enc.dim
    return Data(
        np.array(rows, dtype=float).reshape(-1, dim),
        np.array(ys, dtype=float),
        np.array(numbers, dtype=int),
        np.array(pending, dtype=float).reshape(-1, dim),
        None if full is None else np.array(full, dtype=bool),
        len(set(numbers)) if n_trials is None else n_trials,
    )


@dataclass(frozen=True)
class Fidelity:
    """How far trials trained: the fidelity column's name and the full resource.

    A trial whose last report was at step ``s`` has fidelity ``log(1 + s) / log(1 + top)``,
    where ``top`` is the last step of the longest COMPLETE trial: 0 at step 0, 1 at ``top``.
    A COMPLETE trial is at fidelity 1 unless it was launched with a smaller budget (a rung
    of a lineage scheduler): one that stopped on its own (e.g. early stopping with patience
    in the objective) ended where it should.
    """

    name: str
    top: int

    def at(self, step: int) -> float:
        """Return the fidelity of a value reported at ``step``, in ``[0, 1]``."""
        return min(math.log1p(max(step, 0)) / math.log1p(self.top), 1.0)

    def of(self, t: FrozenTrial) -> float:
        """Return the fidelity of ``t``'s final value or last report (see the class)."""
        if not t.intermediate or (
            t.state is TrialState.COMPLETE and (t.budget is None or t.budget >= self.top)
        ):
            return 1.0
        return self.at(max(t.intermediate))

    def ladder(self) -> tuple[int, ...]:
        """Return the steps below ``top`` an observation is read at: ``top / 3**k``."""
        out = []
        level = self.top / LADDER
        while level >= 1:
            out.append(int(level))
            level /= LADDER
        return tuple(out)


def _scalar(value: float | tuple[float, ...]) -> float:
    """Return a reported value as one number (NaN, left out, if it holds several)."""
    if isinstance(value, tuple):
        return float(value[0]) if len(value) == 1 else math.nan
    return float(value)


def fidelity_of(history: History, name: str) -> Fidelity | None:
    """Return the fidelity of the history's trials, or ``None`` if there is no low fidelity.

    There is one when COMPLETE trials report intermediate values up to a step ``top >= 1``
    and some finished trial (PRUNED, or COMPLETE with a smaller budget) stopped below it.
    """
    top = -1
    for t in history.completed:
        if t.intermediate:
            top = max(top, max(t.intermediate))
    if top < 1:
        return None
    fidelity = Fidelity(name, int(top))
    for t in history.trials:
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.intermediate:
            if fidelity.of(t) < 1.0:
                return fidelity
    return None


def collect_fidelity(
    history: History,
    current: FrozenTrial,
    enc: Encoding,
    fidelity: Fidelity,
    cache: dict[int, tuple[Mapping[str, ParamValue], np.ndarray | None]] | None = None,
) -> Data:
    """Return rows of COMPLETE and PRUNED trials with their fidelity column, and pending rows.

    A COMPLETE trial is observed at its final value, a PRUNED one at its last reported value,
    each at the fidelity of its last report (:meth:`Fidelity.of`); both also at the steps of
    :meth:`Fidelity.ladder` below it (the last step reported up to each), so configurations
    seen at several resources tell the model how early values relate to final ones. RUNNING
    trials other than ``current`` are pending at the full fidelity. ``enc`` is the encoding
    of the space with the fidelity column ``fidelity.name`` (a float in ``[0, 1]``);
    ``cache`` is as in :func:`collect`, for this encoding (each trial's row at full fidelity:
    its other rows differ only in the fidelity column, which nothing else depends on).
    """
    sign = -1.0 if history.directions[0] is Direction.MAXIMIZE else 1.0
    rows, ys, numbers, full, us = [], [], [], [], []
    ladder = fidelity.ladder()
    col = enc.index[fidelity.name]
    for t in history.trials:
        if t.number == current.number:
            continue
        if t.state is TrialState.COMPLETE and t.values is not None:
            value = float(t.values[0])
        elif t.state is TrialState.PRUNED and t.intermediate:
            value = _scalar(t.intermediate[max(t.intermediate)])
        else:
            continue
        points = [(fidelity.of(t), value)]
        if t.intermediate:
            steps = sorted(t.intermediate)
            last = steps[-1]
            seen = {last}
            for level in ladder:
                below = [s for s in steps if s <= level]
                if below and below[-1] not in seen and below[-1] < last:
                    seen.add(below[-1])
                    points.append((fidelity.at(below[-1]), _scalar(t.intermediate[below[-1]])))
        top_row = _row(t, enc, cache, {fidelity.name: 1.0})
        if top_row is None:
            continue
        for k, (u, v) in enumerate(points):
            if not math.isfinite(v):
                continue
            row = top_row.copy()
            row[col] = enc.encode_value(col, u)
            rows.append(row)
            ys.append(sign * v)
            numbers.append(t.number)
            us.append(u)
            full.append(k == 0 and t.state is TrialState.COMPLETE and u >= 1.0)
    n_trials = len(set(numbers))
    keep = np.arange(len(rows))
    low = [i for i, f in enumerate(full) if not f]
    if len(low) > LOW_FIDELITY_MAX:  # the highest fidelities, then the latest trials
        chosen = sorted(range(len(low)), key=lambda j: (-us[low[j]], -numbers[low[j]]))
        dropped = {low[j] for j in chosen[LOW_FIDELITY_MAX:]}
        keep = np.array([i for i in range(len(rows)) if i not in dropped], dtype=int)
    return _data(
        history,
        current,
        enc,
        [rows[i] for i in keep],
        [ys[i] for i in keep],
        [numbers[i] for i in keep],
        [full[i] for i in keep],
        {fidelity.name: 1.0},
        n_trials,
    )


def _row(
    t: FrozenTrial,
    enc: Encoding,
    cache: dict[int, tuple[Mapping[str, ParamValue], np.ndarray | None]] | None,
    extra: Mapping[str, ParamValue] | None = None,
) -> np.ndarray | None:
    """Return the encoded row of a finished trial, through ``cache`` (see :func:`collect`);
    ``extra`` values (the same for every trial of this encoding) are added to its params."""
    hit = cache.get(t.number) if cache is not None else None
    if hit is not None and hit[0] == t.params:
        return hit[1]
    row = enc.encode({**t.params, **extra} if extra else t.params)
    if cache is not None:
        cache[t.number] = (t.params, row)
    return row


def count_pruned(
    history: History,
    enc: Encoding,
    cache: dict[int, tuple[Mapping[str, ParamValue], np.ndarray | None]] | None = None,
) -> int:
    """Return how many PRUNED trials hold a configuration of this encoding's space."""
    return sum(_row(t, enc, cache) is not None for t in history.of_states(TrialState.PRUNED))


class FactorCache:
    """Cholesky factors keyed by the exact training rows and hyperparameters (in memory)."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def key(X: np.ndarray, theta: np.ndarray) -> bytes:
        digest = hashlib.sha1(np.ascontiguousarray(X).tobytes())
        digest.update(np.ascontiguousarray(theta).tobytes())
        digest.update(str(X.shape).encode())
        return digest.digest()

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            L = self._items.get(key)
            if L is not None:
                self._items.move_to_end(key)
            return L

    def put(self, key: bytes, L: np.ndarray) -> None:
        with self._lock:
            self._items[key] = L
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _full_factor(
    X: np.ndarray, hyper: GPHyperparameters, is_cat: np.ndarray, cache: FactorCache
) -> np.ndarray:
    key = cache.key(X, hyper.theta)
    L = cache.get(key)
    if L is None:
        K = covariance(X, X, hyper, is_cat)
        K[np.diag_indices_from(K)] += hyper.noise_var
        L = cholesky(K)
        cache.put(key, L)
    return L


def factor(
    X: np.ndarray, hyper: GPHyperparameters, is_cat: np.ndarray, fit_n: int, cache: FactorCache
) -> np.ndarray:
    """Return the factor of ``K(X) + noise I``, always computed the same way.

    The first ``fit_n`` rows (those the hyperparameters were fitted on) are factored in full
    and the rest appended as one block, so a cached factor of the first rows gives exactly
    the result a fresh computation would.
    """
    m = min(max(fit_n, 1), len(X))
    L11 = _full_factor(X[:m], hyper, is_cat, cache)
    if m == len(X):
        return L11
    K12 = covariance(X[:m], X[m:], hyper, is_cat)
    K22 = covariance(X[m:], X[m:], hyper, is_cat)
    K22[np.diag_indices_from(K22)] += hyper.noise_var
    return extend_cholesky(L11, K12, K22)


@dataclass(frozen=True)
class Fit:
    """A conditioned model and where its hyperparameters came from."""

    posterior: GPPosterior
    fit_n: int
    refitted: bool
    fit_trials: int = 0  # the trials observed when the hyperparameters were fitted


def previous_fit(
    history: History, current: FrozenTrial, key: str, dim: int
) -> tuple[np.ndarray, int, int] | None:
    """Return the latest ``(theta, fit_n, fit_trials)`` another trial stored for this space,
    if any: the hyperparameters, and the rows and trials they were fitted on."""
    for t in reversed(history.trials):
        if t.number == current.number:
            continue
        meta: Mapping[str, JSON] = t.sampler_meta
        theta = meta.get("theta") if meta.get("space") == key else None
        fit_n = meta.get("fit_n")
        if isinstance(theta, list) and len(theta) == dim + N_EXTRA and isinstance(fit_n, int):
            try:
                values = np.array(theta, dtype=float)
            except (TypeError, ValueError):
                continue
            if np.all(np.isfinite(values)):
                fit_trials = meta.get("fit_trials")
                return values, fit_n, fit_trials if isinstance(fit_trials, int) else fit_n
    return None


def refit_period(n: int) -> int:
    """Return how many newly observed trials trigger a refit once ``n > REFIT_ALWAYS``."""
    return 5 if n <= 500 else 10


def fit_subset(y: np.ndarray, size: int = FIT_SIZE) -> np.ndarray:
    """Return the indices the hyperparameters are fitted on: all, or ``size`` of them.

    Hyperparameters describe the whole surface, so a subset estimates them well at a
    fraction of the ``O(n^3)`` cost: the best half (where the search is) and the others
    spread evenly through the history (the rest of the space).
    """
    n = len(y)
    if n <= size:
        return np.arange(n)
    best = np.argsort(y, kind="stable")[: size // 2]
    rest = np.setdiff1d(np.arange(n), best)
    spread = rest[np.round(np.linspace(0, len(rest) - 1, size - len(best))).astype(int)]
    return np.sort(np.concatenate([best, spread]))


def fit_model(
    X: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    previous: tuple[np.ndarray, int, int] | None,
    rng: np.random.Generator,
    cache: FactorCache,
    *,
    deterministic: bool,
    n_trials: int | None = None,
) -> Fit:
    """Return the posterior on ``(X, y)`` with MAP hyperparameters, refitted when due.

    Up to :data:`REFIT_ALWAYS` observations the hyperparameters are refitted every time,
    from the previous fit, the prior's mode and (early on) a draw from the prior. Later they
    are refitted once :func:`refit_period` more trials are observed than at the previous
    fit (``previous``, from :func:`previous_fit`), from that fit only, on at most
    :data:`FIT_SIZE` observations, and reused in between. ``n_trials`` is the number of
    trials observed (default: one row per trial, :attr:`Data.n_trials`); counting trials,
    not rows, matters when a trial gives several rows and old ones are dropped (early-stopped
    trials, :func:`collect_fidelity`), where the row count may stand still while new trials
    come in.
    """
    n, dim = X.shape
    n_trials = n if n_trials is None else n_trials
    prior = HyperPrior.default(dim)
    if previous is not None and n > REFIT_ALWAYS and 0 <= n_trials - previous[2] < refit_period(n):
        hyper = GPHyperparameters.from_theta(previous[0])
        if deterministic:
            hyper = dataclasses.replace(hyper, noise_var=prior.min_noise)
        L = factor(X, hyper, is_cat, previous[1], cache)
        posterior = condition(X, y, hyper, is_cat, L)
        return Fit(posterior, previous[1], refitted=False, fit_trials=previous[2])
    starts = []
    if previous is not None:
        starts.append(previous[0])
    if n <= REFIT_ALWAYS or previous is None:
        starts.append(default_theta(dim, prior, is_cat))
    if n < 40 or previous is None:
        draw = default_theta(dim, prior, is_cat)
        draw[:dim] += 0.5 * rng.standard_normal(dim)
        draw[dim] += 0.5 * rng.standard_normal()  # the signal variance
        starts.append(draw)
    maxiter = 200 if n <= REFIT_ALWAYS else 50
    idx = fit_subset(y)
    hyper = fit_hyperparameters(
        X[idx], y[idx], is_cat, prior, starts, deterministic=deterministic, maxiter=maxiter
    )
    L = factor(X, hyper, is_cat, n, cache)
    return Fit(condition(X, y, hyper, is_cat, L), n, refitted=True, fit_trials=n_trials)
