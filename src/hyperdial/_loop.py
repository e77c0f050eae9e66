"""The optimisation loop: a thin driver over ask/tell with threads, budgets and a progress bar."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from hyperdial.exceptions import InvalidValueError, StudyFinished, TrialFinishedError, TrialPruned
from hyperdial.execution import Executor
from hyperdial.samplers.base import Sampler
from hyperdial.storage.base import TrialUpdate
from hyperdial.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hyperdial.study import Callback, Objective, Study
    from hyperdial.trial import Trial

__all__ = ["evaluate", "run_optimize", "run_trial", "start_trial"]

_logger = logging.getLogger("hyperdial.study")

_INTERRUPTED = "interrupted by the user (KeyboardInterrupt) while running"


def _catch_tuple(
    catch: Iterable[type[BaseException]] | type[BaseException],
) -> tuple[type[BaseException], ...]:
    if isinstance(catch, type):
        items: tuple[object, ...] = (catch,)
    elif isinstance(catch, (str, bytes, BaseException)) or not isinstance(catch, Iterable):
        raise InvalidValueError(
            f"Study.optimize: catch must be an exception type or a tuple of them; got {catch!r}."
        )
    else:
        items = tuple(catch)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise InvalidValueError(
                f"Study.optimize: catch must hold exception types; got {item!r}."
            )
    return items  # type: ignore[return-value]


def _callback_tuple(callbacks: object) -> tuple[Callback, ...]:
    if callable(callbacks) or not isinstance(callbacks, Iterable) or isinstance(callbacks, str):
        raise InvalidValueError(
            "Study.optimize: callbacks must be a list of callback(study, trial) functions; "
            f"got {callbacks!r}."
        )
    items = tuple(callbacks)
    for item in items:
        if not callable(item):
            raise InvalidValueError(
                f"Study.optimize: every callback must be callable; got {item!r}."
            )
    return items


class _Run:
    """The shared state of one optimize() call."""

    def __init__(
        self,
        study: Study,
        n_trials: int | None,
        timeout: float | None,
        max_trials: int | None = None,
    ) -> None:
        self.study = study
        self.n_trials = n_trials
        self.max_trials = max_trials
        self.budget_spent = False
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.started = 0
        self.finished = 0
        self.exhausted = False
        self.lock = threading.Lock()
        self.running: dict[int, int] = {}  # trial_id -> number, for interruption

    def may_start(self) -> bool:
        if self.study._stop_flag.is_set() or self.exhausted or self.budget_spent:
            return False
        if self.n_trials is not None and self.started >= self.n_trials:
            return False
        return self.deadline is None or time.monotonic() < self.deadline


def _sampler_is_exhausted(study: Study) -> bool:
    sampler = study.sampler
    if type(sampler).is_exhausted is Sampler.is_exhausted:
        return False
    return sampler.is_exhausted(study.history())


def start_trial(study: Study, run: _Run | None) -> Trial | None:
    """Ask for the next trial unless a budget is spent (``None`` then)."""
    if run is None:
        return study.ask()
    with run.lock:
        if not run.may_start():
            return None
        if _sampler_is_exhausted(study):
            run.exhausted = True
            return None
        trial = study._start(None, run.max_trials)
        if trial is None:  # the study-wide budget is spent, by this worker or others
            run.budget_spent = True
            return None
        run.started += 1
        run.running[trial.trial_id] = trial.number
        return trial


def run_trial(
    study: Study,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    run: _Run | None = None,
) -> FrozenTrial | None:
    """Ask, run the objective, tell; return the finished record (``None`` if not started)."""
    trial = start_trial(study, run)
    if trial is None:
        return None
    try:
        return evaluate(study, trial, objective, catch, run)
    finally:
        if run is not None:
            with run.lock:
                run.running.pop(trial.trial_id, None)


def evaluate(
    study: Study,
    trial: Trial,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    run: _Run | None = None,
) -> FrozenTrial | None:
    """Run the objective on a started trial and tell the outcome; return the final record.

    An exception that is not in ``catch`` is recorded FAILED and re-raised. ``None`` when the
    trial was finished meanwhile by someone else (e.g. marked interrupted).
    """
    try:
        try:
            value = objective(trial)
        except TrialPruned:
            return study.tell(trial, state=TrialState.PRUNED)
        except StudyFinished as exc:
            if run is not None:
                run.exhausted = True
            return study.tell(
                trial, state=TrialState.FAILED, error=f"no configuration left: {exc}"
            )
        except KeyboardInterrupt:
            study.tell(trial, state=TrialState.FAILED, error=_INTERRUPTED)
            raise
        except SystemExit as exc:
            # The objective asked the program to end: the trial is not left RUNNING.
            study.tell(
                trial,
                state=TrialState.FAILED,
                error=f"the objective exited (SystemExit: {exc.code!r})\n{traceback.format_exc()}",
            )
            raise
        except Exception as exc:
            frozen = study.tell(trial, state=TrialState.FAILED, error=traceback.format_exc())
            _logger.warning("Trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
            if not isinstance(exc, catch):
                raise
            return frozen
        return study.tell(trial, value, state=TrialState.COMPLETE)  # type: ignore[arg-type]
    except TrialFinishedError:
        # The trial was marked FAILED (interrupted, or reaped) while the objective ran.
        return None


class _Progress:
    """A Rich progress bar on a terminal; silent otherwise."""

    def __init__(self, study: Study, run: _Run, show: bool | None) -> None:
        if show is None:
            show = sys.stderr.isatty()
        self.bar = None
        if not show:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"),
            transient=False,
        )
        total = run.n_trials
        self.task = self.bar.add_task(study.study_name, total=total, best="")
        self.bar.start()

    def advance(self, study: Study, frozen: FrozenTrial | None) -> None:
        if self.bar is None:
            return
        best = ""
        if len(study.directions) == 1:
            history = study.history()
            if history.best is not None and history.best.values is not None:
                best = f"best {history.best.values[0]:.6g} (trial {history.best.number})"
        else:
            best = f"{len(study.history().pareto)} on the Pareto front"
        self.bar.update(self.task, advance=1, best=best)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_optimize(
    study: Study,
    objective: Objective,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: Iterable[type[BaseException]] | type[BaseException],
    callbacks: Iterable[Callback],
    show_progress_bar: bool | None,
    executor: Executor | None = None,
    max_trials: int | None = None,
) -> None:
    """Drive ``objective`` over new trials; see :meth:`hyperdial.Study.optimize`."""
    if not callable(objective):
        raise TypeError(
            f"Study.optimize: objective must be callable; got {type(objective).__name__}."
        )
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0
    ):
        raise InvalidValueError(f"Study.optimize: n_trials must be an int >= 0; got {n_trials!r}.")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0
    ):
        raise InvalidValueError(f"Study.optimize: timeout must be a number >= 0; got {timeout!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise InvalidValueError(
            f"Study.optimize: n_jobs must be an int >= 1 or -1; got {n_jobs!r}."
        )
    if max_trials is not None and (
        isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1
    ):
        raise InvalidValueError(
            f"Study.optimize: max_trials must be an int >= 1; got {max_trials!r}."
        )
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    catches = _catch_tuple(catch)
    callbacks = _callback_tuple(callbacks)
    study._stop_flag.clear()
    run = _Run(study, n_trials, timeout, max_trials)
    progress = _Progress(study, run, show_progress_bar)

    def finish(frozen: FrozenTrial | None) -> None:
        run.finished += 1
        progress.advance(study, frozen)
        if frozen is not None:
            for callback in callbacks:
                callback(study, frozen)

    if executor is not None:
        if not isinstance(executor, Executor):
            raise InvalidValueError(
                "Study.optimize: executor must be a hyperdial.execution.Executor; "
                f"got {type(executor).__name__}."
            )
        executor.check(study)
    try:
        if executor is not None:
            _run_executor(study, objective, catches, run, executor, finish)
        elif n_jobs == 1:
            while True:
                frozen = run_trial(study, objective, catches, run)
                if frozen is None:  # nothing was started: a budget is spent
                    break
                finish(frozen)
        else:
            _run_threads(study, objective, catches, run, n_jobs, finish)
        if run.budget_spent:
            _see_budget_through(study, objective, catches, run, finish)
    except KeyboardInterrupt:
        _mark_interrupted(study, run)
        _logger.warning(
            "Interrupted: running trials were recorded FAILED; %d finished trials are kept. "
            "Resume with hyperdial.load_study(%r, storage=...).",
            len(study.get_trials([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED])),
            study.study_name,
        )
        raise
    finally:
        progress.close()


def _run_threads(
    study: Study,
    objective: Objective,
    catches: tuple[type[BaseException], ...],
    run: _Run,
    n_jobs: int,
    finish: object,
) -> None:
    pool = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="hyperdial-trial")
    in_flight: set[Future[FrozenTrial | None]] = set()
    try:
        while True:
            while len(in_flight) < n_jobs and run.may_start():
                in_flight.add(pool.submit(run_trial, study, objective, catches, run))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                frozen = future.result()  # re-raises an exception not in catch
                if frozen is not None:
                    finish(frozen)  # type: ignore[operator]
    except BaseException:
        run.study.stop()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _run_executor(
    study: Study,
    objective: Objective,
    catches: tuple[type[BaseException], ...],
    run: _Run,
    executor: Executor,
    finish: Callable[[FrozenTrial | None], None],
) -> None:
    """Start trials here, run them through ``executor``, keep its workers busy."""
    in_flight: dict[Future[FrozenTrial | None], int] = {}
    try:
        while True:
            while len(in_flight) < executor.max_workers:
                trial = start_trial(study, run)
                if trial is None:
                    break
                in_flight[executor.submit(study, trial.trial_id, objective, catches)] = (
                    trial.trial_id
                )
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                trial_id = in_flight.pop(future)
                with run.lock:
                    run.running.pop(trial_id, None)
                frozen = future.result()  # re-raises an objective exception not in catch
                finish(frozen)
    except BaseException:
        study.stop()
        executor.shutdown(kill=True)
        raise


def _see_budget_through(
    study: Study,
    objective: Objective,
    catches: tuple[type[BaseException], ...],
    run: _Run,
    finish: Callable[[FrozenTrial | None], None],
) -> None:
    """Once the study-wide budget is spent, stay until no trial runs or waits anywhere.

    Another worker may still die: its trial is then reaped and re-enqueued (see the study's
    heartbeats), and someone must run the retry for the study to end with its budget. Without
    heartbeats a dead worker's trial would never be reaped, so nobody waits for it.
    """
    if study._beats is None:
        return
    delay = 0.05
    while not study._stop_flag.is_set() and (
        run.deadline is None or time.monotonic() < run.deadline
    ):
        trial = study._start(None, run.max_trials)
        if trial is not None:
            with run.lock:
                run.running[trial.trial_id] = trial.number
            try:
                finish(evaluate(study, trial, objective, catches, run))
            finally:
                with run.lock:
                    run.running.pop(trial.trial_id, None)
            delay = 0.05
            continue
        unfinished = study.storage.count_trials(
            study.study_id, [TrialState.RUNNING, TrialState.WAITING]
        )
        if unfinished == 0:
            return
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _mark_interrupted(study: Study, run: _Run) -> None:
    with run.lock:
        running = dict(run.running)
    for trial_id in running:
        try:
            update = TrialUpdate(state=TrialState.FAILED, error=_INTERRUPTED)
            study.storage.update_trial(trial_id, update)
        except TrialFinishedError:
            pass
