"""Multi-fidelity benchmark: early stopping in hyperdial beside Optuna's pruners, at equal epochs.

Every method tunes the same learning-curve problems: a PyTorch MLP on scikit-learn's
``load_digits`` and on ``load_breast_cancer`` (epochs are the resource, the validation
log-loss is reported every epoch) and a cheap synthetic family of learning curves whose
rankings cross between early and late epochs. Each method runs until the epochs trained by
all its trials (pruned ones count the epochs they trained) reach the budget of random search
with ``--full-trials`` full-budget trials, times ``--budget-fraction``. The report gives the
best validation value (and, on the synthetic family, the regret) at 10%, 25%, 50% and 100%
of that budget, the fraction of random search's epochs each method needs to reach random
search's final quality, the wall time, ratios against Optuna's Hyperband, and the issue's
targets with met / not met.

hyperdial schedulers are looked up by name (``Hyperband``, ``ASHA``, ``BOHB``, and
``AutoScheduler``, ``create_study``'s default, in ``hyperdial.schedulers`` and their modules);
a missing one is listed as not run. The random-search baseline passes ``NoScheduler``
explicitly, since the default scheduler may prune an objective that reports. Optuna is a
benchmark-only extra (``pip install -e ".[benchmark]"``), and so is torch (``torch==2.13.0``,
never an unpinned one); without torch the MLP problems are skipped.

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/fidelity.py --seeds 5
    python benchmarks/fidelity.py --quick   # 2 seeds, 5% budget, synthetic only; prints only

The run rewrites its section of ``--output`` (default ``docs/benchmarks-fidelity.md``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import importlib
import importlib.util
import inspect
import json
import math
import multiprocessing
import os
import shlex
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from samplers import (  # noqa: E402
    THREAD_VARS,
    RunInfo,
    _collect_notes,
    _find_class,
    _one_thread,
    _quiet_optuna,
    _table,
    environment,
)
from samplers import write_section as _write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks-fidelity.md"
SECTION = "fidelity"
FRACTIONS = (0.10, 0.25, 0.50, 1.00)
REDUCTION_FACTOR = 3
MIN_RESOURCE = 1
TARGET_FRACTION = 0.25  # the issue: reach random search's final quality within 25% of its epochs
PEER = "optuna-tpe-hb"  # ratios are against Optuna's Hyperband (its default sampler, TPE)
TARGETED = (  # hyperdial's Hyperband family; hd-auto and hd-hb-model are the default's rules
    "hd-auto",
    "hd-hb-model",
    "hd-hb",
    "hd-hb-tpe-model",
    "hd-hb-random",
    "hd-hb-random-model",
    "hd-bohb",
)
MAX_TRIALS = 100_000  # a safety cap; the epoch budget stops every run long before
LOSS_CAP = 10.0  # a diverged network's log-loss (NaN, inf or huge) is reported as this
QUICK_PROBLEMS = ("synthetic",)


# ------------------------------------------------------------------------- problems
def suggest(trial: Any) -> dict[str, Any]:
    """Suggest the MLP's hyperparameters (the synthetic family reads the same ones)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128]),
        "width": trial.suggest_int("width", 16, 256, log=True),
        "layers": trial.suggest_int("layers", 1, 3),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
    }


