"""Bayesian optimisation with a Gaussian process and log expected improvement."""

from __future__ import annotations

import copy
import math
import sys
import threading
from collections.abc import Mapping

import numpy as np

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers._infer import conditional_space
from hyperdial.samplers._math.acquisition import log_ei, lower_confidence_bound
from hyperdial.samplers._math.gp import (
    Fantasies,
    GPPosterior,
    add_points,
    fantasize,
    fantasy_mean,
    predict,
)
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.samplers.gp import _model, _trust_region
from hyperdial.samplers.gp._encoding import Encoding
from hyperdial.samplers.gp._optimize import maximize
from hyperdial.samplers.gp._warp import OutputWarp
from hyperdial.samplers.qmc import QMCSampler
from hyperdial.samplers.random import RandomSampler
from hyperdial.samplers.sequential import default_initial_design_size
from hyperdial.space import Categorical, Distribution, Float, SearchSpace
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["GPSampler"]

_OWNER = "GPSampler"
_ACQUISITIONS = ("logei", "ucb")
_TRUST_REGION_DIM = 20  # above this many parameters the trust region is on by default
_CAT_PRIOR_DISTANCE = 1.0 / 3.0  # a non-default choice weighs like this distance in the cube
_FANTASIES = 32  # samples of the running trials' outcomes that log-EI averages over


def _pruned_with(history: History, params: Mapping[str, ParamValue]) -> int | None:
    """Return the number of a PRUNED trial with exactly ``params``, if there is one."""
    for t in history.of_states(TrialState.PRUNED):
        if all(k in t.params and t.params[k] == v for k, v in params.items()):
            return t.number
    return None


def _fidelity_name(space: SearchSpace) -> str:
    """Return a name for the resource column that no parameter of ``space`` has."""
    name = "<resource>"
    while name in space:
        name = "<" + name + ">"
    return name


