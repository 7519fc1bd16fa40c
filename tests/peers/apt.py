"""Debian peer tools (plink 1.9/2, bcftools, R with susieR and FUSION's packages), installed together.

The first ``apt_tool`` call that finds its binary missing installs every missing Debian peer in one
``apt-get update`` + one ``apt-get install --no-install-recommends`` (with a progress line), instead of one
update and one install per tool; it waits for another apt run's lock rather than failing. Later calls only
look the binary up. Without root or apt-get, a missing tool skips its test.
"""
from __future__ import annotations

import os
import shutil

from peers.progress import run

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
}
_tried: set[str] = set()


def _present(binary: str) -> bool:
    if binary.startswith("R:"):
        return any(os.path.exists(f"{d}/{binary[2:]}/DESCRIPTION")
                   for d in ("/usr/lib/R/site-library", "/usr/lib/R/library", "/usr/local/lib/R/site-library"))
    return shutil.which(binary) is not None


def install_debian_peers(extra: tuple[str, ...] = ()) -> None:
    """Install every missing Debian peer (and ``extra`` packages) in one apt-get run, once per session."""
    pkgs = sorted({p for b, p in DEBIAN_PEERS.items() if not _present(b)} | set(extra))
    pkgs = [p for p in pkgs if p not in _tried]
    if not pkgs or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    _tried.update(pkgs)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    run(["apt-get", *wait, "update", "-qq"], "apt-get update", env=env)
    run(["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends", *pkgs],
        f"apt-get install {' '.join(pkgs)}", env=env)


def apt_tool(binary: str, package: str) -> str:
    """Path of a Debian peer tool, installing the Debian peers when it is missing and possible; else skip."""
    path = shutil.which(binary)
    if path:
        return path
    install_debian_peers(() if DEBIAN_PEERS.get(binary) == package else (package,))
    path = shutil.which(binary)
    if not path:
        import pytest
        pytest.skip(f"peer tool {binary} ({package}) not available")
    return path
