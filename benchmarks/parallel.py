"""Parallel benchmark: throughput with 1 to 8 workers and parallel BO quality, beside Optuna.

Three measurements, hyperdial and Optuna in the same run on the same database server:

* **Sleeping objective** (draws a float, an int and a categorical, then sleeps 0.1 s): trials
  per second with 1, 2, 4 and 8 workers, and the speedup over 1 worker. A worker is a
  separate process that loads the shared study and runs ``optimize`` for its share of the
  trials, for both tools; hyperdial is also run with threads (``n_jobs=k`` in one process).
* **Zero-cost objective** (the same draws, no sleep), random search in both tools: trials per
  second with the same worker counts, i.e. what the storage sustains.
* **Parallel BO**: hyperdial's ``GPSampler`` and ``AutoSampler`` on Branin and Hartmann-6 with 4
  asynchronous workers, simulated with ask/tell on a virtual clock (a trial lasts a seeded
  random 0.5-1.5 units, so every suggestion is made with 3 trials running and completions
  interleave; runs repeat exactly), against 1 worker, at the same number of trials
  (default ten per dimension: 20 on Branin, 60 on Hartmann-6; 100 seeds, as a few seeds far
  from the optimum decide the mean): normalised regret, mean and standard error over seeds,
  with medians and geometric means.

Every throughput case (one tool, one objective, one worker count) gets a fresh PostgreSQL
database (``--skip-postgres``: a fresh SQLite file); the tools never share one, since both name
their tables ``studies`` and ``trials``. Worker processes
are spawned, load the study and warm up (a few trials of a study of their own) before a
barrier; the clock runs from the barrier to the last worker's last trial, so start-up is not
timed.

Run (Optuna is a benchmark-only extra)::

    pip install -e ".[benchmark]"
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/parallel.py
    python benchmarks/parallel.py --quick   # workers 1,2, few trials, SQLite, 1 seed; prints only

The run rewrites its section of ``--output`` (default ``docs/benchmarks-parallel.md``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import heapq
import importlib
import json
import math
import multiprocessing as mp
import os
import queue
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import get_problem  # noqa: E402

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
from storage import PG_ADMIN, _drop_pg, _pg_database  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks-parallel.md"
SECTION = "parallel"
SLEEP_S = 0.1  # the sleeping objective
SLEEP_TRIALS_PER_WORKER = 100  # default: about 10 s per sleeping case
ZERO_TRIALS = 500  # default total of a zero-cost case (Optuna: ~10-20 s here)
BO_PROBLEMS = ("branin", "hartmann6")
BO_SAMPLERS = (  # key, class name, modules to look in, label
    ("hd-gp", "GPSampler", ("hyperdial.samplers", "hyperdial.samplers.gp"), "hd GP"),
    ("hd-auto", "AutoSampler", ("hyperdial.samplers", "hyperdial.samplers.auto"), "hd Auto"),
)
GMEAN_FLOOR = 1e-9  # regrets below this count as this in the geometric mean
BO_DURATION = (0.5, 1.5)  # a BO trial lasts a seeded uniform time in this range (virtual clock)
# The targets.
TARGET_SPEEDUP = 0.9  # sleeping objective: speedup >= 0.9 x the worker count
TARGET_STORAGE = 5.0  # zero-cost objective: hyperdial >= 5 x Optuna's trials/s
TARGET_BO = 1.10  # parallel BO regret <= 1.10 x sequential
WARM_UP_TRIALS = 5  # per worker, in a study of its own, before the clock starts
BARRIER_TIMEOUT_S = 300.0  # workers that cannot all start by then give up
QUICK = {"workers": "1,2", "trials": 6, "zero_trials": 40, "seeds": 1, "bo_trials": 10}
BO_TRIALS_PER_DIM = 10  # parallel BO runs ten trials per dimension of each problem


# ----------------------------------------------------------------------- objectives
def _draw(trial: Any) -> float:
    """The parameters of both throughput objectives: a float, an int and a categorical."""
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", 0, 10)
    z = trial.suggest_categorical("z", ["a", "b", "c"])
    return x * x + y + len(z)


def sleeping_objective(trial: Any) -> float:
    """Draw the parameters, sleep ``SLEEP_S`` and return a value (any tool's trial)."""
    value = _draw(trial)
    time.sleep(SLEEP_S)
    return value


def zero_cost_objective(trial: Any) -> float:
    """Draw the parameters and return at once: the storage is what is measured."""
    return _draw(trial)


OBJECTIVES: dict[str, Callable[[Any], float]] = {
    "sleep": sleeping_objective,
    "zero": zero_cost_objective,
}


# ------------------------------------------------------------------------- backends
class Backend:
    """Fresh databases for the throughput cases: PostgreSQL, or SQLite files in a temp dir."""

    def __init__(self, use_postgres: bool) -> None:
        self.kind = "sqlite"
        self.detail = "a SQLite file on local disk"
        self.note = ""
        self._tmp = tempfile.TemporaryDirectory(prefix="hyperdial-parallel-")
        if use_postgres:
            probe = _pg_database("probe")
            if probe is None:
                self.note = "PostgreSQL was unavailable, so SQLite files were used instead."
            else:
                self.kind = "postgresql"
                self.detail = (
                    f"PostgreSQL {_pg_version()} at {PG_ADMIN.split('@')[1].rsplit('/', 1)[0]}"
                )
                _drop_pg(probe)

    @contextlib.contextmanager
    def fresh(self, tag: str) -> Iterator[str]:
        """Yield the URL of a new empty database, dropped (or deleted) afterwards."""
        if self.kind == "postgresql":
            url = _pg_database(tag)
            if url is None:
                raise RuntimeError("could not create a PostgreSQL database")
            try:
                yield url
            finally:
                _drop_pg(url)
            return
        path = Path(self._tmp.name) / f"{tag}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in Path(self._tmp.name).glob(f"{tag}.db*"):
                with contextlib.suppress(OSError):
                    if leftover.is_file():
                        leftover.unlink()

    def close(self) -> None:
        """Remove the temporary directory."""
        self._tmp.cleanup()


def _pg_version() -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar()).split()[0]
    finally:
        engine.dispose()


