"""Sampler benchmark: normalised regret of hyperdial's samplers beside Optuna's, same problems.

Every sampler runs every problem of ``benchmarks/problems.py`` with ``--seeds`` seeds and
``--trials`` trials through ask/tell, in ``--jobs`` processes with one BLAS thread each. The
report gives the normalised regret (mean and standard error over seeds) after 20, 50 and 100
trials, the mean rank of each sampler across problems and the time spent in the sampler.
``--overhead`` measures instead the time of ``ask`` plus the suggestions (the sampler's work,
not the objective's) at 100, 300 and 1,000 trials of one cheap problem.

hyperdial samplers are looked up by name, so the benchmark runs whichever exist. Optuna is a
benchmark-only extra (``pip install -e ".[benchmark]"``); its ``GPSampler`` needs
``torch==2.13.0`` and its ``CmaEsSampler`` needs ``cmaes``; a sampler that cannot be built is
listed as skipped, with the reason.

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/samplers.py --seeds 10 --trials 100
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/samplers.py --overhead
    python benchmarks/samplers.py --quick   # 3 seeds, 30 trials, 4 problems; prints only

Each mode rewrites its own section of ``--output`` (default ``docs/benchmarks-samplers.md``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import importlib
import importlib.util
import json
import logging
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS, Problem, get_problem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks-samplers.md"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BUDGETS = (20, 50, 100)
QUICK_PROBLEMS = ("branin", "mixed", "conditional", "hartmann6_noisy")
OVERHEAD_PROBLEM = "hartmann6"
OVERHEAD_POINTS = (100, 300, 1000)
OVERHEAD_WINDOW = 20  # trials averaged before each point
FALLBACK_RE = re.compile(r"independ|fall.?back|instead of|not support", re.IGNORECASE)


# ------------------------------------------------------------------------- samplers
@dataclass(frozen=True)
class SamplerSpec:
    """A sampler the benchmark can build for any seed.

    Attributes:
        key: Identifier on the command line (``hd-tpe``, ``optuna-gp``).
        label: Column header.
        library: ``"hyperdial"`` or ``"optuna"``.
        make: Builds the sampler for a seed (``None`` means the library's default).
        cost: Rough relative cost per trial, to start the slow runs first.
    """

    key: str
    label: str
    library: str
    make: Callable[[int], Any]
    cost: float = 1.0


# key, class name, modules to look in, label, relative cost
_HYPERDIAL = (
    ("hd-random", "RandomSampler", ("hyperdial.samplers",), "hd Random", 0.2),
    ("hd-qmc", "QMCSampler", ("hyperdial.samplers",), "hd QMC", 0.2),
    ("hd-tpe", "TPESampler", ("hyperdial.samplers", "hyperdial.samplers.tpe"), "hd TPE", 1.0),
    ("hd-gp", "GPSampler", ("hyperdial.samplers", "hyperdial.samplers.gp"), "hd GP", 10.0),
    (
        "hd-cmaes",
        "CmaEsSampler",
        ("hyperdial.samplers", "hyperdial.samplers.cmaes"),
        "hd CMA-ES",
        0.5,
    ),
    (
        "hd-sequential",
        "SequentialSampler",
        ("hyperdial.samplers", "hyperdial.samplers.sequential"),
        "hd Sequential",
        3.0,
    ),
    ("hd-auto", "AutoSampler", ("hyperdial.samplers", "hyperdial.samplers.auto"), "hd Auto", 5.0),
)


def _find_class(name: str, modules: Sequence[str]) -> tuple[type | None, str]:
    """Return ``(class, "")`` or ``(None, why it is missing)``."""
    reasons = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            reasons.append(f"no module {exc.name}")
            continue
        except Exception as exc:  # a module being written may fail to import
            reasons.append(f"{module_name} fails to import ({type(exc).__name__}: {exc})")
            continue
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            return cls, ""
    return None, f"{name} not found ({'; '.join(reasons) or 'not exported'})"


def _hyperdial_maker(cls: type) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        try:
            return cls(seed=seed)
        except TypeError:  # a sampler without a seed argument uses the study's generator
            return cls()

    return make


def _sequential_spec(cls: type, found: Mapping[str, type], cost: float) -> SamplerSpec | None:
    """Return the classic recipe: a quasi-random design sized by the dimension, then a model."""
    qmc = found.get("hd-qmc")
    model_key = "hd-gp" if "hd-gp" in found else "hd-tpe"
    model = found.get(model_key)
    if qmc is None or model is None:
        return None

    def make(seed: int) -> Any:
        return cls([(qmc(seed=seed), "auto"), (model(seed=seed), None)], seed=seed)

    label = f"hd QMC→{'GP' if model_key == 'hd-gp' else 'TPE'}"
    return SamplerSpec("hd-sequential", label, "hyperdial", make, cost)


def _optuna_maker(name: str, **kwargs: Any) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        import optuna

        return getattr(optuna.samplers, name)(seed=seed, **kwargs)

    return make


def _optuna_tpe_is_multivariate() -> bool:
    """Return whether Optuna's default TPESampler is the multivariate one (Optuna >= 5)."""
    import optuna

    return int(optuna.__version__.split(".")[0]) >= 5


def discover_samplers() -> tuple[dict[str, SamplerSpec], dict[str, str]]:
    """Return the samplers that can run here, by key, and the skipped ones with the reason."""
    specs: dict[str, SamplerSpec] = {}
    skipped: dict[str, str] = {}
    found: dict[str, type] = {}
    for key, name, modules, label, cost in _HYPERDIAL:
        cls, why = _find_class(name, modules)
        if cls is None:
            skipped[key] = f"hyperdial {why}"
            continue
        found[key] = cls
        if key == "hd-sequential":
            spec = _sequential_spec(cls, found, cost)
            if spec is None:
                skipped[key] = "SequentialSampler needs QMCSampler and GPSampler or TPESampler"
            else:
                specs[key] = spec
            continue
        specs[key] = SamplerSpec(key, label, "hyperdial", _hyperdial_maker(cls), cost)
    try:
        import hyperdial

        default = type(hyperdial.create_study().sampler)
        if default not in found.values():
            label = f"hd default ({default.__name__})"
            specs["hd-default"] = SamplerSpec("hd-default", label, "hyperdial", lambda s: None, 5)
    except Exception as exc:  # pragma: no cover - create_study is stable
        skipped["hd-default"] = f"create_study() failed: {exc}"
    if importlib.util.find_spec("optuna") is None:
        for key in ("optuna-tpe", "optuna-gp", "optuna-cmaes", "optuna-random"):
            skipped[key] = "optuna is not installed (pip install -e '.[benchmark]')"
        return specs, skipped
    specs["optuna-tpe"] = SamplerSpec(
        "optuna-tpe", "Optuna TPE", "optuna", _optuna_maker("TPESampler")
    )
    if _optuna_tpe_is_multivariate():
        # Optuna 5 made the multivariate TPE the default, so compare with the independent one.
        specs["optuna-tpe-indep"] = SamplerSpec(
            "optuna-tpe-indep",
            "Optuna TPE indep",
            "optuna",
            _optuna_maker("TPESampler", multivariate=False),
        )
    else:
        specs["optuna-tpe-mv"] = SamplerSpec(
            "optuna-tpe-mv",
            "Optuna TPE mv",
            "optuna",
            _optuna_maker("TPESampler", multivariate=True),
        )
    if importlib.util.find_spec("torch") is None:
        skipped["optuna-gp"] = "Optuna's GPSampler needs torch (pip install torch==2.13.0)"
    else:
        specs["optuna-gp"] = SamplerSpec(
            "optuna-gp", "Optuna GP", "optuna", _optuna_maker("GPSampler"), 20.0
        )
    if importlib.util.find_spec("cmaes") is None:
        skipped["optuna-cmaes"] = "Optuna's CmaEsSampler needs cmaes (pip install cmaes)"
    else:
        specs["optuna-cmaes"] = SamplerSpec(
            "optuna-cmaes", "Optuna CMA-ES", "optuna", _optuna_maker("CmaEsSampler"), 0.5
        )
    specs["optuna-random"] = SamplerSpec(
        "optuna-random", "Optuna Random", "optuna", _optuna_maker("RandomSampler"), 0.2
    )
    return specs, skipped


_SPECS: dict[str, SamplerSpec] | None = None


def _spec(key: str) -> SamplerSpec:
    global _SPECS
    if _SPECS is None:
        _SPECS = discover_samplers()[0]
    return _SPECS[key]


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class Task:
    """One run: a sampler on a problem with a seed for a number of trials."""

    problem: str
    sampler: str
    seed: int
    n_trials: int
    time_budget_s: float | None = None


@dataclass
class RunResult:
    """What one run measured.

    Attributes:
        values: The noise-free objective of each trial, in order (NaN for a failed trial).
        ask_s: Seconds from ``ask`` to the end of the suggestions, per trial.
        tell_s: Seconds in ``tell``, per trial.
        eval_s: Seconds in the objective, in all.
        notes: Distinct warnings the libraries emitted (normalised), e.g. fallbacks.
        error: Why the run stopped early, if it did.
    """

    task: Task
    values: list[float] = field(default_factory=list)
    ask_s: list[float] = field(default_factory=list)
    tell_s: list[float] = field(default_factory=list)
    eval_s: float = 0.0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def _normalise(message: str) -> str:
    message = message.strip().splitlines()[0] if message.strip() else message
    message = message.split(". ")[0]
    message = re.sub(r"'[^']*'|`[^`]*`|\"[^\"]*\"", "'…'", message)
    return re.sub(r"\d+(\.\d+)?", "N", message)[:200]


class _Notes(logging.Handler):
    """Collects distinct warnings from the libraries' loggers."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: dict[str, None] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.add(record.getMessage())

    def add(self, message: str) -> None:
        key = _normalise(message)
        if len(self.seen) < 8:
            self.seen.setdefault(key, None)


@contextlib.contextmanager
def _collect_notes() -> Iterator[_Notes]:
    handler = _Notes()
    loggers = [logging.getLogger(name) for name in ("optuna", "hyperdial")]
    for lg in loggers:
        lg.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield handler
        finally:
            for lg in loggers:
                lg.removeHandler(handler)
            for w in caught:
                if w.category.__name__ in ("ExperimentalWarning", "DeprecationWarning"):
                    continue
                handler.add(f"{w.category.__name__}: {w.message}")


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    with threadpool_limits(1):
        yield


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()  # warnings go to _collect_notes instead


def run_task(task: Task) -> RunResult:
    """Run one sampler on one problem through ask/tell and time each part."""
    problem = get_problem(task.problem)
    spec = _spec(task.sampler)
    _warm_up(task.sampler)
    result = RunResult(task)
    start = time.perf_counter()
    with _one_thread(), _collect_notes() as notes:
        try:
            if spec.library == "optuna":
                _quiet_optuna()
                import optuna

                study: Any = optuna.create_study(sampler=spec.make(task.seed))
            else:
                import hyperdial

                study = hyperdial.create_study(sampler=spec.make(task.seed), seed=task.seed)
            _loop(study, problem, task, result)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:300]
    result.notes = list(notes.seen)
    result.wall_s = time.perf_counter() - start
    return result


def _loop(study: Any, problem: Problem, task: Task, result: RunResult) -> None:
    clock = time.perf_counter
    start = clock()
    for _ in range(task.n_trials):
        t0 = clock()
        trial = study.ask()
        params = problem.suggest(trial)
        t1 = clock()
        try:
            value, true = problem.observe(trial, params)
        except Exception:  # the objective failed: record it as the libraries would
            t2 = clock()
            study.tell(trial, None, state=_failed_state(study))
            value, true = math.nan, math.nan
        else:
            t2 = clock()
            study.tell(trial, value)
        t3 = clock()
        result.values.append(true)
        result.ask_s.append(t1 - t0)
        result.tell_s.append(t3 - t2)
        result.eval_s += t2 - t1
        if task.time_budget_s is not None and clock() - start > task.time_budget_s:
            break


def _failed_state(study: Any) -> Any:
    if type(study).__module__.startswith("optuna"):
        import optuna

        return optuna.trial.TrialState.FAIL
    import hyperdial

    return hyperdial.TrialState.FAILED


_WARM_UP = ("scipy.stats", "scipy.optimize", "scipy.special", "scipy.linalg")
_NO_TORCH = {
    "hd-random",
    "hd-qmc",
    "optuna-random",
    "optuna-tpe",
    "optuna-tpe-indep",
    "optuna-tpe-mv",
    "optuna-cmaes",
}


def _warm_up(sampler: str | None = None) -> None:
    """Import what samplers import lazily, so no run pays a first import inside its timing."""
    for name in _WARM_UP + (("torch",) if sampler not in _NO_TORCH else ()):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _init_worker() -> None:
    for var in THREAD_VARS:
        os.environ[var] = "1"
    _warm_up("any")


def run_all(tasks: Sequence[Task], jobs: int, label: str = "runs") -> list[RunResult]:
    """Run ``tasks`` in ``jobs`` processes (in this one if ``jobs == 1``), slowest first."""

    def cost(t: Task) -> float:
        p = get_problem(t.problem)
        weight = 5.0 if p.kind == "real" or "high-dim" in p.tags else 1.0
        return _spec(t.sampler).cost * weight * t.n_trials

    ordered = sorted(tasks, key=cost, reverse=True)
    results: list[RunResult] = []
    start = time.perf_counter()

    def progress(r: RunResult) -> None:
        results.append(r)
        done, total = len(results), len(ordered)
        elapsed = time.perf_counter() - start
        status = f" ERROR {r.error}" if r.error else ""
        print(
            f"[{done}/{total} {label}, {elapsed / 60:.1f} min] {r.task.problem} "
            f"{r.task.sampler} seed {r.task.seed}: {r.wall_s:.1f} s{status}",
            file=sys.stderr,
            flush=True,
        )

    if jobs <= 1:
        for t in ordered:
            progress(run_task(t))
        return results
    with concurrent.futures.ProcessPoolExecutor(jobs, initializer=_init_worker) as pool:
        futures = [pool.submit(run_task, t) for t in ordered]
        for future in concurrent.futures.as_completed(futures):
            progress(future.result())
    return results


# -------------------------------------------------------------------------- analysis
def best_so_far(values: Sequence[float]) -> np.ndarray:
    """Return the running minimum of ``values``, ignoring NaN (failed trials)."""
    arr = np.asarray(values, dtype=float)
    arr = np.where(np.isnan(arr), np.inf, arr)
    return np.minimum.accumulate(arr)


def regret_at(problem: Problem, result: RunResult, budget: int) -> float | None:
    """Return the normalised regret after ``budget`` trials, or ``None`` if not reached."""
    if result.error is not None or len(result.values) < budget:
        return None
    best = float(best_so_far(result.values)[budget - 1])
    return problem.regret(best) if math.isfinite(best) else 1.0


@dataclass
class Cell:
    """The regret of one sampler on one problem at one budget, over seeds."""

    mean: float
    se: float
    n: int


def summarise(
    results: Sequence[RunResult], budgets: Sequence[int]
) -> dict[tuple[str, str, int], Cell]:
    """Return mean and standard error of the regret per (problem, sampler, budget)."""
    grouped: dict[tuple[str, str, int], list[float]] = {}
    for r in results:
        problem = get_problem(r.task.problem)
        for b in budgets:
            reg = regret_at(problem, r, b)
            if reg is not None:
                grouped.setdefault((r.task.problem, r.task.sampler, b), []).append(reg)
    cells = {}
    for key, regs in grouped.items():
        arr = np.asarray(regs)
        se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
        cells[key] = Cell(float(arr.mean()), se, len(arr))
    return cells


def mean_ranks(
    cells: Mapping[tuple[str, str, int], Cell],
    problems: Sequence[str],
    samplers: Sequence[str],
    budget: int,
) -> dict[str, tuple[float, int]]:
    """Return each sampler's mean rank (1 = best, ties averaged) and problem count at ``budget``.

    A problem counts only if every sampler has a result on it at that budget, so all means
    are over the same problems.
    """
    from scipy.stats import rankdata

    ranks: dict[str, list[float]] = {s: [] for s in samplers}
    for p in problems:
        means = [cells.get((p, s, budget)) for s in samplers]
        if any(c is None for c in means):
            continue
        # Regrets equal to 3 significant digits tie (several samplers reach 0 on easy problems).
        row = rankdata([float(f"{c.mean:.3g}") for c in means if c is not None])
        for s, r in zip(samplers, row):
            ranks[s].append(float(r))
    return {s: (float(np.mean(v)) if v else math.nan, len(v)) for s, v in ranks.items()}


# ------------------------------------------------------------------------- rendering
def _fmt(cell: Cell | None, bold: bool = False, mark: str = "") -> str:
    if cell is None:
        return "—"
    text = f"{cell.mean:.3g} ± {cell.se:.1g}"
    return (f"**{text}**" if bold else text) + mark


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append(
        "|" + "|".join(["---"] + ["--:" if align == "right" else "---"] * (len(header) - 1)) + "|"
    )
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> str:
    """Return one line on the date, machine and library versions."""
    versions = []
    for module in ("numpy", "scipy", "sklearn", "optuna", "torch", "cmaes", "hyperdial"):
        try:
            versions.append(f"{module} {importlib.import_module(module).__version__}")
        except Exception:
            continue
    try:
        git = ["git", "-C", str(ROOT)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
        ).stdout.strip()
        commit += " with uncommitted changes in src/" if commit and dirty else ""
    except OSError:  # pragma: no cover - git missing
        commit = ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = platform.processor() or platform.machine()
    return (
        f"{now}; {platform.system()} {cpu}, nproc {os.cpu_count()}, Python "
        f"{platform.python_version()}; {', '.join(versions)}"
        + (f"; hyperdial commit {commit}" if commit else "")
    )


def _command(argv: Sequence[str]) -> str:
    threads = " ".join(f"{v}=1" for v in THREAD_VARS[:2])
    return f"{threads} python benchmarks/samplers.py {shlex.join(argv)}".strip()


def render_regret(
    results: Sequence[RunResult],
    problems: Sequence[Problem],
    samplers: Sequence[SamplerSpec],
    skipped: Mapping[str, str],
    budgets: Sequence[int],
    n_trials: int,
    seeds: int,
    run_info: RunInfo,
) -> str:
    """Return the Markdown report of a regret run."""
    cells = summarise(results, budgets)
    keys = [s.key for s in samplers]
    names = [p.name for p in problems]
    out = [
        "## Normalised regret",
        "",
        *run_info.lines(),
        "",
        f"{seeds} seeds per sampler and problem, up to {n_trials} trials. Normalised regret is "
        "`(best_so_far - f*) / (f_ref - f*)` clipped to [0, 1], where `f_ref` is the median "
        "objective of uniformly random configurations (1 = no better than a typical random "
        "configuration, 0 = optimum found). Cells show mean ± standard error over seeds; the "
        "best mean per row is in bold; lower is better. The noisy problem is scored on the "
        "noise-free value of the best configuration evaluated so far. For the scikit-learn "
        "problems f* is the best value known (see `problems.py`).",
        "",
        "Samplers: " + ", ".join(f"{s.label} (`{s.key}`)" for s in samplers) + ".",
    ]
    if skipped:
        out += ["", "Not run: " + "; ".join(f"`{k}`: {v}" for k, v in skipped.items()) + "."]
    out += ["", "### Problems", ""]
    rows = []
    for p in problems:
        trials = min(n_trials, p.max_trials or n_trials)
        tags = ", ".join(sorted(p.tags)) or "continuous"
        rows.append(
            [p.name, p.kind, tags, f"{p.f_star:.6g}", f"{p.f_ref:.4g}", str(trials), p.description]
        )
    out.append(
        _table(["problem", "kind", "exercises", "f*", "f_ref", "trials", "description"], rows)
    )
    marks = _fallback_marks(results)
    for b in budgets:
        out += ["", f"### Regret after {b} trials", ""]
        rows = []
        for name in names:
            row_cells = [cells.get((name, k, b)) for k in keys]
            best = min((c.mean for c in row_cells if c is not None), default=None)
            rows.append(
                [name]
                + [
                    _fmt(
                        c,
                        bold=c is not None and f"{c.mean:.3g}" == f"{best:.3g}",
                        mark=marks.get((name, k), ""),
                    )
                    for c, k in zip(row_cells, keys)
                ]
            )
        out.append(_table(["problem"] + [s.label for s in samplers], rows))
    rank_budgets = list(budgets[-2:])
    ranks = {b: mean_ranks(cells, names, keys, b) for b in rank_budgets}
    out += ["", "### Mean rank across problems", ""]
    header = ["sampler"] + [f"rank @{b} ({ranks[b][keys[0]][1]} problems)" for b in rank_budgets]
    header += ["ask+suggest ms/trial", "tell ms/trial", "sampler s/run"]
    rows = []
    order = sorted(keys, key=lambda k: ranks[rank_budgets[-1]][k][0])
    for k in order:
        runs = [r for r in results if r.task.sampler == k]
        ask = [x for r in runs for x in r.ask_s]
        tell = [x for r in runs for x in r.tell_s]
        spent = (sum(ask) + sum(tell)) / max(len(runs), 1)
        rows.append(
            [_spec_label(samplers, k)]
            + [f"{ranks[b][k][0]:.2f}" for b in rank_budgets]
            + [
                f"{1e3 * np.mean(ask):.2f}" if ask else "—",
                f"{1e3 * np.mean(tell):.2f}" if tell else "—",
                f"{spent:.2f}",
            ]
        )
    out.append(_table(header, rows))
    out += [
        "",
        "Ranks are over the problems every sampler finished at that budget (mean regrets equal "
        "to 3 significant digits tie). Times are means over all trials of all problems and "
        "leave out the objective; s/run is the sampler's total per run.",
    ]
    out += _notes(results, problems, n_trials)
    return "\n".join(out) + "\n"


def _spec_label(samplers: Sequence[SamplerSpec], key: str) -> str:
    return next(s.label for s in samplers if s.key == key)


def _fallback_marks(results: Sequence[RunResult]) -> dict[tuple[str, str], str]:
    marks = {}
    for r in results:
        if any(FALLBACK_RE.search(n) for n in r.notes):
            marks[(r.task.problem, r.task.sampler)] = " †"
    return marks


def _notes(results: Sequence[RunResult], problems: Sequence[Problem], n_trials: int) -> list[str]:
    out = ["", "### Notes", ""]
    capped = [p for p in problems if p.max_trials is not None and p.max_trials < n_trials]
    if capped:
        out.append(
            "- Capped to keep the run short: "
            + ", ".join(f"{p.name} at {p.max_trials} trials" for p in capped)
            + " (no value at larger budgets; left out of those ranks)."
        )
    by_sampler: dict[str, dict[str, set[str]]] = {}
    for r in results:
        for n in r.notes:
            if FALLBACK_RE.search(n):
                by_sampler.setdefault(r.task.sampler, {}).setdefault(n, set()).add(r.task.problem)
    for sampler, messages in sorted(by_sampler.items()):
        for message, probs in messages.items():
            out.append(f"- † `{sampler}` on {', '.join(sorted(probs))}: {message}")
    for p in problems:
        seen = [v for r in results if r.task.problem == p.name for v in r.values if v == v]
        if seen and min(seen) < p.f_star - 1e-9 * max(1.0, abs(p.f_star)):
            out.append(
                f"- A run found {min(seen):.10g} on {p.name}, below the best-known "
                f"f* = {p.f_star:.10g}; its regret counts as 0."
            )
    errors: dict[tuple[str, str], list[str]] = {}
    for r in results:
        if r.error:
            errors.setdefault((r.task.problem, r.task.sampler), []).append(r.error)
    for (problem, sampler), errs in sorted(errors.items()):
        out.append(f"- `{sampler}` failed on {problem} ({len(errs)} run(s)): {errs[0]}")
    if len(out) == 3:
        out.append("- No sampler fell back, failed or was capped.")
    return out


def render_overhead(
    results: Sequence[RunResult],
    samplers: Sequence[SamplerSpec],
    skipped: Mapping[str, str],
    points: Sequence[int],
    budget_s: float,
    run_info: RunInfo,
) -> str:
    """Return the Markdown report of an overhead run."""
    by_key = {r.task.sampler: r for r in results}
    out = [
        "## Optimiser overhead",
        "",
        *run_info.lines(),
        "",
        f"Milliseconds per trial spent in `ask()` plus the `suggest_*` calls (the sampler's "
        f"work; the objective is not timed) on `{OVERHEAD_PROBLEM}`, one seed, averaged over "
        f"the {OVERHEAD_WINDOW} trials before each point. A sampler stops after "
        f"{budget_s:.0f} s; later points are then blank.",
        "",
    ]
    header = (
        ["sampler"]
        + [f"ask ms @{n}" for n in points]
        + ["tell ms @" + str(points[-1]), "trials run", "total s"]
    )
    rows = []
    for spec in samplers:
        r = by_key.get(spec.key)
        if r is None:
            continue
        cells = []
        for n in points:
            if len(r.ask_s) >= n:
                cells.append(f"{1e3 * np.mean(r.ask_s[n - OVERHEAD_WINDOW : n]):.2f}")
            else:
                cells.append("—")
        last = r.tell_s[-OVERHEAD_WINDOW:]
        tell = f"{1e3 * np.mean(last):.2f}" if len(r.tell_s) >= points[-1] else "—"
        rows.append(
            [spec.label] + cells + [tell, str(len(r.ask_s)), f"{sum(r.ask_s) + sum(r.tell_s):.1f}"]
        )
    out.append(_table(header, rows))
    errors = [f"- `{r.task.sampler}`: {r.error}" for r in results if r.error]
    if skipped:
        errors += [f"- `{k}` not run: {v}" for k, v in skipped.items()]
    if errors:
        out += ["", *errors]
    return "\n".join(out) + "\n"


def write_section(path: Path, name: str, text: str) -> None:
    """Replace the section ``name`` of the report at ``path`` (created if missing)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}{end}\n"
    if path.exists():
        current = path.read_text()
    else:
        current = (
            "# Sampler benchmark: hyperdial against Optuna\n\n"
            "Generated by `benchmarks/samplers.py` (see `benchmarks/README.md`); each section "
            "is rewritten by its own command.\n\n"
        )
    if start in current and end in current:
        head, rest = current.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        current = head + block + ("\n" + tail if tail else "")
    else:
        current = current.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(current)