def _seed_of(*keys: int) -> int:
    """Return a 31-bit seed derived from ``keys`` (stable across processes and runs)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0] >> 1)


def _config_key(params: Mapping[str, Any]) -> int:
    """Return a stable integer for a configuration (the synthetic noise depends on it)."""
    text = ",".join(f"{k}={params[k]!r}" for k in sorted(params))
    return zlib.crc32(text.encode())


class Model:
    """A configuration being trained: one epoch at a time, resumable from a checkpoint."""

    epoch: int = 0

    def train_epoch(self) -> float:
        """Train one more epoch and return the validation value after it."""
        raise NotImplementedError

    def true_value(self) -> float:
        """Return the noise-free value at the current epoch (synthetic family), else NaN."""
        return math.nan

    def checkpoint(self) -> dict[str, Any]:
        """Return what a promoted child needs to resume."""
        return {"epoch": self.epoch}


@dataclass(frozen=True)
class Problem:
    """A learning-curve problem.

    Attributes:
        name: Identifier on the command line.
        max_resource: Epochs of a full-budget trial.
        value: What is minimised, in words.
        description: One line for the report.
        f_star: The known minimum of the full-budget value (regret = value - f_star), if any.
        needs: Modules the problem imports.
        start: ``start(params, seed, root, checkpoint)`` returns a :class:`Model` (``root``:
            number of the trial that started the lineage; ``checkpoint``: the parent's).
    """

    name: str
    max_resource: int
    value: str
    description: str
    start: Callable[[Mapping[str, Any], int, int, Mapping[str, Any] | None], Model]
    f_star: float | None = None
    needs: tuple[str, ...] = ()

    def prepare(self, seed: int) -> None:
        """Load what the runs of ``seed`` share, outside their timing."""
        if self.name in _DATASETS:
            _dataset(self.name, seed)


# --- the synthetic family
SYNTH_NOISE = 0.005
SYNTH_F_STAR = 0.05


def _unit(params: Mapping[str, Any]) -> tuple[float, ...]:
    """Return the configuration's coordinates in [0, 1]: lr, batch, width, layers, drop, wd."""
    a = (math.log10(params["learning_rate"]) + 4) / 3
    b = [16, 32, 64, 128].index(params["batch_size"]) / 3
    w = math.log2(params["width"] / 16) / 4
    layers = (params["layers"] - 1) / 2
    d = params["dropout"] / 0.5
    k = (math.log10(params["weight_decay"]) + 6) / 4
    return a, b, w, layers, d, k


def synthetic_final(params: Mapping[str, Any]) -> float:
    """Return the full-budget value of a configuration; its minimum is 0.05.

    The minimum is at learning rate ``10**-2.55``, batch 32, width 128, 2 layers, dropout
    0.25 and weight decay 1e-4 (every term is 0 there, and the width and batch terms vanish
    on the integer and categorical grid).
    """
    a, b, w, layers, d, k = _unit(params)
    return (
        SYNTH_F_STAR
        + 0.6 * (a - 0.4 - 0.25 * b) ** 2  # the best learning rate grows with the batch
        + 0.25 * (w - 0.75) ** 2
        + 0.08 * (2 * layers - 1) ** 2
        + 0.3 * (d - 0.5) ** 2
        + 0.15 * (k - 0.5) ** 2
        + 0.01 * (3 * b - 1) ** 2
    )


def synthetic_shape(params: Mapping[str, Any]) -> tuple[float, float]:
    """Return ``(gap, rate)`` of the configuration's learning curve.

    High learning rates, small batches and no dropout converge fast (high ``rate``, small
    ``gap``) but are not the best at the end; dropout, depth and weight decay start slowly.
    So rankings cross: at epoch 1 the loss correlates negatively with the final value
    (Spearman about -0.16 over random configurations), at 9 about 0.5, at 27 about 0.8.
    """
    a, b, w, layers, d, k = _unit(params)
    rate = min(max(0.15 + 1.2 * a + 0.4 * (1 - b) - 0.6 * d + 0.2 * w - 0.2 * layers, 0.1), 2.5)
    gap = 0.3 + 0.9 * d + 0.6 * (1 - a) + 0.3 * layers + 0.3 * k
    return gap, rate


class SyntheticModel(Model):
    """``loss(e) = final + gap * (e**-rate - R**-rate) + noise``: ``final`` exactly at ``R``."""

    def __init__(self, params: Mapping[str, Any], seed: int, epoch: int, max_resource: int):
        self.final = synthetic_final(params)
        self.gap, self.rate = synthetic_shape(params)
        self.key = _config_key(params)
        self.seed = seed
        self.epoch = epoch
        self.max_resource = max_resource

    def _clean(self, e: int) -> float:
        return self.final + self.gap * (e**-self.rate - self.max_resource**-self.rate)

    def train_epoch(self) -> float:
        self.epoch += 1
        # The noise depends on the run's seed, the configuration and the epoch only, so a
        # promoted child continues its parent's curve and every method sees the same curves.
        noise = np.random.default_rng([self.seed, self.key, self.epoch]).normal(0, SYNTH_NOISE)
        return self._clean(self.epoch) + float(noise)

    def true_value(self) -> float:
        return self._clean(self.epoch)


def _start_synthetic(max_resource: int) -> Callable[..., Model]:
    def start(params: Mapping[str, Any], seed: int, root: int, ckpt: Mapping[str, Any] | None):
        return SyntheticModel(params, seed, int(ckpt["epoch"]) if ckpt else 0, max_resource)

    return start


# --- the MLPs
_DATASETS = {"digits": "load_digits", "breast_cancer": "load_breast_cancer"}
VALIDATION_SHARE = 0.5


@functools.cache
def _dataset(name: str, seed: int) -> tuple[Any, Any, Any, Any]:
    """Return standardised train and validation tensors, split (stratified) by ``seed``."""
    import sklearn.datasets
    import torch
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = getattr(sklearn.datasets, _DATASETS[name])(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=VALIDATION_SHARE, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_tr)
    as_x = functools.partial(torch.tensor, dtype=torch.float32)
    return (
        as_x(scaler.transform(x_tr)),
        torch.tensor(y_tr, dtype=torch.long),
        as_x(scaler.transform(x_va)),
        torch.tensor(y_va, dtype=torch.long),
    )


class MLPModel(Model):
    """A ReLU MLP with dropout, trained with Adam (L2 weight decay) on CPU, one thread."""

    def __init__(
        self,
        dataset: str,
        params: Mapping[str, Any],
        seed: int,
        root: int,
        ckpt: Mapping[str, Any] | None,
    ) -> None:
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.x_tr, self.y_tr, self.x_va, self.y_va = _dataset(dataset, seed)
        self.seed, self.root = seed, root
        self.batch_size = int(params["batch_size"])
        n_classes = int(self.y_tr.max()) + 1
        torch.manual_seed(_seed_of(seed, root))  # the initial weights: seed and trial number
        layers: list[Any] = []
        width_in = self.x_tr.shape[1]
        for _ in range(int(params["layers"])):
            layers += [torch.nn.Linear(width_in, int(params["width"])), torch.nn.ReLU()]
            if params["dropout"] > 0:
                layers.append(torch.nn.Dropout(float(params["dropout"])))
            width_in = int(params["width"])
        layers.append(torch.nn.Linear(width_in, n_classes))
        self.net = torch.nn.Sequential(*layers)
        self.opt = torch.optim.Adam(
            self.net.parameters(),
            lr=float(params["learning_rate"]),
            weight_decay=float(params["weight_decay"]),
            foreach=True,
        )
        self.epoch = 0
        if ckpt:
            self.net.load_state_dict(ckpt["model"])
            self.opt.load_state_dict(ckpt["optim"])
            self.epoch = int(ckpt["epoch"])

    def train_epoch(self) -> float:
        torch = self.torch
        # Seeded per epoch (dropout and shuffling), so a resumed child trains as its parent
        # would have gone on.
        epoch_seed = _seed_of(self.seed, self.root, self.epoch + 1)
        torch.manual_seed(epoch_seed)
        order = torch.randperm(len(self.x_tr), generator=torch.Generator().manual_seed(epoch_seed))
        self.net.train()
        cross_entropy = torch.nn.functional.cross_entropy
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            self.opt.zero_grad(set_to_none=True)
            cross_entropy(self.net(self.x_tr[idx]), self.y_tr[idx]).backward()
            self.opt.step()
        self.epoch += 1
        self.net.eval()
        with torch.inference_mode():
            loss = float(cross_entropy(self.net(self.x_va), self.y_va))
        return loss if math.isfinite(loss) and loss < LOSS_CAP else LOSS_CAP

    def checkpoint(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "model": self.net.state_dict(),
            "optim": self.opt.state_dict(),
        }


def _start_mlp(dataset: str) -> Callable[..., Model]:
    def start(params: Mapping[str, Any], seed: int, root: int, ckpt: Mapping[str, Any] | None):
        return MLPModel(dataset, params, seed, root, ckpt)

    return start


PROBLEMS: tuple[Problem, ...] = (
    Problem(
        "digits",
        27,
        "validation log-loss",
        "MLP on load_digits (1,797 images, 10 classes; half for validation, stratified by "
        "seed; standardised)",
        _start_mlp("digits"),
        needs=("torch", "sklearn"),
    ),
    Problem(
        "breast_cancer",
        27,
        "validation log-loss",
        "MLP on load_breast_cancer (569 samples, 30 features, 2 classes; half for validation)",
        _start_mlp("breast_cancer"),
        needs=("torch", "sklearn"),
    ),
    Problem(
        "synthetic",
        81,
        "loss at the last epoch trained (noisy)",
        "synthetic curves `final + gap * (e^-rate - 81^-rate) + N(0, 0.005)` over the MLP's "
        "space; rankings cross between early and late epochs; min final = 0.05",
        _start_synthetic(81),
        f_star=SYNTH_F_STAR,
    ),
)


def get_problem(name: str) -> Problem:
    """Return the problem called ``name``."""
    for p in PROBLEMS:
        if p.name == name:
            return p
    raise KeyError(f"unknown problem {name!r}; choose from {[p.name for p in PROBLEMS]}")


# -------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class MethodSpec:
    """A tuning method the benchmark can build for any seed and maximum resource.

    Attributes:
        key: Identifier on the command line.
        label: Row header.
        library: ``"hyperdial"`` or ``"optuna"``.
        make: ``make(seed, max_resource)`` returns ``(sampler, scheduler or pruner)``; a
            ``None`` sampler means the library's default.
        cost: Rough relative cost, to start the slow runs first.
    """

    key: str
    label: str
    library: str
    make: Callable[[int, int], tuple[Any, Any]]
    cost: float = 1.0


_SCHEDULERS = {
    "NoScheduler": ("hyperdial.schedulers", "hyperdial.schedulers.base"),
    "AutoScheduler": ("hyperdial.schedulers", "hyperdial.schedulers.auto"),
    "Hyperband": ("hyperdial.schedulers", "hyperdial.schedulers.hyperband"),
    "ASHA": ("hyperdial.schedulers", "hyperdial.schedulers.successive_halving"),
    "BOHB": ("hyperdial.schedulers", "hyperdial.schedulers.bohb"),
}
_SAMPLERS = {
    "RandomSampler": ("hyperdial.samplers", "hyperdial.samplers.random"),
    "TPESampler": ("hyperdial.samplers", "hyperdial.samplers.tpe"),
}


def _rungs(cls: type, max_resource: int) -> Any:
    return cls(
        min_resource=MIN_RESOURCE, max_resource=max_resource, reduction_factor=REDUCTION_FACTOR
    )


def _hd_maker(
    scheduler: type | None, sampler: type | None, rungs: bool = True
) -> Callable[[int, int], Any]:
    """Return a maker; ``None`` classes are the library's defaults (``create_study``'s)."""

    def make(seed: int, max_resource: int) -> tuple[Any, Any]:
        if scheduler is None:
            made = None
        elif rungs:
            made = _rungs(scheduler, max_resource)
        else:
            made = scheduler()
        return None if sampler is None else sampler(seed=seed), made

    return make


def _never_prunes() -> type:
    """Return a scheduler class that never prunes (``create_study``'s default may prune)."""
    cls, _ = _find_class("NoScheduler", _SCHEDULERS["NoScheduler"])
    if cls is not None:
        return cls
    from hyperdial.schedulers.base import Scheduler

    return Scheduler  # the base class's defaults never prune and always launch fresh


def _optuna_maker(sampler: str, pruner: str) -> Callable[[int, int], Any]:
    def make(seed: int, max_resource: int) -> tuple[Any, Any]:
        import optuna

        if pruner == "HyperbandPruner":
            made = optuna.pruners.HyperbandPruner(
                min_resource=MIN_RESOURCE,
                max_resource=max_resource,
                reduction_factor=REDUCTION_FACTOR,
            )
        else:  # SuccessiveHalvingPruner has no maximum: unpruned trials train to the end
            made = optuna.pruners.SuccessiveHalvingPruner(
                min_resource=MIN_RESOURCE, reduction_factor=REDUCTION_FACTOR
            )
        return getattr(optuna.samplers, sampler)(seed=seed), made

    return make


def _default_sampler_name() -> str:
    try:
        import hyperdial

        return type(hyperdial.create_study().sampler).__name__
    except Exception as exc:  # pragma: no cover - create_study is stable
        return f"default ({type(exc).__name__})"


def discover_methods() -> tuple[dict[str, MethodSpec], dict[str, str]]:
    """Return the methods that can run here, by key, and the skipped ones with the reason."""
    specs: dict[str, MethodSpec] = {}
    skipped: dict[str, str] = {}
    found = {}
    for name, modules in {**_SCHEDULERS, **_SAMPLERS}.items():
        found[name] = _find_class(name, modules)
    random_cls, why_random = found["RandomSampler"]
    if random_cls is None:
        skipped["random-full"] = f"hyperdial {why_random}"
    else:
        specs["random-full"] = MethodSpec(
            "random-full",
            "Random, full budget",
            "hyperdial",
            _hd_maker(_never_prunes(), random_cls, rungs=False),
            0.5,
        )
    default = _default_sampler_name()
    rows = (
        ("hd-hb", "Hyperband", None, f"hd Hyperband ({default})", 3.0, {}),
        ("hd-hb-random", "Hyperband", "RandomSampler", "hd Hyperband (Random)", 1.0, {}),
        ("hd-asha", "ASHA", None, f"hd ASHA ({default})", 3.0, {}),
        ("hd-bohb", "BOHB", "TPESampler", "hd BOHB (TPE)", 2.0, {}),
        (
            "hd-hb-model",
            "Hyperband",
            None,
            f"hd Hyperband, rungs by predicted final ({default})",
            3.0,
            {"rank_by": "model"},
        ),
        (
            "hd-hb-tpe-model",
            "Hyperband",
            "TPESampler",
            "hd Hyperband, rungs by predicted final (TPE)",
            2.0,
            {"rank_by": "model"},
        ),
        (
            "hd-hb-random-model",
            "Hyperband",
            "RandomSampler",
            "hd Hyperband, rungs by predicted final (Random)",
            1.0,
            {"rank_by": "model"},
        ),
    )
    for key, scheduler, sampler, label, cost, options in rows:
        sched_cls, why = found[scheduler]
        if sched_cls is None:
            skipped[key] = f"hyperdial {why}"
            continue
        if options:
            if "rank_by" not in inspect.signature(sched_cls).parameters:
                skipped[key] = f"hyperdial {scheduler} has no rank_by"
                continue
            sched_cls = functools.partial(sched_cls, **options)
        sampler_cls = None
        if sampler is not None:
            sampler_cls, why = found[sampler]
            if sampler_cls is None:
                skipped[key] = f"hyperdial {why}"
                continue
        specs[key] = MethodSpec(key, label, "hyperdial", _hd_maker(sched_cls, sampler_cls), cost)
    auto_cls, why = found["AutoScheduler"]
    if auto_cls is None:
        skipped["hd-auto"] = f"hyperdial {why}"
    else:  # create_study()'s defaults: AutoScheduler (it finds the resources) and sampler
        label = f"hd AutoScheduler ({default})"
        make = _hd_maker(auto_cls, None, rungs=False)
        specs["hd-auto"] = MethodSpec("hd-auto", label, "hyperdial", make, 3.0)
    optuna_rows = (
        ("optuna-tpe-hb", "TPESampler", "HyperbandPruner", "Optuna TPE + Hyperband", 1.5),
        (
            "optuna-tpe-sh",
            "TPESampler",
            "SuccessiveHalvingPruner",
            "Optuna TPE + SuccessiveHalving",
            1.5,
        ),
        ("optuna-random-hb", "RandomSampler", "HyperbandPruner", "Optuna Random + Hyperband", 1.0),
    )
    have_optuna = importlib.util.find_spec("optuna") is not None
    for key, sampler, pruner, label, cost in optuna_rows:
        if not have_optuna:
            skipped[key] = "optuna is not installed (pip install -e '.[benchmark]')"
            continue
        specs[key] = MethodSpec(key, label, "optuna", _optuna_maker(sampler, pruner), cost)
    return specs, skipped


_SPECS: dict[str, MethodSpec] | None = None


def _spec(key: str) -> MethodSpec:
    global _SPECS
    if _SPECS is None:
        _SPECS = discover_methods()[0]
    return _SPECS[key]


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class Task:
    """One run: a method on a problem with a seed until ``budget`` epochs are trained."""

    problem: str
    method: str
    seed: int
    budget: int


@dataclass
class RunResult:
    """What one run measured.

    Attributes:
        full: One ``[epochs so far, value, noise-free value]`` per trial that finished at the
            maximum resource, in the order they finished (``epochs so far`` counts every epoch
            trained by every trial up to then). The noise-free value is NaN for the MLPs.
        epochs: Epochs trained by all trials; equals ``task.budget`` unless the run failed.
        trials: Trials started (including the one stopped by the budget).
        pruned: Trials the method stopped early (not counting the one the budget stopped).
        epochs_by_trial: Epochs each trial trained, by trial number (for the checks).
        train_s: Seconds building and training models (not in ``suggest_*``, where
            hyperdial's sampler works, nor in ``report`` and ``should_prune``), in all.
        wall_s: Seconds for the whole run (study, sampler, scheduler and training).
        notes: Distinct warnings the libraries emitted.
        error: Why the run stopped early, if it did.
    """

    task: Task
    full: list[list[float]] = field(default_factory=list)
    epochs: int = 0
    trials: int = 0
    pruned: int = 0
    epochs_by_trial: list[int] = field(default_factory=list)
    train_s: float = 0.0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


class _BudgetSpent(Exception):
    """Raised inside the objective when the run's epoch budget is spent."""


class _Counter:
    """The epochs a run has trained, shared by its trials (one process, one thread)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.spent = 0


def _make_objective(
    problem: Problem,
    task: Task,
    library: str,
    counter: _Counter,
    result: RunResult,
) -> Callable[[Any], float]:
    """Return the objective: train epoch by epoch, report every epoch, obey the pruner."""
    if library == "optuna":
        import optuna

        pruned_exc: type[Exception] = optuna.TrialPruned
    else:
        import hyperdial

        pruned_exc = hyperdial.TrialPruned
    max_resource = problem.max_resource
    clock = time.perf_counter

    def objective(trial: Any) -> float:
        params = suggest(trial)
        budget = getattr(trial, "budget", None)  # hyperdial: the scheduler's launch budget
        end = max_resource if budget is None else min(max_resource, math.ceil(budget - 1e-9))
        lineage = library == "hyperdial" and trial.parent is not None  # a promotion
        ckpt = trial.load_checkpoint() if lineage else None
        root = int(ckpt["root"]) if ckpt else trial.number
        t0 = clock()
        model = problem.start(params, task.seed, root, ckpt)
        result.train_s += clock() - t0
        start = model.epoch
        value = float(ckpt["value"]) if ckpt and "value" in ckpt else math.nan
        finished = False
        try:
            while model.epoch < end:
                if counter.spent >= counter.budget:
                    raise _BudgetSpent
                t0 = clock()
                value = model.train_epoch()
                result.train_s += clock() - t0
                counter.spent += 1
                trial.report(value, model.epoch)
                if trial.should_prune():
                    result.pruned += 1
                    raise pruned_exc(f"pruned at epoch {model.epoch}")
            finished = True
        except _BudgetSpent:
            raise pruned_exc("the run's epoch budget is spent") from None
        finally:
            trained = model.epoch - start
            n = trial.number
            result.epochs_by_trial += [0] * (n + 1 - len(result.epochs_by_trial))
            result.epochs_by_trial[n] += trained
        if finished and model.epoch == max_resource and math.isfinite(value):
            result.full.append([counter.spent, value, model.true_value()])
        if library == "hyperdial" and end < max_resource:  # a rung below the top: promotable
            trial.save_checkpoint({**model.checkpoint(), "root": root, "value": value})
        return value

    return objective


def run_task(task: Task) -> RunResult:
    """Run one method on one problem until ``task.budget`` epochs are trained."""
    problem = get_problem(task.problem)
    spec = _spec(task.method)
    problem.prepare(task.seed)
    result = RunResult(task)
    counter = _Counter(task.budget)

    def stop_at_budget(study: Any, frozen: Any) -> None:
        if counter.spent >= counter.budget:
            study.stop()

    name = f"fidelity-{task.problem}-{task.method}-{task.seed}"  # reproducible runs
    start = time.perf_counter()
    with _one_thread(), _collect_notes() as notes, contextlib.ExitStack() as stack:
        try:
            sampler, scheduler = spec.make(task.seed, problem.max_resource)
            objective = _make_objective(problem, task, spec.library, counter, result)
            if spec.library == "optuna":
                _quiet_optuna()
                import optuna

                # Optuna's HyperbandPruner draws brackets from a hash of the study's name.
                study: Any = optuna.create_study(
                    study_name=name, sampler=sampler, pruner=scheduler
                )
                study.optimize(objective, n_trials=MAX_TRIALS, callbacks=[stop_at_budget])
            else:
                import hyperdial

                # Checkpoints (lineage schedulers only) go to a directory removed afterwards.
                artifacts = stack.enter_context(tempfile.TemporaryDirectory(prefix="hd-fid-"))
                study = hyperdial.create_study(
                    name, sampler=sampler, scheduler=scheduler, seed=task.seed, artifacts=artifacts
                )
                study.optimize(
                    objective,
                    n_trials=MAX_TRIALS,
                    callbacks=[stop_at_budget],
                    show_progress_bar=False,
                )
            result.trials = len(study.trials)
            if counter.spent < counter.budget:
                result.error = f"stopped after {len(study.trials)} trials, below the budget"
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:300]
    result.epochs = counter.spent
    result.notes = list(notes.seen)
    result.wall_s = time.perf_counter() - start
    return result


def run_task_dict(task: dict[str, Any]) -> dict[str, Any]:
    """Run a task given and returned as plain data (what crosses process boundaries)."""
    return asdict(run_task(Task(**task)))


def _result_of(d: Mapping[str, Any]) -> RunResult:
    d = dict(d)
    return RunResult(Task(**d.pop("task")), **d)


def _init_worker() -> None:
    for var in THREAD_VARS:
        os.environ[var] = "1"
    for name in ("optuna", "scipy.stats", "torch", "sklearn.datasets"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _worker_module() -> Any:
    """Return this script as a module the spawned workers can import by name.

    Spawned workers unpickle the function they run by module name; ``benchmarks/`` is on
    ``sys.path`` (this script puts it there and the workers inherit it), so ``fidelity``
    imports there whether the parent ran the script or loaded it under another name.
    """
    if __name__ == "fidelity":
        return sys.modules[__name__]
    return importlib.import_module("fidelity")


def run_all(tasks: Sequence[Task], jobs: int) -> list[RunResult]:
    """Run ``tasks`` in ``jobs`` spawned processes (in this one if ``jobs == 1``)."""

    def cost(t: Task) -> float:
        weight = 20.0 if get_problem(t.problem).needs else 1.0
        return _spec(t.method).cost * weight * t.budget

    ordered = sorted(tasks, key=cost, reverse=True)
    results: list[RunResult] = []
    start = time.perf_counter()

    def progress(r: RunResult) -> None:
        results.append(r)
        elapsed = time.perf_counter() - start
        status = f" ERROR {r.error}" if r.error else ""
        print(
            f"[{len(results)}/{len(ordered)} runs, {elapsed / 60:.1f} min] {r.task.problem} "
            f"{r.task.method} seed {r.task.seed}: {r.trials} trials, {r.epochs} epochs, "
            f"{r.wall_s:.1f} s{status}",
            file=sys.stderr,
            flush=True,
        )

    if jobs <= 1:
        for t in ordered:
            progress(run_task(t))
        return results
    worker = _worker_module()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=worker._init_worker
    ) as pool:
        futures = [pool.submit(worker.run_task_dict, asdict(t)) for t in ordered]
        for future in concurrent.futures.as_completed(futures):
            progress(_result_of(future.result()))
    return results


# -------------------------------------------------------------------------- analysis
def incumbent_at(result: RunResult, epochs: float) -> tuple[float, float] | None:
    """Return ``(value, noise-free value)`` of the best full-budget trial within ``epochs``.

    The incumbent is the full-budget trial with the lowest observed value; ``None`` if no
    trial had reached the maximum resource by then.
    """
    best: tuple[float, float] | None = None
    for spent, value, true in result.full:
        if spent > epochs + 1e-9:
            break
        if best is None or value < best[0]:
            best = (value, true)
    return best


def quality(problem: Problem, incumbent: tuple[float, float] | None) -> float | None:
    """Return what the report compares: the regret if ``f*`` is known, else the value."""
    if incumbent is None:
        return None
    if problem.f_star is not None:
        return incumbent[1] - problem.f_star
    return incumbent[0]


def epochs_to_reach(problem: Problem, result: RunResult, target: float) -> float | None:
    """Return the epochs after which the incumbent's quality is ``<= target`` (or ``None``)."""
    for spent, _, _ in result.full:
        q = quality(problem, incumbent_at(result, spent))
        if q is not None and q <= target + 1e-12:
            return spent
    return None


@dataclass
class Cell:
    """A mean over seeds with its standard error; ``n`` of ``of`` seeds had a value."""

    mean: float
    se: float
    n: int
    of: int


def _cell(values: Sequence[float | None]) -> Cell | None:
    got = [v for v in values if v is not None and math.isfinite(v)]
    if not got:
        return None
    arr = np.asarray(got, dtype=float)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return Cell(float(arr.mean()), se, len(arr), len(values))


@dataclass
class Summary:
    """One method on one problem, over seeds."""

    at: dict[float, Cell | None]  # quality at each fraction of the budget
    value_at: dict[float, Cell | None]  # observed best value (differs on the synthetic family)
    to_random: Cell | None  # fraction of random search's epochs to reach its final quality
    wall: Cell | None
    train: Cell | None
    trials: float
    full: float
    pruned: float
    runs: int


def summarise(
    problem: Problem, results: Sequence[RunResult], fractions: Sequence[float] = FRACTIONS
) -> dict[str, Summary]:
    """Return the summary of each method on ``problem`` (runs that failed are left out)."""
    ok = [r for r in results if r.task.problem == problem.name and r.error is None]
    baseline = {r.task.seed: r for r in ok if r.task.method == "random-full"}
    out = {}
    for method in dict.fromkeys(r.task.method for r in ok):
        runs = [r for r in ok if r.task.method == method]
        at, value_at = {}, {}
        for f in fractions:
            incs = [incumbent_at(r, f * r.task.budget) for r in runs]
            at[f] = _cell([quality(problem, i) for i in incs])
            value_at[f] = _cell([None if i is None else i[0] for i in incs])
        reach: list[float | None] = []
        for r in runs:
            base = baseline.get(r.task.seed)
            target = None if base is None else quality(problem, incumbent_at(base, math.inf))
            if target is None:
                continue
            spent = epochs_to_reach(problem, r, target)
            reach.append(None if spent is None else spent / r.task.budget)
        to_random = _cell(reach)
        if to_random is None and reach:  # no seed reached it
            to_random = Cell(math.nan, 0.0, 0, len(reach))
        out[method] = Summary(
            at=at,
            value_at=value_at,
            to_random=to_random,
            wall=_cell([r.wall_s for r in runs]),
            train=_cell([r.train_s for r in runs]),
            trials=float(np.mean([r.trials for r in runs])),
            full=float(np.mean([len(r.full) for r in runs])),
            pruned=float(np.mean([r.pruned for r in runs])),
            runs=len(runs),
        )
    return out


@dataclass(frozen=True)
class Verdict:
    """One target for one method on one problem."""

    problem: str
    method: str
    target: str
    met: bool | None  # None: cannot be judged (a method or the baseline is missing)
    detail: str


def targets(
    problems: Sequence[Problem],
    summaries: Mapping[str, Mapping[str, Summary]],
    labels: Mapping[str, str],
) -> list[Verdict]:
    """Return the issue's two targets for each of hyperdial's Hyperband-family methods."""
    out = []
    for p in problems:
        s = summaries.get(p.name, {})
        peer = s.get(PEER)
        peer_final = None if peer is None else peer.at[1.0]
        for m in TARGETED:
            if m not in s:
                continue
            label = labels.get(m, m)
            reach = s[m].to_random
            if reach is None or reach.of == 0:
                met, detail = None, "no random-search baseline to compare with"
            elif reach.n < reach.of:
                met = False
                detail = f"not reached in {reach.of - reach.n} of {reach.of} seeds"
            else:
                met = reach.mean <= TARGET_FRACTION
                detail = f"{reach.mean:.2f} of its epochs (mean of {reach.n} seeds)"
            out.append(
                Verdict(
                    p.name,
                    label,
                    f"random search's final within {TARGET_FRACTION:.0%} (every seed)",
                    met,
                    detail,
                )
            )
            early = s[m].at.get(TARGET_FRACTION)
            base = s.get("random-full")
            base_final = None if base is None else base.at[1.0]
            if early is None or base_final is None:
                met, detail = None, "no random-search baseline to compare with"
            else:
                met = early.mean <= base_final.mean
                detail = f"{early.mean:.4g} vs {base_final.mean:.4g}"
            out.append(
                Verdict(
                    p.name,
                    label,
                    f"mean best at {TARGET_FRACTION:.0%} of the epochs below random search's "
                    "mean final",
                    met,
                    detail,
                )
            )
            mine = s[m].at[1.0]
            what = "regret" if p.f_star is not None else "value"
            if mine is None or peer_final is None:
                met, detail = None, f"no final {what} for it or for Optuna's Hyperband"
            else:
                met = mine.mean < peer_final.mean
                detail = f"{what} {mine.mean:.4g} vs {peer_final.mean:.4g}"
            out.append(Verdict(p.name, label, "lower final than Optuna Hyperband", met, detail))
    return out


# ------------------------------------------------------------------------- rendering
def _fmt(cell: Cell | None, digits: int = 3) -> str:
    if cell is None:
        return "—"
    text = f"{cell.mean:.{digits}g} ± {cell.se:.1g}"
    return text if cell.n == cell.of else f"{text} ({cell.n}/{cell.of})"


def _fmt_reach(cell: Cell | None) -> str:
    if cell is None or cell.of == 0:
        return "—"
    if cell.n == 0:
        return "not reached"
    text = f"{cell.mean:.2f}"
    return text if cell.n == cell.of else f"{text} ({cell.n}/{cell.of} seeds)"


def _ratio(mine: Cell | None, peer: Cell | None) -> str:
    if mine is None or peer is None or peer.mean == 0:
        return "—"
    return f"{mine.mean / peer.mean:.2f}"


def _command(argv: Sequence[str]) -> str:
    threads = " ".join(f"{v}=1" for v in THREAD_VARS[:2])
    return f"{threads} python benchmarks/fidelity.py {shlex.join(argv)}".strip()


def render(
    results: Sequence[RunResult],
    problems: Sequence[Problem],
    methods: Sequence[MethodSpec],
    skipped: Mapping[str, str],
    settings: Mapping[str, Any],
    info: RunInfo,
) -> str:
    """Return the Markdown report."""
    labels = {m.key: m.label for m in methods}
    keys = [m.key for m in methods]
    seeds, full_trials, fraction = settings["seeds"], settings["full_trials"], settings["fraction"]
    counts: dict[str, set[int]] = {}
    for r in results:
        counts.setdefault(r.task.method, set()).add(r.task.seed)
    mixed = (
        " at most (see the seeds per method below)"
        if len({len(v) for v in counts.values()}) > 1
        else ""
    )
    out = [
        "## Multi-fidelity: early stopping at equal epochs",
        "",
        *info.lines(),
        "",
        f"{seeds} seed(s) per method and problem{mixed}. Every method trains until the epochs "
        f"of all its trials (a pruned trial counts the epochs it trained; the trial running "
        f"when the budget is spent stops there) reach the budget of random search with "
        f"{full_trials} full-budget trials"
        + (f" times {fraction:g}" if fraction != 1 else "")
        + ". "
        f"Minimum resource {MIN_RESOURCE} epoch, reduction factor {REDUCTION_FACTOR}, maximum "
        "resource as in the problem table. The hyperdial schedulers prune inside trials (prune "
        "mode, their default); AutoScheduler, create_study's default, picks its method and "
        "resources from the study. Optuna's SuccessiveHalvingPruner has no maximum resource: "
        "trials it does not prune train to the problem's maximum.",
        "",
        "The incumbent is the full-budget trial with the lowest observed value; cells show its "
        "value (MLPs: validation log-loss; synthetic: regret, the noise-free final value minus "
        "the known minimum) once a fraction of the budget is spent, as mean ± standard error "
        "over seeds, with (n/N) when only n of N seeds had a full-budget trial by then. "
        "*To random's final* is the fraction of the budget after which the incumbent is at "
        "least as good as random search's final incumbent of the same seed (mean over seeds; "
        "(n/N seeds) when only n reached it). *Trials (full)*: trials started (those that "
        "reached the maximum resource), mean over seeds. *Wall s* is the whole run; "
        "*training s* the part spent building and training models, the rest is the library "
        "(sampler, scheduler, storage). Ratios are the method's mean over that of Optuna's "
        "Hyperband with TPE (lower is better for both).",
        "",
        "Methods: " + ", ".join(f"{m.label} (`{m.key}`)" for m in methods) + ".",
    ]
    if mixed:  # merged runs with more seeds for some methods
        out[-1] += " Seeds per method: " + ", ".join(
            f"`{m.key}` {len(counts[m.key])}" for m in methods if m.key in counts
        )
        out[-1] += "; a method's cells are over its own seeds."
    if skipped:
        out += ["", "Not run: " + "; ".join(f"`{k}`: {v}" for k, v in skipped.items()) + "."]
    out += ["", "### Problems", ""]
    rows = []
    for p in problems:
        budget = round(full_trials * fraction * p.max_resource)
        rows.append([p.name, str(p.max_resource), str(budget), p.value, p.description])
    out.append(_table(["problem", "max epochs", "epoch budget", "value", "description"], rows))
    summaries = {p.name: summarise(p, results) for p in problems}
    for p in problems:
        s = summaries[p.name]
        if not s:
            continue
        what = "regret" if p.f_star is not None else "best value"
        out += ["", f"### {p.name}", ""]
        peer = s.get(PEER)
        header = (
            ["method"]
            + [f"{what} @{f:.0%}" for f in FRACTIONS]
            + [
                "to random's final",
                "trials (full)",
                "wall s",
                "training s",
                "final ÷ Optuna HB",
                "wall ÷ Optuna HB",
            ]
        )
        rows = []
        for k in keys:
            if k not in s:
                continue
            m = s[k]
            rows.append(
                [labels[k]]
                + [_fmt(m.at[f]) for f in FRACTIONS]
                + [
                    _fmt_reach(m.to_random),
                    f"{m.trials:.0f} ({m.full:.0f})",
                    _fmt(m.wall),
                    _fmt(m.train),
                    _ratio(m.at[1.0], None if peer is None else peer.at[1.0]),
                    _ratio(m.wall, None if peer is None else peer.wall),
                ]
            )
        out.append(_table(header, rows))
        if p.f_star is not None:
            out += ["", f"Best observed value (noisy) on {p.name}:", ""]
            rows = [
                [labels[k]] + [_fmt(s[k].value_at[f], 4) for f in FRACTIONS]
                for k in keys
                if k in s
            ]
            out.append(_table(["method"] + [f"value @{f:.0%}" for f in FRACTIONS], rows))
    out += ["", "### Targets", ""]
    verdicts = targets(problems, summaries, labels)
    if not verdicts:
        out.append("- No hyperdial Hyperband-family method ran; the targets cannot be judged.")
    for v in verdicts:
        state = "cannot be judged" if v.met is None else ("met" if v.met else "**not met**")
        out.append(f"- {v.problem}, {v.method}: {v.target}: {state} ({v.detail})")
    out += _notes(results)
    return "\n".join(out) + "\n"


def _notes(results: Sequence[RunResult]) -> list[str]:
    out = ["", "### Notes", ""]
    errors: dict[tuple[str, str], list[str]] = {}
    for r in results:
        if r.error:
            errors.setdefault((r.task.problem, r.task.method), []).append(r.error)
    for (problem, method), errs in sorted(errors.items()):
        out.append(f"- `{method}` failed on {problem} ({len(errs)} run(s)): {errs[0]}")
    seen: dict[str, set[str]] = {}
    for r in results:
        for n in r.notes:
            seen.setdefault(n, set()).add(r.task.method)
    for note, methods in sorted(seen.items())[:10]:
        out.append(f"- Warning from {', '.join(f'`{m}`' for m in sorted(methods))}: {note}")
    if len(out) == 3:
        out.append("- No run failed or warned.")
    return out


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's section of the report at ``path`` (created if missing)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Multi-fidelity benchmark: hyperdial's schedulers against Optuna's pruners\n\n"
            "Generated by `benchmarks/fidelity.py` (see `benchmarks/README.md`).\n\n"
        )
    _write_section(path, SECTION, text)