def _versions() -> str:
    out = []
    for module in ("sqlalchemy", "psycopg"):
        with contextlib.suppress(Exception):
            out.append(f"{module} {importlib.import_module(module).__version__}")
    return ", ".join(out)


# -------------------------------------------------------------------------- workers
@dataclass(frozen=True)
class Job:
    """What one worker process runs: its share of one study's trials."""

    tool: str  # "hyperdial" or "optuna"
    url: str
    study: str
    objective: str  # a key of OBJECTIVES
    sampler: str  # "random" or "default"
    n_trials: int
    n_jobs: int  # threads in this process
    index: int  # the worker's number (Optuna's sampler seed)


def _prepare(job: Job) -> Callable[[], None]:
    """Load the study and warm up (before the clock); return the timed part.

    The warm-up runs a few zero-cost trials of a study of its own through the same storage
    object, so imports, connections and statement caches are ready when the clock starts.
    """
    objective = OBJECTIVES[job.objective]
    if job.tool == "hyperdial":
        import hyperdial
        from hyperdial.samplers import RandomSampler
        from hyperdial.storage import get_storage

        storage = get_storage(job.url)  # one connection pool for the warm-up and the run
        # load_study does not restore the study's sampler: pass it, or get AutoSampler.
        sampler = RandomSampler() if job.sampler == "random" else None
        study = hyperdial.load_study(job.study, storage=storage, sampler=sampler)
        warm_up = hyperdial.create_study(
            f"{job.study}-warm-up-{job.index}", storage=storage, sampler=sampler, seed=job.index
        )
        warm_up.optimize(zero_cost_objective, n_trials=WARM_UP_TRIALS, show_progress_bar=False)
        study.trials  # noqa: B018 - read the study once, as the warm-up did its own

        def run() -> None:
            study.optimize(
                objective, n_trials=job.n_trials, n_jobs=job.n_jobs, show_progress_bar=False
            )

        return run
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if job.sampler == "random":
        opt_sampler = optuna.samplers.RandomSampler(seed=job.index)
    else:
        opt_sampler = optuna.samplers.TPESampler(seed=job.index)
    opt_storage = optuna.storages.RDBStorage(job.url)  # what a URL would give, shared
    opt_study = optuna.load_study(study_name=job.study, storage=opt_storage, sampler=opt_sampler)
    opt_warm_up = optuna.create_study(
        study_name=f"{job.study}-warm-up-{job.index}", storage=opt_storage, sampler=opt_sampler
    )
    opt_warm_up.optimize(zero_cost_objective, n_trials=WARM_UP_TRIALS)
    opt_study.get_trials(deepcopy=False)

    def run_optuna() -> None:
        opt_study.optimize(objective, n_trials=job.n_trials, n_jobs=job.n_jobs)

    return run_optuna