# ------------------------------------------------------------------------------ main
@dataclass
class RunInfo:
    """How a report was made: the command(s), the machine and the wall time."""

    commands: list[str]
    environments: list[str]
    wall_s: float
    jobs: int

    def lines(self) -> list[str]:
        """Return the report's header lines."""
        label = "Command" if len(self.commands) == 1 else "Commands (results merged)"
        runs = "; ".join(dict.fromkeys(self.environments))
        lines = [
            f"{label}: " + " and ".join(f"`{c}`" for c in self.commands),
            "",
            f"Run: {runs}. Wall time {self.wall_s / 60:.1f} min with {self.jobs} job(s).",
        ]
        if len(self.commands) > 1:
            lines += [
                "",
                "Each command ran the code of its own commit (in order above), so samplers "
                "from different commands may have run different versions of shared parts "
                "(e.g. the GP inside a later AutoSampler is newer than an earlier GPSampler).",
            ]
        return lines


def save_raw(
    path: Path,
    mode: str,
    info: RunInfo,
    settings: Mapping[str, Any],
    skipped: Mapping[str, str],
    results: Sequence[RunResult],
) -> None:
    """Write every run and its context as JSON, so a report can be re-rendered or merged."""
    payload = {
        "mode": mode,
        "info": asdict(info),
        "settings": dict(settings),
        "skipped": dict(skipped),
        "runs": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(payload))


