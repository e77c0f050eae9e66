"""Quasi-Monte Carlo search: low-discrepancy Sobol' or Halton points instead of random ones."""

from __future__ import annotations

import math
import threading
import zlib

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.space import Distribution, SearchSpace, from_unit
from hyperdial.trial import FrozenTrial

__all__ = ["QMCSampler"]

_OWNER = "QMCSampler"
_KINDS = ("sobol", "halton")
_MIN_LOG2 = 4  # smallest block generated: 16 points
_MAX_CACHED = 256  # sequences kept in memory per sampler

_SeedKey = tuple[int, ...]


def _engine(kind: str, d: int, scramble: bool, seed: _SeedKey) -> object:
    from scipy.stats import qmc  # type: ignore[import-untyped]  # scipy ships no stubs

    cls = qmc.Sobol if kind == "sobol" else qmc.Halton
    gen = np.random.default_rng(list(seed))
    try:
        return cls(d, scramble=scramble, rng=gen)
    except TypeError:  # scipy < 1.15 calls the argument seed
        return cls(d, scramble=scramble, seed=gen)


def _block(kind: str, d: int, scramble: bool, seed: _SeedKey, log2_n: int) -> np.ndarray:
    """Return the first ``2**log2_n`` points of the sequence, shape ``(2**log2_n, d)``."""
    engine = _engine(kind, d, scramble, seed)
    if kind == "sobol":
        return engine.random_base2(log2_n)  # type: ignore[attr-defined, no-any-return]
    return engine.random(2**log2_n)  # type: ignore[attr-defined, no-any-return]


class QMCSampler(Sampler):
    """Place trials on a low-discrepancy sequence, which covers the space more evenly.

    Point ``k`` of the sequence goes to trial number ``k``, so parallel workers agree without
    shared state and enqueued trials simply skip a point. The sequences are Sobol' (Sobol,
    1967, "On the distribution of points in a cube and the approximate evaluation of
    integrals", USSR Comput. Math. Math. Phys. 7(4)) or Halton (Halton, 1960, "On the
    efficiency of certain quasi-random sequences of points in evaluating multi-dimensional
    integrals", Numer. Math. 2), optionally scrambled (Owen, 1998, "Scrambling Sobol' and
    Niederreiter-Xing points", J. Complexity 14), all from :mod:`scipy.stats.qmc`.

    The joint space is the declared space of ``suggest_space`` or, define-by-run, the
    parameters every completed trial shares; dimension ``i`` of the cube drives its ``i``-th
    parameter through :func:`~hyperdial.space.from_unit`, and dimensions of inactive or fixed
    parameters are ignored. A parameter outside the joint space (all of them in the first
    define-by-run trial) takes point ``k`` of its own scrambled one-dimensional sequence,
    seeded by the parameter's name: each parameter on its own stays evenly spread, and the
    scrambling keeps parameters from moving in lockstep. The reason says which applied.

    Randomness: the scrambling is fixed by ``seed``; with ``seed=None`` it is fixed by seed 0
    (every worker must build the same sequence, and the sampler sees no per-study value), so
    two unseeded studies get the same points. The study's generator is not used.

    Args:
        qmc_type: ``"sobol"`` or ``"halton"``.
        scramble: Randomise the sequence (recommended: unscrambled sequences start at the
            corner of the cube).
        seed: Fixes the scrambling.

    Example:
        >>> from hyperdial.history import History
        >>> from hyperdial.space import Float, SearchSpace
        >>> from hyperdial.trial import FrozenTrial, TrialState
        >>> sampler = QMCSampler(seed=0)
        >>> trial = FrozenTrial(trial_id=0, number=12, state=TrialState.RUNNING)
        >>> space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
        >>> suggestion = sampler.sample(History((), ()), trial, space, None)
        >>> suggestion.reason, sorted(suggestion.params)
        ('sobol point 12', ['x', 'y'])
    """

    def __init__(
        self,
        *,
        qmc_type: str = "sobol",
        scramble: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)  # checks the seed
        if qmc_type not in _KINDS:
            raise InvalidValueError(
                f"{_OWNER}: qmc_type must be 'sobol' or 'halton'; got {qmc_type!r}."
            )
        if not isinstance(scramble, bool):
            raise InvalidValueError(f"{_OWNER}: scramble must be a bool; got {scramble!r}.")
        self.qmc_type = qmc_type
        self.scramble = scramble
        self._cache: dict[tuple[object, ...], np.ndarray] = {}
        self._lock = threading.Lock()

    def _point(self, k: int, d: int, scramble: bool, seed: _SeedKey) -> np.ndarray:
        """Return point ``k`` of the ``d``-dimensional sequence (cached; never changes)."""
        key = (self.qmc_type, d, scramble, seed)
        block = self._cache.get(key)
        if block is None or k >= len(block):
            log2_n = max(_MIN_LOG2, math.ceil(math.log2(k + 1)))
            block = _block(self.qmc_type, d, scramble, seed, log2_n)
            with self._lock:
                if len(self._cache) >= _MAX_CACHED:
                    self._cache.clear()
                self._cache[key] = block
        row: np.ndarray = block[k]
        return row

    @property
    def _base_seed(self) -> int:
        return 0 if self.seed is None else self.seed

    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Map point ``trial.number`` of the sequence onto the active parameters of ``space``."""
        k = trial.number
        if not space:
            return Suggestion(
                {}, reason=f"{self.qmc_type} point {k}, one 1-D sequence per parameter"
            )
        u = self._point(k, len(space), self.scramble, (self._base_seed,))
        known: dict[str, ParamValue] = {**trial.params, **trial.fixed_params}
        params: dict[str, ParamValue] = {}
        for i, (name, dist) in enumerate(space.items()):
            if space.is_active(name, known) and name not in known:
                params[name] = known[name] = from_unit(dist, float(u[i]))
        return Suggestion(params, reason=f"{self.qmc_type} point {k}")

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Map point ``trial.number`` of ``name``'s own scrambled 1-D sequence onto ``dist``."""
        # crc32, not hash(): str hashes change from one process to the next.
        seed = (self._base_seed, zlib.crc32(name.encode("utf-8")))
        u = self._point(trial.number, 1, True, seed)
        return from_unit(dist, float(u[0]))

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"QMCSampler(qmc_type={self.qmc_type!r}, scramble={self.scramble!r}, "
            f"seed={self.seed!r})"
        )