def _with_fidelity(space: SearchSpace, name: str) -> SearchSpace:
    """Return ``space`` with the unconditional fidelity column ``name`` in ``[0, 1]``."""
    return SearchSpace(
        {**dict(space.items()), name: Float(0.0, 1.0)},
        conditions=dict(space.conditions),
        constraints=space.constraints,
    )


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class GPSampler(Sampler):
    """Propose parameters by Bayesian optimisation with a Gaussian process (GP).

    The GP models the objective on the unit cube of :func:`~hyperdial.space.to_unit` (log
    parameters on the log scale) with a Matern-5/2 kernel with one lengthscale per parameter
    (Snoek, Larochelle and Adams, 2012, "Practical Bayesian Optimization of Machine Learning
    Algorithms", arXiv:1206.2944; Rasmussen and Williams, 2006, "Gaussian Processes for
    Machine Learning"), plus a random linear-and-quadratic trend on the numeric parameters.
    How each part works:

    * **Outputs** are centred and scaled robustly, then warped by a Yeo-Johnson power
      transform fitted by maximum likelihood (exponent bounded to ``[0.5, 2]``): a strictly
      increasing map that pulls in heavy tails and outliers (e.g. a loss spanning decades,
      or a few diverged runs) so that they neither flatten the model elsewhere nor pass for
      noise, without stretching the best values into a well the search cannot leave.
    * **Trend**: a stationary kernel reverts to the mean a few lengthscales away from the
      data, so it cannot point into a basin it has only seen the rim of. The trend term (a
      Bayesian regression on ``z`` and ``z**2`` per parameter, its two variances fitted like
      the other hyperparameters) extrapolates such a basin; where the data show none, its
      variances shrink to nothing.
    * **Hyperparameters** (lengthscales, signal, noise and trend variances) are MAP estimates
      under log-normal priors, the lengthscales' scaled with the dimension (Hvarfner et al.,
      2024, arXiv:2402.02229), found by multi-start L-BFGS-B with analytic gradients. After 200
      observations they are refitted every 5 newly observed trials (10 above 500
      observations), warm-started from the fit stored in the previous trial's
      ``sampler_meta``; Cholesky factors are cached between suggestions in a way that never
      changes a result.
    * **Acquisition**: the numerically stable log expected improvement of Ament et al.
      (2023, "Unexpected Improvements to Expected Improvement for Bayesian Optimization",
      arXiv:2310.20708), or a lower confidence bound (``acquisition="ucb"``). Unless the
      objective is declared deterministic, the incumbent is the best posterior mean among the
      observed points, so one lucky noisy value does not stop the search.
    * **Search**: scrambled Sobol' candidates plus perturbations of the best observed points,
      refined by L-BFGS-B on continuous parameters and by a neighbour search on integers and
      categoricals. Integers are only scored on their grid; categoricals use a Hamming kernel,
      so their choices are not ordered.
    * **Conditional spaces**: an inactive parameter takes a fixed value and an indicator
      column per condition tells the kernel which parameters exist; only active parameters
      are proposed. In define-by-run studies the conditions are inferred from the trials
      (which parameters occur with which values of the others), so every branch is modelled.
    * **Parallel workers**: the outcomes of RUNNING trials are unknown, so log-EI is averaged
      over 32 joint samples of them from the model, each sample conditioning the GP and
      setting its own incumbent (Snoek et al., 2012, section 3.3; the asynchronous form of
      the multi-point EI of Ginsbourger, Le Riche and Carraro, 2010, "Kriging Is Well-Suited
      to Parallelize Optimization"). Near a running trial likely to improve, little is left
      to gain; near one that may fail, much is. This is the multi-point EI of the new point
      and the running ones together, up to a term the new point does not change, estimated
      with common random numbers so that it is smooth in the new point. The UCB acquisition,
      which has no incumbent, counts running trials at their predicted mean (the kriging
      believer).
    * **Early-stopped trials** (multi-fidelity): once trials stop at different resources
      (pruned, or complete at smaller budgets), the resource becomes an input of the model,
      ``u = log(1 + step) / log(1 + top)`` for a trial's last reported step, ``top`` the
      last step of the longest complete trial. Every finished trial is an observation at its
      ``u`` (a pruned one at its last reported value), and proposals maximise the
      acquisition at ``u = 1``; the incumbent is the best complete trial at the full
      resource. The kernel's lengthscale and the trend's quadratic in ``u`` learn how far
      early values predict final ones, so a pruned region still teaches the model instead
      of being drawn again (a continuous-fidelity GP: Kandasamy et al., 2017, "Multi-
      fidelity Bayesian Optimisation with Continuous Approximations", arXiv:1703.06240;
      Wu et al., 2019, "Practical Multi-fidelity Bayesian Optimization for Hyperparameter
      Tuning", arXiv:1903.04703). With ``multi_fidelity=False`` pruned trials stay out of
      the model. Either way, a proposal that repeats a pruned configuration exactly is
      replaced by a Sobol point, said in the reason.
    * **High dimensions**: with more than 20 parameters (or ``trust_region=True``) the search
      is confined to a TuRBO trust region around the incumbent, whose size follows the run of
      successes and failures (Eriksson et al., 2019, "Scalable Global Optimization via Local
      Bayesian Optimization", arXiv:1910.01739).
    * **Expert priors**: a distribution's ``default`` makes the first point of the design,
      and the acquisition is multiplied by ``prior(x) ** (prior_weight / n)``, a Gaussian in
      the unit cube around the default, which fades as data accumulate (piBO: Hvarfner et
      al., 2022, "piBO: Augmenting Acquisition Functions with User Beliefs for Bayesian
      Optimization", arXiv:2204.11051).

    The first ``n_startup_trials`` trials are :class:`~hyperdial.samplers.QMCSampler`'s
    points (a scrambled Sobol' sequence, point ``k`` for trial number ``k``, so parallel
    workers do not repeat each other), with the same seed: ``GPSampler(seed=s)`` suggests
    exactly what ``SequentialSampler([(QMCSampler(seed=s), "auto"), (GPSampler(seed=s),
    None)])`` does. Parameters outside the joint space are drawn by the design while it
    lasts, then by ``independent_sampler``. Only one objective is supported.

    Args:
        seed: Fixes the Sobol' scrambling; ``None`` lets the study's seed decide.
        n_startup_trials: Trials of the initial design; default ``min(max(5, 2 d), 20)``
            for ``d`` parameters.
        acquisition: ``"logei"`` (log expected improvement) or ``"ucb"``.
        prior_weight: ``beta`` of piBO; ``0`` ignores the defaults in the acquisition. The
            default, 1, lets a default steer the first model-based trials but not trap the
            search in a basin it points to wrongly.
        prior_width: Standard deviation of the default's Gaussian in the unit cube.
        deterministic_objective: Fix the noise near zero and take the best observed value as
            the incumbent.
        trust_region: ``True``/``False`` to force the trust region on or off; ``None``
            turns it on above 20 parameters.
        independent_sampler: Draws parameters outside the joint space (default: random).
        multi_fidelity: ``True``/``None`` (the default) model trials that stopped early at
            their resource once there are some; ``False`` models complete trials only.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers.gp import GPSampler
        >>> study = hyperdial.create_study(sampler=GPSampler(seed=0, n_startup_trials=4))
        >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=12)
        >>> study.best_value < 0.05
        True
    """

    supports_multi_objective = False

    _caches = ("_lock", "_encodings", "_rows", "_designs", "_factors")

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int | None = None,
        acquisition: str = "logei",
        prior_weight: float = 1.0,
        prior_width: float = 0.15,
        deterministic_objective: bool = False,
        trust_region: bool | None = None,
        independent_sampler: Sampler | None = None,
        multi_fidelity: bool | None = None,
    ) -> None:
        super().__init__(seed=seed)  # checks the seed
        if n_startup_trials is not None and (
            isinstance(n_startup_trials, bool)
            or not isinstance(n_startup_trials, (int, np.integer))
            or n_startup_trials < 0
        ):
            raise InvalidValueError(
                f"{_OWNER}: n_startup_trials must be an int >= 0 or None; "
                f"got {n_startup_trials!r}."
            )
        if acquisition not in _ACQUISITIONS:
            raise InvalidValueError(
                f"{_OWNER}: acquisition must be 'logei' or 'ucb'; got {acquisition!r}."
            )
        for name, value, positive in (
            ("prior_weight", prior_weight, False),
            ("prior_width", prior_width, True),
        ):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and (value > 0 if positive else value >= 0)
            if not ok:
                expect = "a finite number " + ("> 0" if positive else ">= 0")
                raise InvalidValueError(f"{_OWNER}: {name} must be {expect}; got {value!r}.")
        if not isinstance(deterministic_objective, bool):
            raise InvalidValueError(
                f"{_OWNER}: deterministic_objective must be a bool; "
                f"got {deterministic_objective!r}."
            )
        if trust_region is not None and not isinstance(trust_region, bool):
            raise InvalidValueError(
                f"{_OWNER}: trust_region must be True, False or None; got {trust_region!r}."
            )
        if independent_sampler is not None and not isinstance(independent_sampler, Sampler):
            raise InvalidValueError(
                f"{_OWNER}: independent_sampler must be a Sampler or None; "
                f"got {type(independent_sampler).__name__}."
            )
        if multi_fidelity is not None and not isinstance(multi_fidelity, bool):
            raise InvalidValueError(
                f"{_OWNER}: multi_fidelity must be True, False or None; got {multi_fidelity!r}."
            )
        self.multi_fidelity = multi_fidelity
        self.n_startup_trials = None if n_startup_trials is None else int(n_startup_trials)
        self.acquisition = acquisition
        self.prior_weight = float(prior_weight)
        self.prior_width = float(prior_width)
        self.deterministic_objective = deterministic_objective
        self.trust_region = trust_region
        self.independent_sampler = independent_sampler or RandomSampler()
        self._init_caches()

    def _init_caches(self) -> None:
        self._lock = threading.Lock()
        self._encodings: dict[str, Encoding] = {}
        self._rows: dict[str, dict[int, tuple[Mapping[str, ParamValue], np.ndarray | None]]] = {}
        self._designs: dict[int, QMCSampler] = {}
        self._factors = _model.FactorCache()

    def __repr__(self) -> str:
        return (
            f"GPSampler(seed={self.seed!r}, n_startup_trials={self.n_startup_trials!r}, "
            f"acquisition={self.acquisition!r})"
        )

    # ------------------------------------------------------------------ helpers
    def _encoding(self, space: SearchSpace) -> tuple[str, Encoding]:
        key = _model.space_key(space)
        with self._lock:
            enc = self._encodings.get(key)
        if enc is None:
            enc = Encoding(space)
            with self._lock:
                if len(self._encodings) > 32:
                    self._encodings.clear()
                    self._rows.clear()
                self._encodings[key] = enc
        return key, enc

    def infer_space(self, history: History) -> SearchSpace:
        """Return the define-by-run space with its conditions inferred from the trials.

        Every parameter whose presence the other parameters explain is modelled, with the
        conditions found by :func:`~hyperdial.samplers._infer.conditional_space`; the rest
        are drawn by ``independent_sampler``.
        """
        return conditional_space(history)

    def models_resource(self, history: History) -> bool:
        """Return ``True`` unless ``multi_fidelity=False``: early-stopped trials are modelled
        at their resource (see the class docstring)."""
        return self.multi_fidelity is not False

    def startup_trials(self, n_params: int) -> int:
        """Return the size of the initial design for ``n_params`` parameters."""
        if self.n_startup_trials is not None:
            return self.n_startup_trials
        return default_initial_design_size(n_params)

    def _design(self, seed: int) -> QMCSampler:
        """Return the quasi-random sampler of the initial design (one per design seed)."""
        with self._lock:
            design = self._designs.get(seed)
            if design is None:
                design = self._designs[seed] = QMCSampler(seed=seed)
        return design

    def _design_seed(self, history: History, trial: FrozenTrial, rng: np.random.Generator) -> int:
        if self.seed is not None:
            return self.seed
        if trial.number == 0:  # from a copy: every call for this trial agrees
            return int(copy.deepcopy(rng).integers(2**31))
        first = history.trials[0] if history.trials else None
        value = first.sampler_meta.get("sobol_seed") if first is not None else None
        return value if isinstance(value, int) else 0

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Return the GP's proposal for the active, non-fixed parameters of ``space``."""
        if history.n_objectives != 1:
            raise InvalidValueError(
                f"{_OWNER} handles one objective; this study has {history.n_objectives}."
            )
        known = {**trial.params, **trial.fixed_params}
        if not space or all(name in known for name in space):
            meta: dict[str, JSON] = {}
            if self.seed is None and trial.number == 0:
                meta["sobol_seed"] = self._design_seed(history, trial, rng)
            reason = "GP: no joint space yet, parameters drawn independently"
            return Suggestion({}, reason=reason, meta=meta)
        key, enc = self._encoding(space)
        with self._lock:
            rows = self._rows.setdefault(key, {})
        data = _model.collect(history, trial, enc, rows)
        n_startup = max(self.startup_trials(enc.n_params), 2)
        # The design counts running and pruned trials too: parallel workers then stop
        # drawing design points where a sequential study would (the running points become
        # pending), and under early stopping, where most trials end pruned, the model does
        # not wait for 2 d complete ones. It still waits for half the design to complete.
        n_design = len(data.y) + len(data.pending)
        if n_design < n_startup:
            n_design += _model.count_pruned(history, enc, rows)
        fidelity = None
        if self.multi_fidelity is not False and len(data.y) >= 2:
            fidelity = _model.fidelity_of(history, _fidelity_name(space))
        model_key, model_enc, model_data, model_known = key, enc, data, known
        if fidelity is not None:
            # Early-stopped trials are observations too: complete ones only decide when the
            # design is over and anchor the incumbent; proposals are judged at full resource.
            model_key, model_enc = self._encoding(_with_fidelity(space, fidelity.name))
            with self._lock:
                model_rows = self._rows.setdefault(model_key, {})
            model_data = _model.collect_fidelity(history, trial, model_enc, fidelity, model_rows)
            model_known = {**known, fidelity.name: 1.0}
        if n_design < n_startup or len(model_data.y) < max(2, (n_startup + 1) // 2):
            return self._initial(history, trial, enc, known, n_design, n_startup, rng)
        with _model.single_threaded_blas():
            return self._model_step(
                history, trial, model_enc, model_key, model_data, model_known, n_startup, rng,
                fidelity,
            )  # fmt: skip

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Draw a parameter outside the joint space: from the quasi-random design while it
        lasts (e.g. the first trial of a define-by-run study), then ``independent_sampler``."""
        n_done = len(history.completed)
        # Past the longest design any space can have, skip counting the parameters.
        if n_done < max(self.startup_trials(sys.maxsize), 2) and n_done < max(
            self.startup_trials(
                len({n for t in history.trials for n in t.distributions} | {name})
            ),
            2,
        ):
            design = self._design(self._design_seed(history, trial, rng))
            return design.sample_one(history, trial, name, dist, rng)
        return self.independent_sampler.sample_one(history, trial, name, dist, rng)

    def _initial(
        self,
        history: History,
        trial: FrozenTrial,
        enc: Encoding,
        known: Mapping[str, ParamValue],
        n_done: int,
        n_startup: int,
        rng: np.random.Generator,
    ) -> Suggestion:
        seed = self._design_seed(history, trial, rng)
        meta: dict[str, JSON] = {"phase": "initial", "sobol_index": trial.number}
        if self.seed is None and trial.number == 0:
            meta["sobol_seed"] = seed
        design = self._design(seed)
        params = dict(design.sample(history, trial, enc.space, rng).params)
        defaults = {n: d.default for n, d in zip(enc.names, enc.dists) if d.default is not None}
        used = any(t.sampler_meta.get("phase") == "defaults" for t in history.trials)
        if defaults and not used:
            values = {**params, **defaults, **known}
            params = {}
            for name in enc.space.active_names(values):
                if name in known:
                    continue
                if name not in values:  # a default opened a branch the design point had not
                    values[name] = design.sample_one(history, trial, name, enc.space[name], rng)
                params[name] = values[name]
            meta["phase"] = "defaults"
            reason = f"initial design: the defaults ({', '.join(defaults)}), then Sobol'"
        else:
            reason = f"initial design: sobol point {n_done + 1} of {n_startup}"
        return Suggestion(params, reason=reason, meta=meta)

    def _model_step(
        self,
        history: History,
        trial: FrozenTrial,
        enc: Encoding,
        key: str,
        data: _model.Data,
        known: Mapping[str, ParamValue],
        n_startup: int,
        rng: np.random.Generator,
        fidelity: _model.Fidelity | None = None,
    ) -> Suggestion:
        warp = OutputWarp.fit(data.y)
        yt = warp.transform(data.y)
        previous = _model.previous_fit(history, trial, key, enc.dim)
        fit = _model.fit_model(
            data.X, yt, enc.is_cat, previous, rng, self._factors,
            deterministic=self.deterministic_objective,
            n_trials=data.n_trials,
        )  # fmt: skip
        post = fit.posterior
        n = len(yt)
        # The incumbent: the best observed configuration, at the full resource.
        at_full = np.arange(n) if data.full is None else np.flatnonzero(data.full)
        if self.deterministic_objective:
            scores = yt[at_full]
        else:
            scores = predict(post, data.X[at_full])[0]
        best = int(at_full[int(np.argmin(scores))])
        incumbent = float(np.min(scores))
        incumbent_running = False
        fantasies: Fantasies | None = None
        incumbents: np.ndarray | None = None
        pending_beats: float | None = None
        if len(data.pending) and self.acquisition == "logei":
            # Expected improvement averaged over joint samples of the running trials'
            # outcomes, each sample with its own incumbent (the best of the observed and the
            # sampled values): where a running trial may well improve, a proposal next to it
            # is worth little, but where it may not, the neighbourhood keeps its value.
            normals = rng.standard_normal((_FANTASIES, len(data.pending)))
            fantasies = fantasize(post, data.pending, normals)
            post = fantasies.post
            if self.deterministic_objective:
                sampled = fantasies.outcomes.min(axis=1)
                observed = np.full(len(sampled), incumbent)
            else:
                means = fantasy_mean(fantasies, np.vstack([data.X[at_full], data.pending]))[0]
                sampled = means[len(at_full) :].min(axis=0)
                observed = means[: len(at_full)].min(axis=0)
            incumbents = np.minimum(sampled, observed)
            pending_beats = float(np.mean(sampled < incumbent))
        elif len(data.pending):
            believed = predict(post, data.pending)[0]
            post = add_points(post, data.pending, believed)
            # Believed values count as observed ones: a running point predicted to beat the
            # incumbent becomes the incumbent, or its own neighbourhood (mean below the
            # incumbent, variance gone) would keep a sure improvement and draw every worker.
            believed_best = float(np.min(believed))
            if believed_best < incumbent:
                incumbent, incumbent_running = believed_best, True

        base = enc.impute.copy()
        frozen = np.zeros(enc.dim, dtype=bool)
        for i, name in enumerate(enc.names):
            if name in known and enc.dists[i].contains(known[name]):
                base[i] = enc.encode_value(i, known[name])
                frozen[i] = True
        acq = self._acquisition(post, enc, incumbent, n, fantasies, incumbents)
        lower, upper = np.zeros(enc.n_params), np.ones(enc.n_params)
        center = None
        region = None
        ls = post.hyper.lengthscales
        use_tr = self.trust_region
        if use_tr is None:
            use_tr = enc.n_params > _TRUST_REGION_DIM
        if use_tr:
            order = at_full[np.argsort(data.numbers[at_full], kind="stable")]
            region = _trust_region.replay(data.y[order], n_startup, enc.n_params)
            center = data.X[best].copy()
            num = enc.numeric
            p = enc.n_params
            lower[num], upper[num] = _trust_region.box(center[:p][num], region.length, ls[:p][num])
        seeds = data.X[at_full[np.argsort(yt[at_full], kind="stable")[:5]]]
        if center is not None:
            seeds = np.vstack([center[None, :], seeds])
        row, value = maximize(
            acq, enc, rng, lower=lower, upper=upper, base=base, frozen=frozen, seeds=seeds,
            scale=ls, center=center,
            n_candidates=2048 if n <= 400 else 512, n_starts=5 if n <= 400 else 2,
            max_iter=200 if n <= 400 else 40,
        )  # fmt: skip
        params = enc.decode(row, known)
        repeated = _pruned_with(history, params)
        if repeated is not None:
            # The model leaves pruned trials out (a value read early, before rankings settle,
            # says little about the final one), so it may want one of them again: explore.
            design = self._design(self._design_seed(history, trial, rng))
            params = {**known, **design.sample(history, trial, enc.space, rng).params}
            encoded = enc.encode(params)
            row = encoded if encoded is not None else row
        out = {k: v for k, v in params.items() if k not in known}

        mean, var = predict(post, row[None, :])
        sd = math.sqrt(float(var[0]))
        sign = -1.0 if history.directions[0].value == "maximize" else 1.0
        m_obj = float(sign * warp.inverse(mean)[0])
        spread = warp.inverse(np.array([mean[0] - sd, mean[0] + sd]))
        sd_obj = float(abs(spread[1] - spread[0]) / 2.0)
        inc_obj = float(sign * warp.inverse(np.array([incumbent]))[0])
        inc_trial = int(data.numbers[best])
        label = "log-EI" if self.acquisition == "logei" else "UCB"
        source = "a running trial's prediction" if incumbent_running else f"trial {inc_trial}"
        reason = (
            f"GP {label}: predicted {m_obj:.4g} ± {sd_obj:.3g}, vs incumbent {inc_obj:.4g} "
            f"({source}); acq {value:.3g}"
        )
        if incumbents is not None:
            k = len(data.pending)
            reason += (
                f"; EI averaged over {len(incumbents)} samples of the outcome{'s' * (k > 1)} of "
                f"{k} running trial{'s' * (k > 1)}, {pending_beats:.0%} of them better than the "
                "incumbent"
            )
        if region is not None:
            reason += f"; trust region {region.length:.3g}"
        if fidelity is not None:
            low = n - len(at_full)
            reason += f"; {low} of {n} observations at smaller resources (resource as an input)"
        if repeated is not None:
            reason = (
                f"GP {label} proposed the configuration of pruned trial {repeated} again; "
                f"a Sobol point instead (predicted {m_obj:.4g} ± {sd_obj:.3g})"
            )
        meta: dict[str, JSON] = {
            "phase": "model" if repeated is None else "model-repeat",
            "acquisition": self.acquisition,
            "mean": _json_float(m_obj),
            "std": _json_float(sd_obj),
            "acq": _json_float(value),
            "incumbent": _json_float(inc_obj),
            "incumbent_trial": inc_trial,
            "n_train": n,
            "n_pending": len(data.pending),
            "pending_beats_incumbent": pending_beats,
            "space": key,
            "theta": [float(v) for v in post.hyper.theta],
            "fit_n": fit.fit_n,
            "fit_trials": fit.fit_trials,
            "trust_region": None if region is None else float(region.length),
            "fidelity_top": None if fidelity is None else fidelity.top,
        }
        return Suggestion(out, reason=reason, meta=meta)

    def _acquisition(  # noqa: ANN202
        self,
        post: GPPosterior,
        enc: Encoding,
        incumbent: float,
        n: int,
        fantasies: Fantasies | None = None,
        incumbents: np.ndarray | None = None,
    ):
        prior_cols, prior_centres, prior_cat = [], [], []
        if self.prior_weight > 0:
            for i, dist in enumerate(enc.dists):
                if dist.default is not None:
                    prior_cols.append(i)
                    prior_centres.append(enc.encode_value(i, dist.default))
                    prior_cat.append(isinstance(dist, Categorical))
        cols = np.array(prior_cols, dtype=int)
        centres = np.array(prior_centres, dtype=float)
        is_cat = np.array(prior_cat, dtype=bool)
        weight = self.prior_weight / max(n, 1)
        inv_w2 = 1.0 / self.prior_width**2
        cat_penalty = 0.5 * _CAT_PRIOR_DISTANCE**2 * inv_w2
        use_ei = self.acquisition == "logei"
        kappa = math.sqrt(0.2 * enc.dim * math.log(2.0 * max(n, 1)))
        weights = None if fantasies is None else fantasies.alphas

        def acq(X: np.ndarray, with_grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
            if with_grad:
                mean, var, dmean, dvar = predict(post, X, with_grad=True, weights=weights)
            else:
                mean, var = predict(post, X, weights=weights)
            std = np.sqrt(var)
            grad = None
            if fantasies is not None:
                # log of the mean EI over the samples (a column of ``mean`` each): a
                # log-sum-exp, whose gradient weighs each sample's by its share of the sum.
                logs, d_mean, d_std = log_ei(mean, std[:, None], incumbents[None, :])
                top = logs.max(axis=1, keepdims=True)
                top = np.where(np.isfinite(top), top, 0.0)
                w = np.exp(logs - top)
                total = w.sum(axis=1)
                value = top[:, 0] + np.log(total) - math.log(logs.shape[1])
                if with_grad:
                    w /= total[:, None]
                    gm = np.einsum("bs,bs,bsd->bd", w, d_mean, dmean)
                    gs = (w * d_std).sum(axis=1) / (2.0 * std)
                    grad = gm + gs[:, None] * dvar
            else:
                if use_ei:
                    value, d_mean, d_std = log_ei(mean, std, incumbent)
                else:
                    value, d_mean, d_std = lower_confidence_bound(mean, std, kappa)
                if with_grad:
                    grad = d_mean[:, None] * dmean + (d_std / (2.0 * std))[:, None] * dvar
            if len(cols):
                act = enc.active(X)[:, cols] if enc.indicator else True
                diff = X[:, cols] - centres
                logp = np.where(is_cat, -cat_penalty * (diff != 0), -0.5 * diff * diff * inv_w2)
                logp = np.where(act, logp, 0.0)
                value = value + weight * logp.sum(axis=1)
                if grad is not None:
                    g = np.where(act & ~is_cat, -diff * inv_w2 * weight, 0.0)
                    grad[:, cols] += g
            return value, grad

        return acq