def load_raw(
    paths: Sequence[Path],
) -> tuple[str, RunInfo, dict[str, Any], dict[str, str], list[RunResult]]:
    """Read and merge raw files; a later run of the same problem, sampler and seed wins."""
    mode, settings, skipped = "", {}, {}
    info = RunInfo([], [], 0.0, 0)
    runs: dict[tuple[str, str, int], RunResult] = {}
    for path in paths:
        payload = json.loads(path.read_text())
        if mode and payload["mode"] != mode:
            raise SystemExit(f"{path}: a {payload['mode']} run cannot merge with a {mode} run")
        mode = payload["mode"]
        part = RunInfo(**payload["info"])
        info.commands += part.commands
        info.environments += part.environments
        info.wall_s += part.wall_s
        info.jobs = max(info.jobs, part.jobs)
        for key, value in payload["settings"].items():
            settings[key] = max(settings.get(key, value), value)
        skipped.update(payload["skipped"])
        for d in payload["runs"]:
            task = Task(**d.pop("task"))
            runs[(task.problem, task.sampler, task.seed)] = RunResult(task, **d)
    results = list(runs.values())
    present = {r.task.sampler for r in results}
    skipped = {k: v for k, v in skipped.items() if k not in present}
    return mode, info, settings, skipped, results


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per sampler and problem")
    parser.add_argument("--trials", type=int, default=100, help="trials per run")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--problems", default="", help="comma-separated names (default: all)")
    parser.add_argument("--samplers", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--quick", action="store_true", help="3 seeds, 30 trials, 4 problems")
    parser.add_argument("--overhead", action="store_true", help="time ask+suggest instead")
    parser.add_argument(
        "--overhead-trials",
        default=",".join(map(str, OVERHEAD_POINTS)),
        help="trial counts at which to report the overhead",
    )
    parser.add_argument(
        "--overhead-budget-s", type=float, default=240.0, help="time limit per sampler"
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
    parser.add_argument("--list", action="store_true", help="list problems and samplers")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.trials = 3, 30
        args.problems = args.problems or ",".join(QUICK_PROBLEMS)
    if args.output is None and not args.quick:
        args.output = DEFAULT_OUTPUT
    return args


def _select(args: argparse.Namespace) -> tuple[list[SamplerSpec], dict[str, str], list[Problem]]:
    specs, skipped = discover_samplers()
    global _SPECS
    _SPECS = specs
    wanted = [k for k in args.samplers.split(",") if k]
    for k in wanted:
        if k not in specs and k not in skipped:
            raise SystemExit(f"unknown sampler {k!r}; choose from {sorted(specs)}")
    chosen = [s for k, s in specs.items() if not wanted or k in wanted]
    skipped = {k: v for k, v in skipped.items() if not wanted or k in wanted}
    names = [n for n in args.problems.split(",") if n]
    problems = [get_problem(n) for n in names] if names else list(PROBLEMS)
    return chosen, skipped, problems


def _budgets(n_trials: int) -> list[int]:
    return [b for b in BUDGETS if b < n_trials] + [n_trials]


def _render_raw(args: argparse.Namespace) -> tuple[str, str]:
    mode, info, settings, skipped, results = load_raw(args.from_raw)
    chosen, _, problems = _select(args)
    present = {r.task.sampler for r in results}
    order = [s.key for s in chosen] + sorted(present - {s.key for s in chosen})
    samplers = [_label_spec(k, chosen) for k in order if k in present]
    if mode == "overhead":
        points = settings["points"]
        text = render_overhead(results, samplers, skipped, points, settings["budget_s"], info)
        return "overhead", text
    in_runs = {r.task.problem for r in results}
    problems = [p for p in problems if p.name in in_runs]
    results = [r for r in results if r.task.problem in {p.name for p in problems}]
    n_trials, seeds = settings["trials"], settings["seeds"]
    text = render_regret(
        results, problems, samplers, skipped, _budgets(n_trials), n_trials, seeds, info
    )
    return "regret", text


def _label_spec(key: str, known: Sequence[SamplerSpec]) -> SamplerSpec:
    for spec in known:
        if spec.key == key:
            return spec
    return SamplerSpec(key, key, "hyperdial" if key.startswith("hd") else "optuna", lambda s: None)


def main(argv: Sequence[str] | None = None) -> str:
    """Run the benchmark from command-line arguments; return the Markdown printed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    for var in THREAD_VARS:  # inherited by the worker processes
        os.environ[var] = "1"
    if args.from_raw:
        section, text = _render_raw(args)
        print(text)
        if args.output is not None:
            write_section(args.output, section, text)
        return text
    chosen, skipped, problems = _select(args)
    if args.list:
        text = "\n".join(
            [f"problem {p.name}: {p.description}" for p in problems]
            + [f"sampler {s.key}: {s.label}" for s in chosen]
            + [f"skipped {k}: {v}" for k, v in skipped.items()]
        )
        print(text)
        return text
    start = time.perf_counter()
    env = environment()  # before running: others may commit while a long run goes on
    if args.overhead:
        section = "overhead"
        points = sorted(int(x) for x in args.overhead_trials.split(",") if x)
        settings: dict[str, Any] = {"points": points, "budget_s": args.overhead_budget_s}
        tasks = [
            Task(OVERHEAD_PROBLEM, s.key, 0, points[-1], args.overhead_budget_s) for s in chosen
        ]
        results = run_all(tasks, args.jobs, "overhead runs")
    else:
        section = "regret"
        settings = {"trials": args.trials, "seeds": args.seeds}
        tasks = [
            Task(p.name, s.key, seed, min(args.trials, p.max_trials or args.trials))
            for p in problems
            for s in chosen
            for seed in range(args.seeds)
        ]
        results = run_all(tasks, args.jobs)
    info = RunInfo([_command(argv)], [env], time.perf_counter() - start, args.jobs)
    if args.raw is not None:
        save_raw(args.raw, section, info, settings, skipped, results)
    if args.overhead:
        text = render_overhead(results, chosen, skipped, points, args.overhead_budget_s, info)
    else:
        text = render_regret(
            results,
            problems,
            chosen,
            skipped,
            _budgets(args.trials),
            args.trials,
            args.seeds,
            info,
        )
    print(text)
    if args.output is not None:
        write_section(args.output, section, text)
        print(f"written to {args.output}", file=sys.stderr)
    return text


if __name__ == "__main__":
    main()
