"""Peer tools' own virtual environments: built once per machine, reused, never resolved at test time.

A peer whose requirement list has a lock (``tests/peers/<name>.lock``, first line
``# requirements: <the list, space-separated>``) is installed from that lock alone: every transitive
package pinned ``==`` with its sha256, ``pip install --no-deps --require-hashes``, so pip does no resolving
and no backtracking (pyfocus 0.802's open requirements cost pip 5-12 minutes of backtracking on Python
3.11; from the lock the whole environment installs in about 2.5 minutes, mostly download). A list without
a lock installs as before (pip resolves). ``bench/lock_peer.py`` regenerates a lock.

Environments live under $LOCUSFLOW_PEERS (default ~/.cache/locusflow/peers); a stamp file records what
was installed (requirements, lock checksum, interpreter) and a file lock serialises concurrent pytest
runs building the same environment (two runs sharing a home once left one with half a venv).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from peers.progress import run, say

HERE = Path(__file__).resolve().parent
PEERS = Path(os.environ.get("LOCUSFLOW_PEERS", Path.home() / ".cache" / "locusflow" / "peers"))


class PeerUnavailable(RuntimeError):
    """The peer's environment could not be built (no interpreter, no index, install failed)."""


def lock_for(requirements) -> Path | None:
    """The lock file whose ``# requirements:`` header equals ``requirements`` (a list), or ``None``.
    A path (str or Path) ending in ``.lock`` is taken as the lock itself."""
    if isinstance(requirements, (str, Path)):
        p = Path(requirements)
        return p if p.suffix == ".lock" else None
    want = " ".join(requirements)
    for f in sorted(HERE.glob("*.lock")):
        head = f.read_text().splitlines()[0]
        if head.startswith("# requirements:") and head.split(":", 1)[1].strip() == want:
            return f
    return None


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_venv(name: str, requirements, python: str = "python3.11", quiet: bool = False) -> Path:
    """Python of peer ``name``'s environment with ``requirements`` (a list of specifiers, or a lock path).
    Raises PeerUnavailable when it cannot be built. ``quiet``: no progress lines (a background build)."""
    bg = _background.get(name)
    if bg is not None and not bg[0].is_alive() and name in _built_in:
        say(f"peer {name}: built in the background in {_built_in.pop(name):.0f} s")
    if bg is not None and bg[0].is_alive() and threading.current_thread() is not bg[0]:
        say(f"peer {name}: waiting for its background build (started {time.monotonic() - bg[1]:.0f} s ago)")
        while bg[0].is_alive():
            bg[0].join(15)
            if bg[0].is_alive():
                say(f"peer {name}: background build running, {time.monotonic() - bg[1]:.0f} s")
        say(f"peer {name}: background build finished after {time.monotonic() - bg[1]:.0f} s")
    lock = lock_for(requirements)
    exe = shutil.which(python) or shutil.which("python3")
    if exe is None:
        raise PeerUnavailable(f"no {python} for peer {name}")
    reqs = [str(lock)] if isinstance(requirements, (str, Path)) else list(requirements)
    stamp_text = "\n".join(reqs + [f"lock sha256 {hashlib.sha256(lock.read_bytes()).hexdigest()}" if lock else "",
                                   f"python {os.path.realpath(exe)}"])
    venv = PEERS / name
    py, stamp = venv / "bin" / "python", venv / ".requirements"
    with _locked(PEERS / f".{name}.lock"):
        if py.exists() and stamp.exists() and stamp.read_text() == stamp_text:
            return py
        shutil.rmtree(venv, ignore_errors=True)
        r = subprocess.run([exe, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode == 0:
            pip = [str(py), "-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check"]
            if lock:
                cmd = pip + ["--no-deps", "--require-hashes", "-r", str(lock)]
                what = f"peer {name}: installing {lock.name} ({_n_pins(lock)} pinned wheels)"
            else:
                cmd, what = pip + reqs, f"peer {name}: pip install {' '.join(reqs)} (unlocked: pip resolves)"
            r = subprocess.run(cmd, capture_output=True, text=True) if quiet else run(cmd, what)
        if r.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise PeerUnavailable(f"peer {name} could not be installed: {(r.stderr or r.stdout)[-800:]}")
        stamp.write_text(stamp_text)     # last: an interrupted build is rebuilt next time
    return py


def _n_pins(lock: Path) -> int:
    return sum("==" in line and not line.lstrip().startswith("#") for line in lock.read_text().splitlines())


def peer_venv(name: str, requirements, python: str = "python3.11") -> Path:
    """``build_venv`` for tests: skips the test when the peer cannot be installed."""
    import pytest
    try:
        return build_venv(name, requirements, python)
    except PeerUnavailable as e:
        pytest.skip(str(e))


_background: dict[str, tuple[threading.Thread, float]] = {}
_built_in: dict[str, float] = {}


def prefetch(name: str) -> bool:
    """Start building peer ``name``'s environment from ``tests/peers/<name>.lock`` in a background thread
    (the install is mostly download: it overlaps with the tests that run first). The test that needs it
    then waits in build_venv (with a progress line); a failed background build is retried there and
    reports its error. Returns whether a build was started (False: lock absent or already up to date)."""
    lock = HERE / f"{name}.lock"
    if not lock.exists() or name in _background:
        return False
    reqs = lock.read_text().splitlines()[0].split(":", 1)[1].split()
    venv = PEERS / name
    exe = shutil.which("python3.11") or shutil.which("python3")
    if (venv / ".requirements").exists() and exe and (venv / ".requirements").read_text().startswith("\n".join(reqs)):
        return False       # built before (build_venv still checks the stamp in full)

    def work():
        try:
            build_venv(name, reqs, quiet=True)
            _built_in[name] = time.monotonic() - _background[name][1]
        except Exception:   # noqa: BLE001 - the test's own build_venv call retries and reports
            pass
    t = threading.Thread(target=work, name=f"peer-{name}", daemon=True)
    _background[name] = (t, time.monotonic())
    t.start()
    say(f"peer {name}: building its environment in the background from {lock.name}")
    return True