def _worker(job: Job, barrier: Any, results: Any) -> None:
    """Entry point of a spawned worker: prepare, wait for the others, run, report."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    out: dict[str, Any] = {"index": job.index, "error": None, "start": None, "end": None}
    try:
        run = _prepare(job)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        out["error"] = f"start-up: {type(exc).__name__}: {exc}"[:400]
        barrier.abort()
        results.put(out)
        return
    try:
        barrier.wait(timeout=BARRIER_TIMEOUT_S)
    except threading.BrokenBarrierError:
        out["error"] = "another worker failed to start"
        results.put(out)
        return
    out["start"] = time.time()  # wall clock: comparable across processes
    try:
        run()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        out["error"] = f"{type(exc).__name__}: {exc}"[:400]
    out["end"] = time.time()
    results.put(out)


# --------------------------------------------------------------------- throughput
@dataclass
class Case:
    """One throughput measurement: a tool, an objective, how workers run, how many."""

    tool: str
    objective: str
    mode: str  # "processes" or "threads"
    workers: int
    n_trials: int
    elapsed_s: float = math.nan
    completed: int = 0
    error: str | None = None
    spans: list[list[float]] = field(default_factory=list)  # per worker: start, end (s)

    @property
    def rate(self) -> float | None:
        """Completed trials per second, or ``None`` if the case failed."""
        if self.error is not None or not self.elapsed_s > 0:
            return None
        return self.completed / self.elapsed_s


def _shares(total: int, k: int) -> list[int]:
    base, extra = divmod(total, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def _create_study(tool: str, url: str, name: str) -> None:
    """Create the study (and the schema) in this process, then let go of the connections."""
    if tool == "hyperdial":
        import hyperdial
        from hyperdial.samplers import RandomSampler

        study = hyperdial.create_study(name, storage=url, sampler=RandomSampler(), seed=0)
        study.storage.close()
        return
    import optuna

    _quiet_optuna()
    storage = optuna.storages.RDBStorage(url)
    optuna.create_study(study_name=name, storage=storage)
    storage.engine.dispose()


def _count_complete(tool: str, url: str, name: str) -> int:
    if tool == "hyperdial":
        import hyperdial
        from hyperdial.samplers import RandomSampler

        study = hyperdial.load_study(name, storage=url, sampler=RandomSampler())
        n = len(study.get_trials([hyperdial.TrialState.COMPLETE]))
        study.storage.close()
        return n
    import optuna

    storage = optuna.storages.RDBStorage(url)
    opt_study = optuna.load_study(study_name=name, storage=storage)
    n = len(opt_study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    storage.engine.dispose()
    return n


def run_case(case: Case, backend: Backend, sampler: str) -> Case:
    """Run one throughput case on a fresh database and fill in its measurements."""
    tag = f"{case.tool[:3]}_{case.objective}_{case.mode[0]}{case.workers}"
    name = "parallel-bench"
    try:
        with backend.fresh(tag) as url:
            _create_study(case.tool, url, name)
            one = Job(case.tool, url, name, case.objective, sampler, case.n_trials, 1, 0)
            if case.mode == "threads":
                jobs = [dataclasses.replace(one, n_jobs=case.workers)]
            else:
                shares = _shares(case.n_trials, case.workers)
                jobs = [
                    dataclasses.replace(one, n_trials=n, index=i) for i, n in enumerate(shares)
                ]
            outs = _run_workers(jobs)
            errors = [o["error"] for o in outs if o["error"]]
            if len(outs) < len(jobs):
                errors.append(f"{len(jobs) - len(outs)} worker(s) died without reporting")
            if errors:
                case.error = errors[0]
            else:
                start = min(o["start"] for o in outs)
                case.elapsed_s = max(o["end"] for o in outs) - start
                case.spans = [[o["start"] - start, o["end"] - start] for o in outs]
            case.completed = _count_complete(case.tool, url, name)
    except Exception as exc:  # noqa: BLE001 - one failed case does not stop the others
        case.error = case.error or f"{type(exc).__name__}: {exc}"[:400]
    return case


def _run_workers(jobs: Sequence[Job]) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(jobs))
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(job, barrier, results)) for job in jobs]
    for p in procs:
        p.start()
    outs: list[dict[str, Any]] = []
    while len(outs) < len(jobs):
        try:
            outs.append(results.get(timeout=1.0))
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                with contextlib.suppress(queue.Empty):  # a last result may still be in flight
                    while len(outs) < len(jobs):
                        outs.append(results.get(timeout=1.0))
                break
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():
            p.kill()
            p.join()
    return outs


def throughput_cases(
    workers: Sequence[int], sleep_trials: int | None, zero_trials: int
) -> list[Case]:
    """Return the cases to run, in order."""
    cases = []
    for k in workers:
        n = sleep_trials if sleep_trials is not None else SLEEP_TRIALS_PER_WORKER * k
        cases.append(Case("hyperdial", "sleep", "processes", k, n))
        if k > 1:  # with one worker, threads and processes are the same run
            cases.append(Case("hyperdial", "sleep", "threads", k, n))
        cases.append(Case("optuna", "sleep", "processes", k, n))
    for k in workers:
        cases.append(Case("hyperdial", "zero", "processes", k, zero_trials))
        cases.append(Case("optuna", "zero", "processes", k, zero_trials))
    return cases


# ----------------------------------------------------------------------- parallel BO
@dataclass
class BORun:
    """One BO run: a sampler on a problem with a seed and a number of workers (threads)."""

    problem: str
    sampler: str
    seed: int
    workers: int
    n_trials: int
    values: list[float] = field(default_factory=list)  # by trial number (NaN if not complete)
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    running: float | None = None  # trials running per model-based suggestion, on average
    error: str | None = None


def bo_samplers() -> tuple[dict[str, tuple[str, type]], dict[str, str]]:
    """Return ``{key: (label, class)}`` of the BO samplers that exist, and the missing ones."""
    found: dict[str, tuple[str, type]] = {}
    missing: dict[str, str] = {}
    for key, name, modules, label in BO_SAMPLERS:
        cls, why = _find_class(name, modules)
        if cls is None:
            missing[key] = f"hyperdial {why}"
        else:
            found[key] = (label, cls)
    return found, missing


def bo_trials(problem: str, fixed: int | None) -> int:
    """Return the trials of a parallel BO run on ``problem``: ``fixed``, or ten per dimension."""
    return fixed if fixed is not None else BO_TRIALS_PER_DIM * len(get_problem(problem).optimum)


def run_bo(run: BORun, cls: type) -> BORun:
    """Optimise ``run.problem`` in memory with ``run.workers`` simulated workers.

    Asynchronous workers are simulated with ask/tell on a virtual clock: each trial lasts a
    seeded uniform ``BO_DURATION``; whenever a worker is free it asks for a trial (the value
    is computed then, but told only when the trial's time is up), and the trial that ends
    first is told first. So after the first ``workers`` trials, every suggestion is made with
    ``workers - 1`` trials running, as in a real study whose objective outlasts the sampler,
    and the run is exactly reproducible. ``wall_s`` is the time spent in the run (sampler
    and bookkeeping; the objective costs nothing).
    """
    import hyperdial

    problem = get_problem(run.problem)
    low, high = BO_DURATION
    start = time.perf_counter()
    with _one_thread(), _collect_notes() as notes:
        try:
            study = hyperdial.create_study(sampler=cls(seed=run.seed), seed=run.seed)
            running: list[tuple[float, int, Any, float]] = []  # (end, number, trial, value)
            clock, started = 0.0, 0
            while started < run.n_trials or running:
                while started < run.n_trials and len(running) < run.workers:
                    trial = study.ask()
                    value = problem.define(trial)
                    rng = np.random.default_rng([run.seed, trial.number, 7])
                    duration = rng.uniform(low, high)
                    heapq.heappush(running, (clock + duration, trial.number, trial, value))
                    started += 1
                clock, _, trial, value = heapq.heappop(running)
                study.tell(trial, value)
            complete = hyperdial.TrialState.COMPLETE
            pending = [t.sampler_meta.get("n_pending") for t in study.trials]
            pending = [k for k in pending if isinstance(k, int)]
            run.running = float(np.mean(pending)) if pending else None
            run.values = [
                float(t.value) if t.state == complete and t.value is not None else math.nan
                for t in sorted(study.trials, key=lambda t: t.number)
            ]
        except Exception as exc:  # noqa: BLE001 - reported in the notes
            run.error = f"{type(exc).__name__}: {exc}"[:300]
    run.wall_s = time.perf_counter() - start
    run.notes = list(notes.seen)
    return run


def _bo_job(run: BORun) -> BORun:
    return run_bo(run, bo_samplers()[0][run.sampler][1])


def run_bo_all(runs: list[BORun], jobs: int) -> Iterator[BORun]:
    """Run ``runs`` in ``jobs`` spawned processes, updating them in place; yield each done."""
    if jobs <= 1:
        for run in runs:
            yield _bo_job(run)
        return
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_bo_job, run): i for i, run in enumerate(runs)}
        for future in concurrent.futures.as_completed(futures):
            runs[futures[future]] = future.result()
            yield runs[futures[future]]


def final_regret(run: BORun) -> float | None:
    """Return the normalised regret of the best of all ``n_trials`` trials, or ``None``."""
    if run.error is not None or len(run.values) < run.n_trials:
        return None
    finite = [v for v in run.values if math.isfinite(v)]
    return get_problem(run.problem).regret(min(finite)) if finite else 1.0


@dataclass
class Stat:
    """Mean and standard error over seeds, with the median and the geometric mean.

    Regrets are heavy-tailed (a few seeds far from the optimum decide the mean), so the
    report also gives the median and the geometric mean (the mean log regret, the usual
    scale of convergence plots); the geometric mean floors each value at ``GMEAN_FLOOR``.
    """

    mean: float
    se: float
    n: int
    median: float = math.nan
    gmean: float = math.nan

    @classmethod
    def of(cls, xs: Sequence[float]) -> Stat | None:
        """Return the statistic of ``xs`` (``None`` if empty)."""
        if not xs:
            return None
        arr = np.asarray(xs, dtype=float)
        se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
        gmean = float(np.exp(np.mean(np.log(np.maximum(arr, GMEAN_FLOOR)))))
        return cls(float(arr.mean()), se, len(arr), float(np.median(arr)), gmean)

    def __str__(self) -> str:
        return f"{self.mean:.3g} ± {self.se:.1g}"


def bo_stats(runs: Sequence[BORun]) -> dict[tuple[str, str, int], tuple[Stat | None, Stat | None]]:
    """Return ``(regret, wall time)`` statistics per (problem, sampler, workers)."""
    grouped: dict[tuple[str, str, int], list[BORun]] = {}
    for r in runs:
        grouped.setdefault((r.problem, r.sampler, r.workers), []).append(r)
    out = {}
    for key, rs in grouped.items():
        regrets = [x for x in (final_regret(r) for r in rs) if x is not None]
        walls = [r.wall_s for r in rs if r.error is None]
        out[key] = (Stat.of(regrets), Stat.of(walls))
    return out


def bo_ratio(par: Stat | None, seq: Stat | None, what: str = "mean") -> float | None:
    """Return parallel regret over sequential regret (``None`` if undefined).

    ``what`` names the statistic: ``"mean"`` (the target's), ``"median"`` or ``"gmean"``.
    """
    if par is None or seq is None:
        return None
    p, q = getattr(par, what), getattr(seq, what)
    if q <= 0:
        return 1.0 if p <= 0 else math.inf
    return p / q


# ------------------------------------------------------------------------- rendering
def _rate(x: float | None) -> str:
    return "failed" if x is None else f"{x:,.1f}"


def _speedup(
    cases: Mapping[tuple[str, str, str, int], Case], key: tuple[str, str, str], k: int
) -> float | None:
    """Return the rate at ``k`` workers over the rate at 1 (threads at 1 = processes at 1)."""
    tool, objective, mode = key
    case = cases.get((tool, objective, mode, k))
    base = cases.get((tool, objective, "processes", 1))
    if case is None or base is None or case.rate is None or not base.rate:
        return None
    return case.rate / base.rate


def _fmt_x(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}x"


def _index(cases: Sequence[Case]) -> dict[tuple[str, str, str, int], Case]:
    out = {(c.tool, c.objective, c.mode, c.workers): c for c in cases}
    for c in cases:  # one worker: the threads case is the process case
        if c.mode == "processes" and c.workers == 1:
            out.setdefault((c.tool, c.objective, "threads", 1), c)
    return out


def render(
    cases: Sequence[Case],
    runs: Sequence[BORun],
    settings: Mapping[str, Any],
    missing: Mapping[str, str],
    info: RunInfo,
) -> str:
    """Return the Markdown section of a run."""
    by = _index(cases)
    workers = list(settings["workers"])
    labels = dict(settings["bo_labels"])
    out = [
        "## Parallel execution",
        "",
        *info.lines(),
        "",
        f"Database: {settings['backend']}, a fresh database per case and tool ("
        f"{settings['versions']}). {settings['backend_note']}".rstrip(),
        "",
        "Workers are separate processes sharing one study (each loads it and runs `optimize` "
        f"for its share of the trials; after a warm-up of {WARM_UP_TRIALS} trials in a study "
        "of its own, a barrier starts them together, so start-up is not timed; the clock "
        "stops at the last worker's last trial). *hd threads* is one process with "
        "`optimize(n_jobs=k)` (with 1 worker it is the same run as *hd processes*). "
        "Speedup is trials/s over the same tool's 1-worker "
        f"rate. The machine has {os.cpu_count()} CPU(s); more workers than CPUs compete for "
        "them (and with the database server) whenever the objective does not sleep.",
    ]
    # Sleeping objective.
    sampler_text = (
        "random search in both tools"
        if settings["sleep_sampler"] == "random"
        else "each tool's default sampler (hyperdial `AutoSampler`, Optuna `TPESampler`)"
    )
    out += [
        "",
        f"### Throughput: {SLEEP_S:g} s sleeping objective",
        "",
        f"The objective draws a float, an int and a categorical and sleeps {SLEEP_S:g} s; "
        f"{sampler_text}. Trials per case: {_trials_text(cases, 'sleep')}. The ideal is "
        f"{1 / SLEEP_S:g} trials/s per worker.",
        "",
    ]
    header = [
        "workers",
        "hd processes trials/s",
        "speedup",
        "hd threads trials/s",
        "speedup",
        "Optuna processes trials/s",
        "speedup",
        "hd / Optuna (processes)",
    ]
    rows = []
    for k in workers:
        hd = by.get(("hyperdial", "sleep", "processes", k))
        th = by.get(("hyperdial", "sleep", "threads", k))
        op = by.get(("optuna", "sleep", "processes", k))
        rows.append(
            [
                str(k),
                _rate(hd.rate if hd else None),
                _fmt_x(_speedup(by, ("hyperdial", "sleep", "processes"), k)),
                _rate(th.rate if th else None),
                _fmt_x(_speedup(by, ("hyperdial", "sleep", "threads"), k)),
                _rate(op.rate if op else None),
                _fmt_x(_speedup(by, ("optuna", "sleep", "processes"), k)),
                _fmt_x(_ratio(hd, op)),
            ]
        )
    out.append(_table(header, rows, align="right"))
    # Zero-cost objective.
    out += [
        "",
        "### Throughput: zero-cost objective (storage-bound)",
        "",
        "The same draws without the sleep; `RandomSampler` in both tools, so the storage and "
        f"the loop are what is measured. Trials per case: {_trials_text(cases, 'zero')}.",
        "",
    ]
    header = [
        "workers",
        "hyperdial trials/s",
        "speedup",
        "Optuna trials/s",
        "speedup",
        "hyperdial / Optuna",
    ]
    rows = []
    for k in workers:
        hd = by.get(("hyperdial", "zero", "processes", k))
        op = by.get(("optuna", "zero", "processes", k))
        rows.append(
            [
                str(k),
                _rate(hd.rate if hd else None),
                _fmt_x(_speedup(by, ("hyperdial", "zero", "processes"), k)),
                _rate(op.rate if op else None),
                _fmt_x(_speedup(by, ("optuna", "zero", "processes"), k)),
                _fmt_x(_ratio(hd, op), 1),
            ]
        )
    out.append(_table(header, rows, align="right"))
    # Parallel BO.
    stats = bo_stats(runs)
    n_par, n_bo = settings["bo_workers"], settings["bo_trials"]
    by_problem = settings.get("bo_trials_by_problem") or {}
    if n_bo is None:
        n_text = f"{BO_TRIALS_PER_DIM} trials per dimension"
        each = ", ".join(f"{n} on {p}" for p, n in by_problem.items())
    else:
        n_text = each = f"{n_bo} trials"
    low, high = BO_DURATION
    out += [
        "",
        f"### Parallel BO: {n_par} workers against 1, {n_text}",
        "",
        f"hyperdial in memory, {n_par} asynchronous workers against 1, "
        f"{settings['seeds']} seed(s), {each}. The workers are simulated on a virtual clock "
        f"with ask/tell: a trial lasts a seeded uniform {low:g}-{high:g} time units, a free "
        "worker asks at once, and trials are told in the order they end; so every suggestion "
        f"after the first {n_par} is made with {n_par - 1} trials running (as when the "
        "objective outlasts the sampler), and every run repeats exactly. "
        "*Running per suggestion*: trials running when the model made a suggestion, mean "
        f"over the {n_par}-worker runs. Wall s is the time a run took (sampler and study; "
        f"the objective costs nothing; {settings.get('bo_jobs', 1)} run(s) at a time). "
        "Normalised regret of the best of all trials, `(best - f*) / (f_ref - f*)` clipped to "
        "[0, 1] as in `samplers.py`: mean ± standard error over seeds; lower is better. "
        "Ratio = mean parallel regret / mean sequential regret (the target's); the ± shows "
        "whether a difference exceeds the spread between seeds. A few seeds far from the "
        "optimum decide the mean, so the median and the geometric mean (mean log regret, "
        f"values floored at {GMEAN_FLOOR:g}) are given too, as 1 worker / {n_par} workers "
        "(ratio).",
        "",
    ]
    header = [
        "problem",
        "sampler",
        "regret, 1 worker",
        f"regret, {n_par} workers",
        f"{n_par} / 1",
        "median",
        "geometric mean",
        "wall s, 1 worker",
        f"wall s, {n_par} workers",
        "running per suggestion",
    ]
    rows = []
    for problem in settings["bo_problems"]:
        for key, label in labels.items():
            seq, seq_wall = stats.get((problem, key, 1), (None, None))
            par, par_wall = stats.get((problem, key, n_par), (None, None))
            rows.append(
                [
                    problem,
                    label,
                    str(seq) if seq else "—",
                    str(par) if par else "—",
                    _fmt_x(bo_ratio(par, seq)),
                    _pair(seq, par, "median"),
                    _pair(seq, par, "gmean"),
                    f"{seq_wall.mean:.1f}" if seq_wall else "—",
                    f"{par_wall.mean:.1f}" if par_wall else "—",
                    _running(runs, problem, key, n_par),
                ]
            )
    out.append(_table(header, rows))
    if missing:
        out += ["", "Not run: " + "; ".join(f"`{k}`: {v}" for k, v in missing.items()) + "."]
    out += ["", "### Targets", ""]
    out += [f"- {line}" for line in targets(by, stats, settings)]
    out += _notes(cases, runs)
    return "\n".join(out) + "\n"


def _running(runs: Sequence[BORun], problem: str, key: str, k: int) -> str:
    """Return the mean number of trials running when the model suggested, with ``k`` workers."""
    xs = [
        r.running
        for r in runs
        if (r.problem, r.sampler, r.workers) == (problem, key, k) and r.running is not None
    ]
    return f"{np.mean(xs):.2f}" if xs else "—"


def _pair(seq: Stat | None, par: Stat | None, what: str) -> str:
    """Return ``"seq / par (ratio)"`` for one statistic of the regret."""
    if seq is None or par is None:
        return "—"
    ratio = _fmt_x(bo_ratio(par, seq, what))
    return f"{getattr(seq, what):.2g} / {getattr(par, what):.2g} ({ratio})"


def _ratio(hd: Case | None, op: Case | None) -> float | None:
    if hd is None or op is None or hd.rate is None or not op.rate:
        return None
    return hd.rate / op.rate


def _trials_text(cases: Sequence[Case], objective: str) -> str:
    by_k = {c.workers: c.n_trials for c in cases if c.objective == objective}
    counts = set(by_k.values())
    if len(counts) == 1:
        return f"{counts.pop():,} in all, split evenly among the workers"
    return ", ".join(f"{n:,} with {k}" for k, n in sorted(by_k.items())) + " (split evenly)"


def _verdict(ok: bool | None) -> str:
    return "cannot be judged" if ok is None else ("met" if ok else "**not met**")


def targets(
    by: Mapping[tuple[str, str, str, int], Case],
    stats: Mapping[tuple[str, str, int], tuple[Stat | None, Stat | None]],
    settings: Mapping[str, Any],
) -> list[str]:
    """Return one line per target and case: what was measured and met / not met."""
    lines = []
    for mode in ("processes", "threads"):
        for k in settings["workers"]:
            if k == 1:
                continue
            s = _speedup(by, ("hyperdial", "sleep", mode), k)
            ok = None if s is None else s >= TARGET_SPEEDUP * k
            lines.append(
                f"Sleeping objective, hyperdial {mode}, {k} workers: speedup >= "
                f"{TARGET_SPEEDUP * k:.1f}x ({TARGET_SPEEDUP:g} x {k}): {_verdict(ok)} "
                f"({_fmt_x(s)})"
            )
    for k in settings["workers"]:
        r = _ratio(
            by.get(("hyperdial", "zero", "processes", k)),
            by.get(("optuna", "zero", "processes", k)),
        )
        ok = None if r is None else r >= TARGET_STORAGE
        lines.append(
            f"Zero-cost objective, {k} worker(s): hyperdial >= {TARGET_STORAGE:g}x Optuna's "
            f"trials/s: {_verdict(ok)} ({_fmt_x(r, 1)})"
        )
    n_par = settings["bo_workers"]
    for problem in settings["bo_problems"]:
        for key, label in dict(settings["bo_labels"]).items():
            seq = stats.get((problem, key, 1), (None, None))[0]
            par = stats.get((problem, key, n_par), (None, None))[0]
            r = bo_ratio(par, seq)
            ok = None if r is None else r <= TARGET_BO
            detail = ""
            if seq is not None and par is not None:
                g = _fmt_x(bo_ratio(par, seq, "gmean"))
                detail = f"; {par} against {seq}; geometric mean {g}"
            lines.append(
                f"Parallel BO, {label} on {problem}: regret with {n_par} workers <= "
                f"{TARGET_BO:.2f}x sequential: {_verdict(ok)} ({_fmt_x(r)}{detail})"
            )
    return lines


def _notes(cases: Sequence[Case], runs: Sequence[BORun]) -> list[str]:
    out = ["", "### Notes", ""]
    for c in cases:
        what = f"{c.tool} {c.mode}, {c.objective} objective, {c.workers} worker(s)"
        if c.error:
            out.append(f"- {what} failed: {c.error}")
        elif c.completed != c.n_trials:
            out.append(f"- {what}: {c.completed} of {c.n_trials} trials completed")
    errors: dict[tuple[str, str, int], list[str]] = {}
    seen: dict[str, set[str]] = {}
    for r in runs:
        if r.error:
            errors.setdefault((r.problem, r.sampler, r.workers), []).append(r.error)
        for n in r.notes:
            seen.setdefault(n, set()).add(r.sampler)
    for (problem, sampler, k), errs in sorted(errors.items()):
        out.append(
            f"- `{sampler}` failed on {problem} with {k} worker(s) ({len(errs)}): {errs[0]}"
        )
    for note, samplers in sorted(seen.items())[:10]:
        out.append(f"- Warning from {', '.join(f'`{s}`' for s in sorted(samplers))}: {note}")
    if len(out) == 3:
        out.append("- No case failed or fell short of its trials, and no BO run warned.")
    return out


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's section of the report at ``path`` (created if missing)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Parallel benchmark: hyperdial against Optuna\n\n"
            "Generated by `benchmarks/parallel.py` (see `benchmarks/README.md`).\n\n"
        )
    _write_section(path, SECTION, text)


# ------------------------------------------------------------------------------ main
def _command(argv: Sequence[str]) -> str:
    threads = " ".join(f"{v}=1" for v in THREAD_VARS[:2])
    return f"{threads} python benchmarks/parallel.py {shlex.join(argv)}".strip()


def _int_list(text: str) -> list[int]:
    try:
        values = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        message = f"expected comma-separated integers; got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1; got {text!r}")
    return values


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=_int_list, default=None, help="worker counts (default 1,2,4,8)"
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=None,
        help="sleeping objective: total trials per case (default "
        f"{SLEEP_TRIALS_PER_WORKER} x workers, about 10 s per case)",
    )
    parser.add_argument(
        "--zero-trials",
        type=int,
        default=None,
        help=f"zero-cost objective: total trials per case (default {ZERO_TRIALS:,})",
    )
    parser.add_argument(
        "--sleep-sampler",
        choices=("random", "default"),
        default="random",
        help="sampler for the sleeping objective: random search in both tools (default), or "
        "each tool's default (hyperdial AutoSampler, Optuna TPE)",
    )
    parser.add_argument("--seeds", type=int, default=None, help="parallel BO seeds (default 100)")
    parser.add_argument(
        "--bo-trials",
        type=int,
        default=None,
        help=(
            f"trials per parallel BO run (default {BO_TRIALS_PER_DIM} per dimension of each "
            "problem)"
        ),
    )
    parser.add_argument(
        "--bo-workers", type=int, default=4, help="parallel BO: simulated workers (default 4)"
    )
    parser.add_argument(
        "--bo-jobs", type=int, default=2, help="parallel BO: runs at a time, in processes"
    )
    parser.add_argument(
        "--skip-postgres", action="store_true", help="use SQLite files instead of PostgreSQL"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: workers 1,2, few trials, SQLite, 1 seed (seconds); prints only",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"Markdown report to update (default {DEFAULT_OUTPUT.relative_to(ROOT)}; "
        "--quick writes only when given)",
    )
    parser.add_argument("--raw", type=Path, default=None, help="also save every measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.workers = args.workers or _int_list(QUICK["workers"])
        args.trials = args.trials or QUICK["trials"]
        args.zero_trials = args.zero_trials or QUICK["zero_trials"]
        args.seeds = args.seeds or QUICK["seeds"]
        args.bo_trials = args.bo_trials or QUICK["bo_trials"]
        args.skip_postgres = True
    args.workers = args.workers or [1, 2, 4, 8]
    args.zero_trials = args.zero_trials or ZERO_TRIALS
    args.seeds = args.seeds or 100
    if args.output is None and not args.quick:
        args.output = DEFAULT_OUTPUT
    for name in ("trials", "zero_trials", "seeds", "bo_trials", "bo_workers", "bo_jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.trials is not None and args.trials < max(args.workers):
        parser.error("--trials must be at least the largest worker count")
    if args.zero_trials < max(args.workers):
        parser.error("--zero-trials must be at least the largest worker count")
    return args


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> str:
    """Run the benchmark from command-line arguments; return the Markdown printed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    for var in THREAD_VARS:  # inherited by the worker processes
        os.environ[var] = "1"
    start = time.perf_counter()
    env = environment()  # before running: others may commit while a long run goes on
    found, missing = bo_samplers()
    backend = Backend(use_postgres=not args.skip_postgres)
    cases = throughput_cases(args.workers, args.trials, args.zero_trials)
    try:
        for i, case in enumerate(cases, 1):
            run_case(case, backend, args.sleep_sampler if case.objective == "sleep" else "random")
            status = f"ERROR {case.error}" if case.error else f"{case.rate:,.1f} trials/s"
            _log(
                f"[{i}/{len(cases)} throughput, {(time.perf_counter() - start) / 60:.1f} min] "
                f"{case.tool} {case.mode} {case.objective} x{case.workers}, "
                f"{case.n_trials} trials: {status}"
            )
    finally:
        backend.close()
    runs = [
        BORun(problem, key, seed, k, bo_trials(problem, args.bo_trials))
        for problem in BO_PROBLEMS
        for key in found
        for seed in range(args.seeds)
        for k in (1, args.bo_workers)
    ]
    for i, run in enumerate(run_bo_all(runs, args.bo_jobs), 1):
        status = f"ERROR {run.error}" if run.error else f"regret {final_regret(run):.3g}"
        _log(
            f"[{i}/{len(runs)} BO, {(time.perf_counter() - start) / 60:.1f} min] {run.problem} "
            f"{run.sampler} seed {run.seed} x{run.workers}: {run.wall_s:.1f} s, {status}"
        )
    info = RunInfo([_command(argv)], [env], time.perf_counter() - start, 1)
    settings = {
        "workers": args.workers,
        "sleep_sampler": args.sleep_sampler,
        "backend": backend.detail,
        "backend_note": backend.note,
        "versions": _versions(),
        "seeds": args.seeds,
        "bo_trials": args.bo_trials,
        "bo_trials_by_problem": {p: bo_trials(p, args.bo_trials) for p in BO_PROBLEMS},
        "bo_workers": args.bo_workers,
        "bo_jobs": args.bo_jobs,
        "bo_problems": list(BO_PROBLEMS),
        "bo_labels": {k: label for k, (label, _) in found.items()},
    }
    text = render(cases, runs, settings, missing, info)
    if args.raw is not None:
        payload = {
            "info": asdict(info),
            "settings": settings,
            "missing": missing,
            "throughput": [asdict(c) | {"rate": c.rate} for c in cases],
            "bo": [asdict(r) | {"regret": final_regret(r)} for r in runs],
        }
        args.raw.write_text(json.dumps(payload, indent=1))
    print(text)
    if args.output is not None:
        write_section(args.output, text)
        _log(f"written to {args.output}")
    return text


if __name__ == "__main__":
    main()
