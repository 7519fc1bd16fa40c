"""One run at a time per results root: an exclusive ``flock`` on ``<out>/.locusflow/lock``.

The kernel releases the lock when its holder dies (even by ``kill -9``), so a lock left by a dead
process is taken over by the next run, which logs whose it was. The lock file holds the holder's pid,
host and start time; a second run exits with status 2 naming them.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from .logs import get_logger
from .errors import LockError
from .layout import STATE_DIR

log = get_logger("lock")


def _describe(info: dict) -> str:
    started = info.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if started else "unknown time"
    return f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {when}"


class OutputLock:
    """Context manager holding the lock of results root ``out``.

    Parameters
    ----------
    out : str or Path
        The results root (created if missing).

    Raises
    ------
    LockError
        When another live run holds it.
    """

    def __init__(self, out):
        self.path = Path(out) / STATE_DIR / "lock"
        self.fd: int | None = None

    def acquire(self) -> "OutputLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = self._read(fd)
            os.close(fd)
            raise LockError(f"{self.path.parent.parent}: in use by another locusflow run ({_describe(info)}); "
                            f"wait for it to finish or use another --out") from None
        old = self._read(fd)
        if old.get("pid") and old.get("pid") != os.getpid():
            log.warning("taking over the lock of a run that ended without releasing it (%s)", _describe(old))
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    @staticmethod
    def _read(fd: int) -> dict:
        try:
            return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        except (ValueError, OSError):
            return {}

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)        # a clean exit leaves no holder to report
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
