"""Where trials run: threads (the default), one process per trial, or a Dask cluster.

The study stays the only wiring: the caller asks for each trial (its number, the scheduler's
launch), the executor runs the objective on it somewhere — a child process, a Dask worker on
another machine — and that side tells the result to the shared storage. What comes back is the
finished record. A trial whose process is killed or dies (timeout, memory, a lost machine) is
recorded FAILED with the reason, and the study goes on.

Processes and Dask workers write to the study's storage themselves, so it must be one they can
reach: a SQL database (a SQLite file for processes on one machine; PostgreSQL or MySQL across
machines), not memory.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from hyperdial.exceptions import InvalidValueError, TrialFinishedError, missing
from hyperdial.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hyperdial.study import Objective, Study

__all__ = ["DaskExecutor", "Executor", "ProcessExecutor", "run_attached"]

_KILL_GRACE_S = 5.0


def run_attached(
    study: Study,
    trial_id: int,
    objective: Objective,
    catch: tuple[type[BaseException], ...] = (),
) -> FrozenTrial | None:
    """Run ``objective`` on the RUNNING trial ``trial_id`` and tell the outcome.

    This is what a child process or a Dask worker runs. It returns the final record, or
    ``None`` when the trial was finished meanwhile (e.g. reaped as stale).
    """
    from hyperdial._loop import evaluate

    try:
        trial = study._attach(trial_id)
    except TrialFinishedError:
        return None
    return evaluate(study, trial, objective, catch)


def _fail(study: Study, trial_id: int, error: str) -> FrozenTrial | None:
    """Record a trial FAILED from outside (its process is gone); ``None`` if already finished."""
    try:
        return study.storage.finish_trial(trial_id, _update(state=TrialState.FAILED, error=error))
    except TrialFinishedError:
        return study.storage.get_trial(trial_id)


def _update(**kw: Any) -> Any:
    from hyperdial.storage.base import TrialUpdate

    return TrialUpdate(**kw)


def _require_shared(study: Study, who: str) -> None:
    if not study.storage.shared_between_processes:
        raise InvalidValueError(
            f"{who}: trials in other processes write to the study's storage, so it must be "
            f"shared; {study.storage!r} lives in this process only. Use a database URL, e.g. "
            "storage='sqlite:///hyperdial.db'."
        )


class Executor(ABC):
    """Runs trials the study has started; see the module docstring.

    Attributes:
        max_workers: Trials run at once.
    """

    max_workers: int

    def check(self, study: Study) -> None:  # noqa: B027 - optional
        """Raise a clear error if the executor cannot run ``study``'s trials."""

    @abstractmethod
    def submit(
        self,
        study: Study,
        trial_id: int,
        objective: Objective,
        catch: tuple[type[BaseException], ...],
    ) -> Future[FrozenTrial | None]:
        """Start running ``objective`` on the RUNNING trial ``trial_id``; return its future.

        The future's result is the final record. An objective exception that is not in
        ``catch`` is the future's exception (after the trial was recorded FAILED).
        """

    def shutdown(self, *, kill: bool = False) -> None:  # noqa: B027 - optional
        """Release resources; with ``kill``, stop trials still running."""


