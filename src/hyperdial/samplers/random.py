"""Independent uniform random search, the baseline every other sampler must beat."""

from __future__ import annotations

import zlib

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.history import History
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.space import Distribution, SearchSpace, from_unit
from hyperdial.trial import FrozenTrial

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """Draw every parameter independently and uniformly (on the log scale where asked).

    Random search is a strong baseline in few dimensions (Bergstra and Bengio, 2012, "Random
    Search for Hyper-Parameter Optimization", JMLR 13). The sampler ignores the history, so an
    ask costs O(1) however long the study is: :meth:`infer_space` returns an empty space and
    every parameter is drawn by :meth:`sample_one`.

    Randomness: with ``seed`` set, the value of parameter ``name`` in trial ``n`` comes from
    ``numpy.random.default_rng([seed, n, crc32(name)])``, so it does not depend on the order
    of the suggestions, on the study's seed or on the process. With ``seed=None`` the study's
    per-trial generator is used.

    Args:
        seed: Fixes the values drawn; ``None`` defers to the study's generator.

    Example:
        >>> import numpy as np
        >>> from hyperdial.space import Float
        >>> from hyperdial.history import History
        >>> from hyperdial.trial import FrozenTrial, TrialState
        >>> sampler = RandomSampler(seed=0)
        >>> trial = FrozenTrial(trial_id=0, number=0, state=TrialState.RUNNING)
        >>> x = sampler.sample_one(History((), ()), trial, "x", Float(0, 1), None)
        >>> 0.0 <= x <= 1.0
        True
    """

    uses_history = False

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)

    def infer_space(self, history: History) -> SearchSpace:
        """Return an empty space: every parameter is drawn on its own by :meth:`sample_one`."""
        return SearchSpace({})

    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Draw the active parameters of ``space`` that are not fixed, in order."""
        known: dict[str, ParamValue] = {**trial.params, **trial.fixed_params}
        params: dict[str, ParamValue] = {}
        for name, dist in space.items():
            if not space.is_active(name, known):
                continue
            if name not in known:
                params[name] = known[name] = self.sample_one(history, trial, name, dist, rng)
        return Suggestion(params, reason="random")

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Draw ``name`` uniformly from ``dist`` (log-uniformly if ``dist.log``)."""
        if self.seed is not None:
            # crc32, not hash(): str hashes change from one process to the next.
            key = zlib.crc32(name.encode("utf-8"))
            rng = np.random.default_rng([self.seed, trial.number, key])
        return from_unit(dist, float(rng.random()))
