"""Debian peer tools (plink 1.9/2, bcftools, R with susieR and FUSION's packages), installed together.

The first ``apt_tool`` call that finds its binary missing installs every missing Debian peer in one
``apt-get update`` + one ``apt-get install --no-install-recommends`` (with a progress line), instead of one
update and one install per tool; it waits for another apt run's lock rather than failing. Later calls only
look the binary up. Without root or apt-get, a missing tool skips its test.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

from peers.progress import run, say

# binary -> Debian package; every peer any test asks apt_tool for (a package not listed is installed alone)
DEBIAN_PEERS = {
    "plink1.9": "plink1.9",
    "plink2": "plink2",
    "bcftools": "bcftools",
    "Rscript": "r-base-core",
    # R packages: checked by their DESCRIPTION file, installed with the rest
    "R:susieR": "r-cran-susier",
    "R:optparse": "r-cran-optparse",
    "R:here": "r-cran-here",
    "R:glmnet": "r-cran-glmnet",
}
_tried: set[str] = set()


def present(binary: str) -> bool:
    if binary.startswith("R:"):
        return any(os.path.exists(f"{d}/{binary[2:]}/DESCRIPTION")
                   for d in ("/usr/lib/R/site-library", "/usr/lib/R/library", "/usr/local/lib/R/site-library"))
    return shutil.which(binary) is not None


def install_debian_peers(extra: tuple[str, ...] = (), quiet: bool = False) -> None:
    """Install every missing Debian peer (and ``extra`` packages) in one apt-get run, once per session.
    ``quiet``: no progress lines (the background install)."""
    _wait_background()
    pkgs = sorted({p for b, p in DEBIAN_PEERS.items() if not present(b)} | set(extra))
    pkgs = [p for p in pkgs if p not in _tried]
    if not pkgs or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    _tried.update(pkgs)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    for cmd, what in ((["apt-get", *wait, "update", "-qq"], "apt-get update"),
                      (["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends", *pkgs],
                       f"apt-get install {' '.join(pkgs)}")):
        if quiet:
            subprocess.run(cmd, env=env, capture_output=True)
        else:
            run(cmd, what, env=env)


_background: list = []


def prefetch_debian_peers() -> bool:
    """Install the missing Debian peers in a background thread (download and unpack overlap with the first
    tests); apt_tool waits for it. Returns whether an install was started."""
    missing = [p for b, p in DEBIAN_PEERS.items() if not present(b)]
    if _background or not missing or os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    t = threading.Thread(target=install_debian_peers, kwargs={"quiet": True}, name="apt-peers", daemon=True)
    _background.append((t, time.monotonic()))
    t.start()
    say(f"apt-get install {' '.join(sorted(missing))}: started in the background")
    return True


def _wait_background() -> None:
    if not _background or threading.current_thread() is _background[0][0]:
        return
    t, t0 = _background[0]
    if t.is_alive():
        say(f"Debian peers: waiting for the background apt-get (started {time.monotonic() - t0:.0f} s ago)")
        while t.is_alive():
            t.join(15)
            if t.is_alive():
                say(f"Debian peers: background apt-get running, {time.monotonic() - t0:.0f} s")
        say(f"Debian peers: background apt-get finished after {time.monotonic() - t0:.0f} s")


def apt_tool(binary: str, package: str) -> str:
    """Path of a Debian peer tool, installing the Debian peers when it is missing and possible; else skip."""
    _wait_background()
    if present(binary):
        return shutil.which(binary) or binary      # an R package ("R:name") is returned as its name
    install_debian_peers(() if DEBIAN_PEERS.get(binary) == package else (package,))
    if not present(binary):
        import pytest
        pytest.skip(f"peer tool {binary} ({package}) not available")
    return shutil.which(binary) or binary