# ------------------------------------------------------------------------------ main
def save_raw(
    path: Path,
    info: RunInfo,
    settings: Mapping[str, Any],
    skipped: Mapping[str, str],
    results: Sequence[RunResult],
) -> None:
    """Write every run and its context as JSON, so the report can be re-rendered or merged."""
    payload = {
        "mode": SECTION,
        "info": asdict(info),
        "settings": dict(settings),
        "skipped": dict(skipped),
        "runs": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(payload))


def load_raw(
    paths: Sequence[Path],
) -> tuple[RunInfo, dict[str, Any], dict[str, str], list[RunResult]]:
    """Read and merge raw files; a later run of the same problem, method and seed wins."""
    info = RunInfo([], [], 0.0, 0)
    settings: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    runs: dict[tuple[str, str, int], RunResult] = {}
    for path in paths:
        payload = json.loads(path.read_text())
        if payload.get("mode") != SECTION:
            raise SystemExit(f"{path}: not a raw file of benchmarks/fidelity.py")
        part = RunInfo(**payload["info"])
        info.commands += part.commands
        info.environments += part.environments
        info.wall_s += part.wall_s
        info.jobs = max(info.jobs, part.jobs)
        if settings and _comparable(payload["settings"]) != _comparable(settings):
            raise SystemExit(f"{path}: its settings differ ({payload['settings']} vs {settings})")
        settings = dict(payload["settings"])
        skipped.update(payload["skipped"])
        for d in payload["runs"]:
            r = _result_of(d)
            runs[(r.task.problem, r.task.method, r.task.seed)] = r
    results = list(runs.values())
    present = {r.task.method for r in results}
    skipped = {k: v for k, v in skipped.items() if k not in present}
    per_cell: dict[tuple[str, str], int] = {}
    for problem, method, _ in runs:
        per_cell[(problem, method)] = per_cell.get((problem, method), 0) + 1
    settings["seeds"] = max(per_cell.values(), default=settings.get("seeds", 0))
    return info, settings, skipped, results