class ProcessExecutor(Executor):
    """Run each trial in a child process of its own.

    For CPU-bound objectives (no shared interpreter lock) and for objectives that must be
    stopped for real: after ``timeout_s`` the process (and every process it started) is
    killed and the trial recorded FAILED; with ``memory_mb`` the process's address space is
    capped, so a runaway allocation fails that trial (``MemoryError``) instead of the machine.

    Args:
        max_workers: Trials run at once (default: the number of CPUs).
        timeout_s: Seconds a trial may run before it is killed.
        memory_mb: Memory a trial process may allocate beyond what it starts with, in MiB
            (an address-space limit; POSIX only).
        start_method: ``"fork"`` (default on Linux: nothing is pickled, start-up takes
            milliseconds) or ``"spawn"`` (the objective and study must be picklable).

    Example:
        >>> import hyperdial, tempfile
        >>> url = f"sqlite:///{tempfile.mkdtemp()}/p.db"
        >>> study = hyperdial.create_study(storage=url, seed=0)
        >>> study.optimize(
        ...     lambda t: t.suggest_float("x", 0, 1), n_trials=4,
        ...     executor=ProcessExecutor(max_workers=2, timeout_s=60),
        ... )
        >>> len(study.trials)
        4
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        timeout_s: float | None = None,
        memory_mb: float | None = None,
        start_method: str | None = None,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise InvalidValueError(
                f"ProcessExecutor: max_workers must be an int >= 1; got {max_workers!r}."
            )
        for name, value in (("timeout_s", timeout_s), ("memory_mb", memory_mb)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise InvalidValueError(
                    f"ProcessExecutor: {name} must be a number > 0 or None; got {value!r}."
                )
        if memory_mb is not None and sys.platform == "win32":
            raise InvalidValueError("ProcessExecutor: memory_mb needs a POSIX system.")
        methods = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "fork" if sys.platform == "linux" else "spawn"
        if start_method not in methods:
            raise InvalidValueError(
                f"ProcessExecutor: start_method must be one of {methods!r}; got {start_method!r}."
            )
        self.max_workers = max_workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.start_method = start_method
        self._live: dict[int, multiprocessing.process.BaseProcess] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"ProcessExecutor(max_workers={self.max_workers}, timeout_s={self.timeout_s!r}, "
            f"memory_mb={self.memory_mb!r})"
        )

    def check(self, study: Study) -> None:
        _require_shared(study, "ProcessExecutor")

    def submit(
        self,
        study: Study,
        trial_id: int,
        objective: Objective,
        catch: tuple[type[BaseException], ...],
    ) -> Future[FrozenTrial | None]:
        ctx = multiprocessing.get_context(self.start_method)
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child,
            args=(study, trial_id, objective, catch, send, self.memory_mb),
            name=f"hyperdial-trial-{trial_id}",
            daemon=False,
        )
        proc.start()
        send.close()
        with self._lock:
            self._live[trial_id] = proc
        future: Future[FrozenTrial | None] = Future()
        future.set_running_or_notify_cancel()
        watcher = threading.Thread(
            target=self._watch,
            args=(proc, receive, future, study, trial_id),
            name=f"hyperdial-watch-{trial_id}",
            daemon=True,
        )
        watcher.start()
        return future

    def _watch(
        self,
        proc: multiprocessing.process.BaseProcess,
        receive: Any,
        future: Future[FrozenTrial | None],
        study: Study,
        trial_id: int,
    ) -> None:
        try:
            message = None
            timed_out = False
            if receive.poll(self.timeout_s):
                message = _receive(receive)
            elif proc.is_alive():
                timed_out = True
            proc.join(None if not timed_out else 0)
            if timed_out:
                _kill(proc)
                future.set_result(
                    _fail(
                        study,
                        trial_id,
                        f"timed out after {self.timeout_s:g} s: the trial's process was killed",
                    )
                )
                return
            if message is None:  # the process died without a word (killed, crashed)
                proc.join(_KILL_GRACE_S)
                code = proc.exitcode
                how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                future.set_result(_fail(study, trial_id, f"the trial's process died ({how})"))
                return
            kind, payload = message
            proc.join(_KILL_GRACE_S)
            if kind == "raise":
                future.set_exception(payload)
            else:
                future.set_result(payload)
        except BaseException as exc:  # noqa: BLE001 - reported through the future
            if not future.done():
                future.set_exception(exc)
        finally:
            receive.close()
            with self._lock:
                self._live.pop(trial_id, None)

    def shutdown(self, *, kill: bool = False) -> None:
        if not kill:
            return
        with self._lock:
            live = list(self._live.values())
        for proc in live:
            _kill(proc)


def _receive(receive: Any) -> tuple[str, Any] | None:
    try:
        return receive.recv()  # type: ignore[no-any-return]
    except (EOFError, OSError):
        return None


def _kill(proc: multiprocessing.process.BaseProcess) -> None:
    """Kill the trial's process and every process it started (its own process group)."""
    if proc.pid is None:
        return
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.kill()
    proc.join(_KILL_GRACE_S)


