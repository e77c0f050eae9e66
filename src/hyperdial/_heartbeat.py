"""Heartbeats: a running trial says it is alive, so a stopped worker's trials can be reaped.

Settings are kept with the study (``create_study(heartbeat_s=..., grace_s=...,
retry_failed=...)``) so every worker follows the same ones. Each process beats for the trials
it started, from one daemon thread; any worker that asks for a trial first fails the trials
silent for longer than the grace period and re-enqueues them (see
:meth:`hyperdial.storage.Storage.fail_stale_trials`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from hyperdial._types import JSON
from hyperdial.exceptions import InvalidValueError, TrialFinishedError, TrialNotFoundError
from hyperdial.storage.base import Storage

__all__ = ["Beats", "HeartbeatSettings"]

_logger = logging.getLogger("hyperdial")


@dataclass(frozen=True)
class HeartbeatSettings:
    """How often running trials beat, how long silence is tolerated, how often to retry."""

    heartbeat_s: float
    grace_s: float
    retry_failed: int = 0

    @classmethod
    def parse(
        cls, heartbeat_s: float | None, grace_s: float | None, retry_failed: int
    ) -> HeartbeatSettings | None:
        """Check ``create_study``'s arguments; ``None`` when heartbeats are off.

        Raises:
            InvalidValueError: a value is out of range (the message names it).
        """
        if isinstance(retry_failed, bool) or not isinstance(retry_failed, int) or retry_failed < 0:
            raise InvalidValueError(
                f"create_study: retry_failed must be an int >= 0; got {retry_failed!r}."
            )
        if heartbeat_s is None:
            if grace_s is not None or retry_failed:
                raise InvalidValueError(
                    "create_study: grace_s and retry_failed need heartbeat_s (how often a "
                    "running trial says it is alive)."
                )
            return None
        for name, value in (("heartbeat_s", heartbeat_s), ("grace_s", grace_s)):
            if value is not None and not _positive(value):
                raise InvalidValueError(
                    f"create_study: {name} must be a finite number > 0; got {value!r}."
                )
        grace = float(grace_s) if grace_s is not None else 6.0 * float(heartbeat_s)
        if grace <= heartbeat_s:
            raise InvalidValueError(
                f"create_study: grace_s ({grace:g}) must exceed heartbeat_s ({heartbeat_s:g}), "
                "or every trial would look dead between two beats."
            )
        return cls(float(heartbeat_s), grace, retry_failed)

    def to_json(self) -> dict[str, JSON]:
        """Return the settings as stored with the study."""
        return {
            "heartbeat_s": self.heartbeat_s,
            "grace_s": self.grace_s,
            "retry_failed": self.retry_failed,
        }

    @classmethod
    def from_json(cls, data: JSON) -> HeartbeatSettings | None:
        """Return the settings stored with a study (``None`` if there are none)."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            float(data["heartbeat_s"]),  # type: ignore[arg-type]
            float(data["grace_s"]),  # type: ignore[arg-type]
            int(data.get("retry_failed", 0)),  # type: ignore[arg-type]
        )


def _positive(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


class Beats:
    """Beat for this process's running trials and reap other workers' silent ones."""

    def __init__(self, storage: Storage, study_id: int, settings: HeartbeatSettings) -> None:
        self.storage = storage
        self.study_id = study_id
        self.settings = settings
        self._live: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._last_reap = -math.inf

    def __getstate__(self) -> dict[str, object]:
        return {"storage": self.storage, "study_id": self.study_id, "settings": self.settings}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["storage"], state["study_id"], state["settings"])  # type: ignore[misc, arg-type]

    def start(self, trial_id: int) -> None:
        """Beat for ``trial_id`` until it is finished."""
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._live, self._thread, self._pid = set(), None, os.getpid()
                self._wake = threading.Event()
            self._live.add(trial_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="hyperdial-heartbeat", daemon=True
                )
                self._thread.start()

    def stop(self, trial_id: int) -> None:
        """Stop beating for ``trial_id``."""
        with self._lock:
            self._live.discard(trial_id)

    def reap(self) -> None:
        """Fail and re-enqueue other workers' silent trials (at most once per beat period)."""
        now = time.monotonic()
        if now - self._last_reap < self.settings.heartbeat_s:
            return
        self._last_reap = now
        reaped = self.storage.fail_stale_trials(
            self.study_id, self.settings.grace_s, self.settings.retry_failed
        )
        for trial in reaped:
            _logger.warning("Trial %d failed: %s", trial.number, trial.error)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.settings.heartbeat_s)
            with self._lock:
                live = list(self._live)
            if not live:
                continue
            for trial_id in live:
                try:
                    self.storage.record_heartbeat(trial_id)
                except (TrialFinishedError, TrialNotFoundError):
                    self.stop(trial_id)
                except Exception:  # noqa: BLE001 - a missed beat is retried next period
                    _logger.debug("hyperdial: a heartbeat failed", exc_info=True)