def _comparable(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the settings runs must share to be merged (the seeds may differ)."""
    return {k: v for k, v in settings.items() if k != "seeds"}


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per method and problem")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="seeds run are first-seed .. first-seed + seeds - 1 (default 0), e.g. to add "
        "seeds to an earlier run and merge both with --from-raw",
    )
    parser.add_argument(
        "--full-trials",
        type=int,
        default=100,
        help="the budget is the epochs of this many full-budget trials (default 100)",
    )
    parser.add_argument(
        "--budget-fraction",
        type=float,
        default=1.0,
        help="run each method for this fraction of that budget (default 1)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--problems", default="", help="comma-separated names (default: all)")
    parser.add_argument("--methods", default="", help="comma-separated keys (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="2 seeds, 5%% budget, synthetic only (seconds)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"Markdown report to update (default {DEFAULT_OUTPUT.relative_to(ROOT)}; "
        "--quick writes only when given)",
    )
    parser.add_argument("--raw", type=Path, default=None, help="also save every run as JSON")
    parser.add_argument(
        "--from-raw",
        type=Path,
        nargs="+",
        default=None,
        help="render (and merge) saved runs instead of running",
    )
    parser.add_argument("--list", action="store_true", help="list problems and methods")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = min(args.seeds, 2)
        args.budget_fraction = min(args.budget_fraction, 0.05)
        args.problems = args.problems or ",".join(QUICK_PROBLEMS)
    if args.output is None and not args.quick:
        args.output = DEFAULT_OUTPUT
    if args.seeds < 1 or args.full_trials < 1 or not 0 < args.budget_fraction <= 1:
        parser.error("--seeds and --full-trials must be >= 1, --budget-fraction in (0, 1]")
    if args.first_seed < 0:
        parser.error("--first-seed must be >= 0")
    return args


def _select(
    args: argparse.Namespace,
) -> tuple[list[MethodSpec], dict[str, str], list[Problem], dict[str, str]]:
    specs, skipped = discover_methods()
    global _SPECS
    _SPECS = specs
    wanted = [k for k in args.methods.split(",") if k]
    for k in wanted:
        if k not in specs and k not in skipped:
            raise SystemExit(
                f"unknown method {k!r}; choose from {sorted(specs) + sorted(skipped)}"
            )
    chosen = [s for k, s in specs.items() if not wanted or k in wanted]
    skipped = {k: v for k, v in skipped.items() if not wanted or k in wanted}
    names = [n for n in args.problems.split(",") if n]
    problems = [get_problem(n) for n in names] if names else list(PROBLEMS)
    missing = {}
    for p in problems:
        lacking = [m for m in p.needs if importlib.util.find_spec(m) is None]
        if lacking:
            missing[p.name] = f"needs {', '.join(lacking)}"
    problems = [p for p in problems if p.name not in missing]
    return chosen, skipped, problems, missing


def main(argv: Sequence[str] | None = None) -> str:
    """Run the benchmark from command-line arguments; return the Markdown printed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    for var in THREAD_VARS:  # inherited by the worker processes
        os.environ[var] = "1"
    chosen, skipped, problems, missing = _select(args)
    if args.from_raw:
        info, settings, skipped, results = load_raw(args.from_raw)
        present = {r.task.method for r in results}
        methods = [m for m in chosen if m.key in present]
        methods += [
            MethodSpec(k, k, "?", lambda s, r: (None, None))
            for k in sorted(present - {m.key for m in methods})
        ]
        in_runs = {r.task.problem for r in results}
        problems = [p for p in PROBLEMS if p.name in in_runs]
        text = render(results, problems, methods, skipped, settings, info)
        print(text)
        if args.output is not None:
            write_section(args.output, text)
        return text
    if args.list:
        text = "\n".join(
            [f"problem {p.name}: {p.description}" for p in problems]
            + [f"skipped problem {k}: {v}" for k, v in missing.items()]
            + [f"method {m.key}: {m.label}" for m in chosen]
            + [f"skipped {k}: {v}" for k, v in skipped.items()]
        )
        print(text)
        return text
    start = time.perf_counter()
    env = environment()  # before running: others may commit while a long run goes on
    settings = {
        "seeds": args.seeds,
        "full_trials": args.full_trials,
        "fraction": args.budget_fraction,
    }
    tasks = [
        Task(p.name, m.key, seed, round(args.full_trials * args.budget_fraction * p.max_resource))
        for p in problems
        for m in chosen
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    results = run_all(tasks, args.jobs)
    info = RunInfo([_command(argv)], [env], time.perf_counter() - start, args.jobs)
    for name, why in missing.items():
        skipped[f"problem {name}"] = why
    if args.raw is not None:
        save_raw(args.raw, info, settings, skipped, results)
    text = render(results, problems, chosen, skipped, settings, info)
    print(text)
    if args.output is not None:
        write_section(args.output, text)
        print(f"written to {args.output}", file=sys.stderr)
    return text


if __name__ == "__main__":
    main()
