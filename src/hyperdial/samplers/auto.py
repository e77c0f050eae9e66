"""Choose the search method per study and per trial, and say why.

:class:`AutoSampler` is the default of :func:`hyperdial.create_study`. :func:`advise` gives the
same choice before anything runs, for ``hyperdial advise SPEC.yaml``.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.samplers.sequential import default_initial_design_size
from hyperdial.space import Categorical, Distribution, SearchSpace
from hyperdial.trial import FrozenTrial

__all__ = ["Advice", "AutoSampler", "Choice", "advise"]

#: Above this many completed trials a GP's cubic cost outgrows its edge over TPE.
GP_MAX_TRIALS = 300
#: Above this many parameters the default is TPE (up to it, a GP with a trust region).
GP_MAX_DIM = 100
#: An objective faster than this (seconds) makes a GP's suggestion cost dominate a study
#: that runs against the clock; :func:`advise` says so when given a time budget.
CHEAP_OBJECTIVE_S = 0.05
#: From this many trials running at once, constant-liar TPE spreads workers better than a GP.
MANY_WORKERS = 16


@dataclass(frozen=True)
class Choice:
    """The method chosen for one trial and the reasons, in words."""

    method: str
    why: str


@dataclass(frozen=True)
class _Features:
    dim: int
    n_categorical: int
    conditional: bool
    n_objectives: int
    n_complete: int
    n_running: int
    median_objective_s: float | None
    has_intermediate: bool

    @property
    def categorical_share(self) -> float:
        return self.n_categorical / self.dim if self.dim else 0.0


def _features(history: History, space: SearchSpace | None) -> _Features:
    dists: dict[str, Distribution] = dict(space or {})
    counts: dict[str, int] = {}
    for t in history.completed:
        for name, dist in t.distributions.items():
            dists.setdefault(name, dist)
            counts[name] = counts.get(name, 0) + 1
    n_complete = len(history.completed)
    partial = any(c < n_complete for c in counts.values())
    durations = [t.duration_s for t in history.completed[-50:] if t.duration_s is not None]
    return _Features(
        dim=len(dists),
        n_categorical=sum(isinstance(d, Categorical) for d in dists.values()),
        conditional=bool(space is not None and space.is_conditional) or partial,
        n_objectives=history.n_objectives,
        n_complete=n_complete,
        n_running=len(history.running),
        median_objective_s=statistics.median(durations) if durations else None,
        has_intermediate=any(t.intermediate for t in history.trials[-50:]),
    )


def _choose(f: _Features, tpe_multi: bool) -> Choice:
    """The rules, in order; each returns the method and its reason."""
    if f.n_objectives > 1:
        if tpe_multi:
            return Choice("tpe", f"{f.n_objectives} objectives: TPE splits by Pareto rank")
        return Choice("random", f"{f.n_objectives} objectives: random search")
    if f.dim and f.categorical_share > 0.5:
        return Choice(
            "tpe",
            f"{f.n_categorical} of {f.dim} parameters are categorical: TPE models them "
            "without imposing an order",
        )
    if f.dim > GP_MAX_DIM:
        return Choice("tpe", f"{f.dim} parameters (> {GP_MAX_DIM}): multivariate TPE scales")
    if f.n_complete >= GP_MAX_TRIALS:
        return Choice(
            "tpe",
            f"{f.n_complete} trials (>= {GP_MAX_TRIALS}): a GP's cubic cost outgrows its gain",
        )
    if f.n_running >= MANY_WORKERS:
        return Choice("tpe", f"{f.n_running} trials running: constant-liar TPE spreads them")
    conditions = ", conditions inferred from the trials" if f.conditional else ""
    return Choice(
        "gp",
        f"{f.dim} numeric-leaning parameters{conditions} and {f.n_complete} trials: a "
        "Gaussian process is the most sample-efficient model here",
    )


class AutoSampler(Sampler):
    """Pick the method per trial from the space, the study's size, cost and parallelism.

    The rules (each suggestion's reason names the method and the rule that chose it):

    1. Several objectives: TPE with Pareto-rank splitting (Ozaki et al. 2022).
    2. Mostly categorical parameters: TPE (Bergstra et al. 2011; Watanabe 2023,
       arXiv:2304.11127), which models unordered choices natively.
    3. More than 100 parameters: multivariate TPE, whose cost is linear in the dimension.
    4. Otherwise a Gaussian process (log expected improvement; Ament et al. 2023,
       arXiv:2310.20708) with its own quasi-random initial design of
       :func:`~hyperdial.samplers.sequential.default_initial_design_size` points; in published
       comparisons GP-based search is the most sample-efficient choice for small, mostly
       continuous budgets (Turner et al. 2021, arXiv:2104.10201; Eggensperger et al. 2021,
       arXiv:2109.06716). Conditional parameters stay with the GP: it models every branch,
       with the conditions of a define-by-run objective inferred from the trials (on the
       benchmark's conditional problem it ends far ahead of TPE).
    5. TPE instead of the GP once the study holds 300 trials, or when 16 trials run at once:
       its suggestions stay cheap and the constant liar spreads parallel workers.

    The choice is made for sample efficiency (better configurations per trial). A study run
    against the clock with an objective much cheaper than a GP suggestion (about 0.05-0.3 s)
    gets more done with ``TPESampler`` directly; :func:`advise` points this out.

    The choice depends only on the history, so parallel workers agree; it may switch as the
    study grows, and the switch is visible in the reasons.

    Args:
        seed: Seed of the underlying samplers (the study's per-trial generator is used too).

    Example:
        >>> import hyperdial
        >>> study = hyperdial.create_study(sampler=AutoSampler(), seed=0)
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
        >>> study.trials[0].reason.startswith("auto: GP")
        True
    """

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        # Built on first use: a study loaded only to be read never imports the models.
        self._methods: dict[str, Sampler] = {}
        self._init_caches()

    _caches = ("_methods_lock",)

    def _init_caches(self) -> None:
        self._methods_lock = threading.Lock()

    def _method(self, name: str) -> Sampler:
        with self._methods_lock:
            sampler = self._methods.get(name)
            if sampler is None:
                if name == "gp":
                    from hyperdial.samplers.gp import GPSampler

                    sampler = GPSampler(seed=self.seed)
                elif name == "tpe":
                    from hyperdial.samplers.tpe import TPESampler

                    sampler = TPESampler(seed=self.seed)
                else:
                    from hyperdial.samplers.random import RandomSampler

                    sampler = RandomSampler(seed=self.seed)
                self._methods[name] = sampler
            return sampler

    def choose(self, history: History, space: SearchSpace | None = None) -> Choice:
        """Return the method the next suggestion will use, and why."""
        return _choose(_features(history, space), tpe_multi=True)

    def _delegate(self, history: History, space: SearchSpace | None) -> tuple[Sampler, Choice]:
        choice = self.choose(history, space)
        return self._method(choice.method), choice

    def infer_space(self, history: History) -> SearchSpace:
        """Return the joint space of the method the next trial will use."""
        sampler, _ = self._delegate(history, None)
        return sampler.infer_space(history)

    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Delegate to the chosen method; the reason starts with the method and the rule."""
        sampler, choice = self._delegate(history, space)
        inner = sampler.sample(history, trial, space, rng)
        label = {"gp": "GP", "tpe": "TPE", "random": "random"}[choice.method]
        reason = f"auto: {label} ({choice.why}); {inner.reason}".rstrip("; ")
        return Suggestion(inner.params, reason, {**inner.meta, "auto_method": choice.method})

    def models_resource(self, history: History) -> bool:
        """Return whether the method the next trial uses models the resource (the GP does)."""
        sampler, _ = self._delegate(history, None)
        return sampler.models_resource(history)

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Delegate a parameter outside the joint space to the chosen method."""
        sampler, _ = self._delegate(history, None)
        return sampler.sample_one(history, trial, name, dist, rng)

    def on_trial_end(self, history: History, trial: FrozenTrial) -> None:
        """Tell every method in use (they may keep caches)."""
        for sampler in list(self._methods.values()):
            sampler.on_trial_end(history, trial)

    def reseed(self, seed: int | None) -> AutoSampler:
        """Return a fresh AutoSampler with another seed."""
        return AutoSampler(seed=seed)


@dataclass(frozen=True)
class Advice:
    """What :func:`advise` recommends before a study runs."""

    plan: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)


def advise(
    space: SearchSpace,
    *,
    n_trials: int | None = None,
    timeout_s: float | None = None,
    seconds_per_trial: float | None = None,
    n_workers: int = 1,
    n_objectives: int = 1,
    grid: Mapping[str, list[ParamValue]] | None = None,
) -> Advice:
    """Explain the method a study will use, before it runs.

    Args:
        space: The declared search space.
        n_trials: The trial budget, if any.
        timeout_s: The time budget in seconds, if any.
        seconds_per_trial: The expected cost of one trial (with ``timeout_s`` it bounds the
            number of trials).
        n_workers: Trials run at once.
        n_objectives: Number of objectives.
        grid: A grid the user plans to run instead, to check against the budget.

    Example:
        >>> from hyperdial import Float, SearchSpace
        >>> space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
        >>> advise(space, n_trials=100).plan[0]
        ('trials 0-4', 'initial design: 5 scrambled Sobol points (2 per parameter, at least 5)')
    """
    for name, value in (("n_trials", n_trials), ("n_workers", n_workers)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InvalidValueError(f"advise: {name} must be an int >= 1; got {value!r}.")
    budget = n_trials
    reasons: list[str] = []
    warnings: list[str] = []
    if timeout_s is not None and seconds_per_trial:
        by_time = int(timeout_s / seconds_per_trial * n_workers)
        budget = by_time if budget is None else min(budget, by_time)
        reasons.append(
            f"the time budget allows about {by_time} trials "
            f"({timeout_s:g} s / {seconds_per_trial:g} s per trial x {n_workers} workers)"
        )
    n0 = default_initial_design_size(len(space))
    features = _Features(
        dim=len(space),
        n_categorical=sum(isinstance(d, Categorical) for d in space.values()),
        conditional=space.is_conditional,
        n_objectives=n_objectives,
        n_complete=n0,
        n_running=n_workers,
        median_objective_s=seconds_per_trial,
        has_intermediate=False,
    )
    first = _choose(features, tpe_multi=True)
    plan: list[tuple[str, str]] = []
    if first.method == "gp":
        plan.append(
            (
                f"trials 0-{n0 - 1}",
                f"initial design: {n0} scrambled Sobol points (2 per parameter, at least 5)",
            )
        )
        last = GP_MAX_TRIALS - 1
        if (
            timeout_s is not None
            and seconds_per_trial is not None
            and seconds_per_trial < CHEAP_OBJECTIVE_S
        ):
            warnings.append(
                f"a trial takes about {seconds_per_trial:g} s, less than a GP suggestion "
                "(0.05-0.3 s): against a time budget, TPESampler runs several times more "
                "trials; choose it explicitly if trials matter more than their quality."
            )
        plan.append((f"trials {n0}-{last}", "Gaussian process, log expected improvement"))
        plan.append((f"trials {last + 1}+", "TPE (cheaper suggestions on a large history)"))
        reasons.append(
            f"{features.dim} parameters ({features.n_categorical} categorical"
            f"{', with conditions' if features.conditional else ''}) and a modest budget: a "
            "Gaussian process is the most sample-efficient model"
        )
        if budget is not None:
            plan = [_clip(p, budget) for p in plan if _starts_before(p[0], budget)]
    else:
        plan.append(("trials 0-9", "initial design: random (TPE's start-up)"))
        plan.append(
            ("trials 10+", first.method.upper() if first.method == "tpe" else first.method)
        )
        reasons.append(first.why)
    if budget is not None and budget < n0 + 5:
        warnings.append(
            f"a budget of {budget} trials leaves almost nothing after the {n0}-point initial "
            "design; consider more trials or fewer parameters."
        )
    if grid is not None:
        size = math.prod(len(v) for v in grid.values())
        if budget is not None and size > budget:
            warnings.append(
                f"the grid has {size} points but the budget allows {budget} trials: "
                f"{size - budget} points would never run; a model-based search covers the "
                "space better."
            )
    return Advice(tuple(plan), tuple(reasons), tuple(warnings))


def _clip(step: tuple[str, str], budget: int) -> tuple[str, str]:
    """Cap a ``"trials a-b"`` span at the last trial of the budget."""
    label, method = step
    start = int(label.split()[1].split("-")[0].rstrip("+"))
    end = label.split("-")[1] if "-" in label else None
    last = budget - 1 if end is None or end.endswith("+") else min(int(end), budget - 1)
    return (f"trials {start}-{last}" if last > start else f"trial {start}", method)


def _starts_before(label: str, budget: int) -> bool:
    start = int(label.split()[1].split("-")[0].rstrip("+"))
    return start < budget
