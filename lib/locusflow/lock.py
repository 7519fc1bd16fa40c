"""One run at a time per results root: an exclusive ``flock`` on ``<out>/.locusflow/lock``.

The kernel releases the lock when its holder dies (even by ``kill -9``), so a lock left by a dead
process is taken over by the next run, which logs whose it was. The lock file holds the holder's pid,
host and start time; a second run exits with status 2 naming them.

On an object store there is no ``flock``: the lock is a lease object ``<out>/.locusflow/lock.json``
(holder, start, expiry). A run takes it when it is absent, released or expired, writes its own, and
reads it back after a moment to see that no other run wrote one in between (last writer wins, the
loser exits with status 2). A run killed without releasing it blocks others until its lease expires
(:data:`LEASE_SECONDS`, renewed at every stage; ``LOCUSFLOW_LEASE_SECONDS`` overrides it). This is a
lease, not a kernel lock: two runs started within the same fraction of a second on two machines could
both see the lease free; the settle read makes that unlikely, not impossible. Schedule one run per
results root (a nightly job does).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from . import storage
from .logs import get_logger
from .errors import LockError
from .layout import STATE_DIR

LEASE_SECONDS = 6 * 3600
SETTLE_SECONDS = 0.5

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
        self.remote = storage.is_remote(out)
        self.out = storage.uri(out)
        self.path = storage.as_path(out) / STATE_DIR / ("lock.json" if self.remote else "lock")
        self.fd: int | None = None
        self.lease: dict | None = None

    def acquire(self) -> "OutputLock":
        if self.remote:
            return self._acquire_lease()
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

    def _read_lease(self) -> dict:
        try:
            return json.loads(storage.read_text(self.path) or "{}")
        except (OSError, ValueError):
            return {}

    def _acquire_lease(self) -> "OutputLock":
        now = time.time()
        old = self._read_lease()
        if old.get("pid") and old.get("expires", 0) > now:
            raise LockError(f"{storage.redact(self.out)}: in use by another locusflow run ({_describe(old)}; "
                            f"its lease ends {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(old['expires']))}); "
                            f"wait for it to finish or use another --out")
        if old.get("pid"):
            log.warning("taking over the lease of a run that ended without releasing it (%s)", _describe(old))
        seconds = float(os.environ.get("LOCUSFLOW_LEASE_SECONDS") or LEASE_SECONDS)
        self.lease = {"pid": os.getpid(), "host": socket.gethostname(), "started": now, "seconds": seconds,
                      "token": os.urandom(8).hex(), "expires": now + seconds}
        storage.put_text(self.path, json.dumps(self.lease))
        time.sleep(SETTLE_SECONDS)
        if self._read_lease().get("token") != self.lease["token"]:
            other, self.lease = self._read_lease(), None
            raise LockError(f"{storage.redact(self.out)}: taken by another locusflow run at the same time "
                            f"({_describe(other)}); use another --out")
        return self

    def renew(self) -> None:
        """Extend the lease (object stores; called by the pipeline at every stage). A no-op locally."""
        if self.lease is not None:
            self.lease["expires"] = time.time() + self.lease["seconds"]
            storage.put_text(self.path, json.dumps(self.lease))

    def release(self) -> None:
        if self.lease is not None:
            if self._read_lease().get("token") == self.lease["token"]:
                storage.remove(self.path)
            self.lease = None
        if self.fd is not None:
            os.ftruncate(self.fd, 0)        # a clean exit leaves no holder to report
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
