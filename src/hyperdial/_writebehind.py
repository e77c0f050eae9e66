"""Deferred writes: run a callable once a short delay has passed, from one daemon thread.

A study buffers the parameters an objective suggests and writes them together, either with the
trial's next write (a report, a user attribute, the final tell) or when the storage's
``write_behind_s`` has passed, whichever comes first. On a database every write is a round trip
and a commit, so an objective drawing ten parameters and finishing quickly costs one write
instead of eleven, while a long-running trial still shows its parameters to other workers (and
keeps them if its process dies) within a fraction of a second.

Every scheduled callable runs at most once, on the flusher thread or at interpreter exit.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

__all__ = ["schedule"]

_logger = logging.getLogger("hyperdial")


class _Flusher:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, delay_s: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._seq), fn))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="hyperdial-write-behind", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is fn:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                when, _, fn = self._heap[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            _call(fn)

    def drain(self) -> None:
        """Run every scheduled callable now (at interpreter exit)."""
        with self._cond:
            pending = [fn for _, _, fn in sorted(self._heap)]
            self._heap.clear()
        for fn in pending:
            _call(fn)


def _call(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - a deferred write must never kill the thread
        _logger.warning("hyperdial: a deferred write failed", exc_info=True)


_FLUSHER = _Flusher()


def schedule(delay_s: float, fn: Callable[[], None]) -> None:
    """Run ``fn()`` once, about ``delay_s`` seconds from now, on the write-behind thread."""
    _FLUSHER.schedule(delay_s, fn)


def _reset_in_child() -> None:
    # The parent's pending writes are the parent's to make; the child starts empty.
    global _FLUSHER
    _FLUSHER = _Flusher()


atexit.register(lambda: _FLUSHER.drain())
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