def _child(
    study: Study,
    trial_id: int,
    objective: Callable[..., object],
    catch: tuple[type[BaseException], ...],
    send: Any,
    memory_mb: float | None,
) -> None:
    """The body of a trial's process: its own process group, a memory cap, run, report."""
    if hasattr(os, "setpgid"):
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # a timeout kills the whole group, grandchildren included
    if memory_mb is not None:
        import resource

        limit = _address_space() + int(memory_mb * 2**20)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        result: tuple[str, Any] = ("done", run_attached(study, trial_id, objective, catch))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which re-raises
        try:
            pickle.dumps(exc)
            result = ("raise", exc)
        except Exception:  # noqa: BLE001 - an exception that cannot travel
            result = ("raise", RuntimeError(f"{type(exc).__name__}: {exc}"))
    try:
        send.send(result)
    finally:
        send.close()


def _address_space() -> int:
    """Return the bytes of address space this process already maps (0 if unknown).

    A forked trial process starts with its parent's mappings (libraries, imported modules),
    which can be large; the memory cap is what the trial may add to them.
    """
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class DaskExecutor(Executor):
    """Run trials on a Dask cluster (``pip install 'hyperdial[dask]'``).

    Each trial is one task: the worker loads nothing but the pickled study (its storage URL,
    sampler and scheduler) and the objective, runs the trial and tells the result to the
    storage. If a worker dies mid-trial, Dask runs the task again elsewhere and the trial
    resumes with the parameters it already had; if the task cannot complete, the trial is
    recorded FAILED with Dask's reason.

    Args:
        client: A ``distributed.Client`` (e.g. ``Client("tcp://scheduler:8786")``).
        max_workers: Trials in flight at once (default: the cluster's worker threads).

    Example:
        >>> from distributed import Client, LocalCluster  # doctest: +SKIP
        >>> client = Client(LocalCluster(n_workers=2))  # doctest: +SKIP
        >>> study.optimize(objective, executor=DaskExecutor(client))  # doctest: +SKIP
    """

    def __init__(self, client: Any, max_workers: int | None = None) -> None:
        try:
            import distributed
        except ImportError as exc:
            raise missing("dask", "DaskExecutor", "distributed") from exc
        if not isinstance(client, distributed.Client):
            raise InvalidValueError(
                f"DaskExecutor: client must be a distributed.Client; got {type(client).__name__}."
            )
        if max_workers is None:
            workers = client.scheduler_info().get("workers", {})
            max_workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise InvalidValueError(
                f"DaskExecutor: max_workers must be an int >= 1; got {max_workers!r}."
            )
        self.client = client
        self.max_workers = max_workers
        self._futures: dict[int, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r}, max_workers={self.max_workers})"

    def check(self, study: Study) -> None:
        _require_shared(study, "DaskExecutor")

    def submit(
        self,
        study: Study,
        trial_id: int,
        objective: Objective,
        catch: tuple[type[BaseException], ...],
    ) -> Future[FrozenTrial | None]:
        task = self.client.submit(
            run_attached,
            study,
            trial_id,
            objective,
            catch,
            pure=False,
            key=f"hyperdial-{study.study_name}-trial-{trial_id}",
        )
        with self._lock:
            self._futures[trial_id] = task
        future: Future[FrozenTrial | None] = Future()
        future.set_running_or_notify_cancel()

        def done(task: Any) -> None:
            with self._lock:
                self._futures.pop(trial_id, None)
            try:
                future.set_result(task.result())
            except BaseException as exc:  # noqa: BLE001 - sorted below
                if isinstance(exc, catch) or _is_objective_error(exc, study, trial_id):
                    future.set_exception(exc)
                else:  # the task itself was lost (worker died too often, cancelled)
                    why = f"the Dask task failed: {type(exc).__name__}: {exc}"
                    future.set_result(_fail(study, trial_id, why))

        task.add_done_callback(done)
        return future

    def shutdown(self, *, kill: bool = False) -> None:
        if not kill:
            return
        with self._lock:
            tasks = list(self._futures.values())
        for task in tasks:
            with contextlib.suppress(Exception):
                task.cancel()


def _is_objective_error(exc: BaseException, study: Study, trial_id: int) -> bool:
    """Whether ``exc`` came from the objective (the trial was told FAILED) rather than Dask."""
    with contextlib.suppress(Exception):
        trial = study.storage.get_trial(trial_id)
        return trial.state is TrialState.FAILED and bool(trial.error)
    return False
