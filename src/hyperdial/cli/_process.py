"""Run a command without a shell, reading its output line by line as it comes.

The command gets a session of its own, so a timeout or a stop kills its children too; stdout
and stderr are read by two threads into a queue, and only their last lines are kept.
"""

from __future__ import annotations

import enum
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["End", "run", "shorten", "tail"]

_TAIL_LINES = 20
_TAIL_CHARS = 2000
_KILL_GRACE_S = 5.0
_POLL_S = 0.5


def shorten(text: str, n: int) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def tail(text: str) -> str:
    return shorten("\n".join(text.rstrip().splitlines()[-_TAIL_LINES:]), _TAIL_CHARS)


class _Tail:
    """The last lines of a stream, cut as :func:`tail` cuts the whole text, in bounded memory.

    Trailing blank lines are held back until a non-blank line follows, so they are dropped at
    the end, as ``text.rstrip()`` would.
    """

    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=_TAIL_LINES)
        self._blank: deque[str] = deque(maxlen=_TAIL_LINES)

    def add(self, line: str) -> None:
        if not line.strip():
            self._blank.append(line)
            return
        self._lines.extend(self._blank)
        self._blank.clear()
        self._lines.append(line)

    def text(self) -> str:
        return tail("\n".join(self._lines))


class End(enum.Enum):
    """How a command's run ended."""

    EXITED = "exited"
    TIMED_OUT = "timed out"
    STOPPED = "stopped"  # the stdout handler asked to stop it (a prune or a bad report line)


@dataclass(frozen=True)
class _Completed:
    end: End
    returncode: int | None  # None unless the command exited by itself
    stdout: str  # the tails
    stderr: str


_STDOUT = 0  # the index of stdout in _Streams
_Lines = queue.Queue[tuple[int, str | None]]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and, on POSIX, every process of its session."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.kill()


def _pump(stream: IO[bytes], which: int, lines: _Lines) -> None:
    """Put each line of ``stream`` on ``lines``, then ``None`` at its end (a reader thread)."""
    try:
        for raw in iter(stream.readline, b""):
            lines.put((which, raw.decode("utf-8", errors="replace").rstrip("\r\n")))
    except (OSError, ValueError):  # the pipe broke or was closed
        pass
    finally:
        lines.put((which, None))


class _Streams:
    """Reader threads for a process's stdout and stderr, and the tails of both."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self.streams = (proc.stdout, proc.stderr)
        self.lines: _Lines = queue.Queue()
        self.tails = (_Tail(), _Tail())
        self.ended: set[int] = set()
        self.readers = [
            threading.Thread(target=_pump, args=(s, i, self.lines), daemon=True, name=name)
            for i, (s, name) in enumerate(zip(self.streams, ("stdout", "stderr")))
        ]
        for reader in self.readers:
            reader.start()

    def next(self, deadline: float | None) -> tuple[int, str] | None:
        """Return the next line read (and tail it), or ``None`` after ``deadline``/at the end."""
        while len(self.ended) < 2:
            wait = _POLL_S if deadline is None else min(deadline - time.monotonic(), _POLL_S)
            if deadline is not None and wait <= 0:
                return None
            try:
                which, line = self.lines.get(timeout=wait)
            except queue.Empty:
                continue  # short waits keep Ctrl-C responsive everywhere
            if line is None:
                self.ended.add(which)
                continue
            self.tails[which].add(line)
            return which, line
        return None

    def drain(self) -> None:
        """Tail what is left after a kill, for a short grace period.

        A detached grandchild may keep a pipe open; its reader is then left behind (a daemon
        thread, ended when the pipe closes).
        """
        deadline = time.monotonic() + _KILL_GRACE_S
        while self.next(deadline) is not None:
            pass

    def close(self) -> None:
        for which in self.ended:
            self.readers[which].join()
            self.streams[which].close()


def run(
    args: Sequence[str],
    cwd: Path,
    timeout_s: float | None,
    env: Mapping[str, str],
    on_stdout: Callable[[str], bool],
) -> _Completed:
    """Run a command, passing each line of its stdout to ``on_stdout`` as it comes.

    ``on_stdout`` returns ``True`` to stop the command now: it is killed with its children.
    """
    # A new session lets a timeout kill grandchildren too (``subprocess.run`` kills only the
    # child and then waits forever if a grandchild holds the pipes open).
    proc = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=os.name == "posix",
    )
    streams = _Streams(proc)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    end = End.EXITED
    try:
        while (read := streams.next(deadline)) is not None:
            which, line = read
            if which == _STDOUT and on_stdout(line):
                end = End.STOPPED
                break
        else:
            if len(streams.ended) < 2:
                end = End.TIMED_OUT
            else:
                wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    end = End.TIMED_OUT
        if end is not End.EXITED:
            _kill(proc)
            proc.wait()
            streams.drain()
    except BaseException:  # Ctrl-C: the child is in its own session, so end it here
        _kill(proc)
        proc.wait()
        raise
    finally:
        streams.close()
    returncode = proc.returncode if end is End.EXITED else None
    out, err = (tail.text() for tail in streams.tails)
    return _Completed(end, returncode, out, err)
