"""R glmnet (Debian r-cran-glmnet) for the elastic-net tests and bench/weights.py: Rscript with glmnet
loadable, installed with the other Debian peers when missing (tests/peers/apt.py); else the test skips."""
from __future__ import annotations

import subprocess

from peers.apt import present, apt_tool, install_debian_peers


def glmnet_rscript() -> str:
    """Path of an Rscript that can ``library(glmnet)``; skips the calling test when there is none."""
    rscript = apt_tool("Rscript", "r-base-core")
    if not present("R:glmnet"):
        install_debian_peers(("r-cran-glmnet",))
    if subprocess.run([rscript, "-e", "library(glmnet)"], capture_output=True).returncode:
        import pytest
        pytest.skip("R package glmnet missing (Debian: apt-get install r-cran-glmnet)")
    return rscript
