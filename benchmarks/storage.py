"""Storage throughput: ask+tell with random search, hyperdial against Optuna in the same run.

Measures, on the same machine and the same databases:

* in memory: trials per second over ``--trials`` ask+tell cycles;
* SQLite file: trials per second (hyperdial over ``--trials``, Optuna over ``--peer-trials``
  because it is much slower; its rate only falls as a study grows, so this favours Optuna);
* PostgreSQL: the same with 1 and 4 processes sharing one study;
* loading a study and reading all of its trials: both tools at ``--peer-trials`` trials, and
  hyperdial alone at ``--trials`` (Optuna needs minutes to write that many on SQLite).

Run (Optuna is a benchmark-only extra)::

    pip install -e ".[benchmark]"
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/storage.py --trials 10000

It prints a Markdown table with the ratios (hyperdial / Optuna; above 1 means hyperdial is faster).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


def hd_objective(trial):  # noqa: ANN001, ANN201 - the same objective for both tools
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", 0, 10)
    z = trial.suggest_categorical("z", ["a", "b", "c"])
    return x * x + y + len(z)


opt_objective = hd_objective


@dataclass
class Row:
    case: str
    hyperdial: float
    optuna: float | None
    unit: str

    @property
    def ratio(self) -> str:
        if self.optuna is None or self.optuna == 0:
            return "n/a"
        if self.unit == "s":  # lower is better
            return f"{self.optuna / self.hyperdial:.1f}x"
        return f"{self.hyperdial / self.optuna:.1f}x"


def _rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def hd_run(storage: object, n: int, name: str) -> float:
    import hyperdial
    from hyperdial.samplers import RandomSampler

    study = hyperdial.create_study(
        name, storage=storage, sampler=RandomSampler(), seed=0, load_if_exists=True
    )
    return _rate(n, lambda: study.optimize(hd_objective, n_trials=n, show_progress_bar=False))


def opt_run(storage: object, n: int, name: str) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=optuna.samplers.RandomSampler(seed=0),
        load_if_exists=True,
    )
    return _rate(n, lambda: study.optimize(opt_objective, n_trials=n))


def _worker(args: tuple[str, str, str, int, mp.Barrier]) -> None:
    tool, url, name, n, barrier = args
    barrier.wait()
    (hd_run if tool == "hyperdial" else opt_run)(url, n, name)


def parallel_rate(tool: str, url: str, n_total: int, n_procs: int) -> float:
    """Trials per second of ``n_procs`` processes sharing one study on ``url``."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    (hd_run if tool == "hyperdial" else opt_run)(url, 0, name)  # create it, and the schema
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n_procs + 1)
    procs = [
        ctx.Process(target=_worker, args=((tool, url, name, n_total // n_procs, barrier),))
        for _ in range(n_procs)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    return n_total / (time.perf_counter() - start)


def load_time_hd(url: str, name: str) -> float:
    import hyperdial

    start = time.perf_counter()
    study = hyperdial.load_study(name, storage=url)
    trials = study.trials
    elapsed = time.perf_counter() - start
    assert len(trials) > 0
    return elapsed


def load_time_opt(url: str, name: str) -> float:
    import optuna

    start = time.perf_counter()
    study = optuna.load_study(study_name=name, storage=url)
    trials = study.get_trials(deepcopy=False)
    elapsed = time.perf_counter() - start
    assert len(trials) > 0
    return elapsed


def _pg_database(suffix: str) -> str | None:
    try:
        import sqlalchemy as sa

        db = f"hyperdial_bench_{os.getpid()}_{suffix}"
        engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {db}"))
            conn.execute(sa.text(f"CREATE DATABASE {db}"))
        engine.dispose()
        return PG_TEMPLATE.format(db=db)
    except Exception as exc:  # noqa: BLE001 - report and go on without PostgreSQL
        print(f"PostgreSQL unavailable, skipped: {exc}")
        return None


def _drop_pg(url: str) -> None:
    import sqlalchemy as sa

    db = url.rsplit("/", 1)[1]
    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10_000, help="hyperdial trials per case")
    parser.add_argument(
        "--peer-trials", type=int, default=1_000, help="Optuna trials on SQL backends"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    n, n_peer = args.trials, args.peer_trials
    rows: list[Row] = []

    from hyperdial.storage import MemoryStorage

    rows.append(
        Row(
            f"in memory, {n} trials (trials/s)",
            hd_run(MemoryStorage(), n, "memory"),
            opt_run(None, n, "memory"),
            "trials/s",
        )
    )
    print(rows[-1])

    with tempfile.TemporaryDirectory() as tmp:
        hd_url, opt_url = f"sqlite:///{tmp}/hd.db", f"sqlite:///{tmp}/opt.db"
        rows.append(
            Row(
                f"SQLite, 1 process (trials/s; Optuna over {n_peer})",
                hd_run(hd_url, n, "sqlite"),
                opt_run(opt_url, n_peer, "sqlite"),
                "trials/s",
            )
        )
        print(rows[-1])
        hd_run(hd_url, n_peer, "sqlite-small")  # a study of Optuna's size, for the load test
        rows.append(
            Row(
                f"SQLite, load a {n_peer}-trial study (s)",
                load_time_hd(hd_url, "sqlite-small"),
                load_time_opt(opt_url, "sqlite"),
                "s",
            )
        )
        print(rows[-1])
        rows.append(
            Row(f"SQLite, load a {n}-trial study (s)", load_time_hd(hd_url, "sqlite"), None, "s")
        )
        print(rows[-1])

    if not args.skip_postgres:
        hd_pg, opt_pg = _pg_database("hd"), _pg_database("peer")
        try:
            if hd_pg and opt_pg:
                for procs in (1, 4):
                    rows.append(
                        Row(
                            f"PostgreSQL, {procs} process(es) (trials/s; Optuna over {n_peer})",
                            parallel_rate("hyperdial", hd_pg, n if procs == 1 else n // 2, procs),
                            parallel_rate("optuna", opt_pg, n_peer, procs),
                            "trials/s",
                        )
                    )
                    print(rows[-1])
        finally:
            for url in (hd_pg, opt_pg):
                if url:
                    _drop_pg(url)

    print()
    print(f"Command: python benchmarks/storage.py --trials {n} --peer-trials {n_peer}")
    print()
    print("| case | hyperdial | Optuna | hyperdial vs Optuna |")
    print("|---|---:|---:|---:|")
    for row in rows:
        opt = "n/a" if row.optuna is None else f"{row.optuna:,.2f}"
        print(f"| {row.case} | {row.hyperdial:,.2f} | {opt} | {row.ratio} |")


if __name__ == "__main__":
    main()
