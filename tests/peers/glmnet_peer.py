"""R glmnet (Debian r-cran-glmnet) for the elastic-net tests and bench/weights.py: Rscript with glmnet
loadable, installed with the other Debian peers when missing (tests/peers/apt.py); else the test skips."""
from __future__ import annotations

from peers.apt import apt_tool


def glmnet_rscript() -> str:
    """Path of an Rscript that can ``library(glmnet)``; skips the calling test when there is none."""
    rscript = apt_tool("Rscript", "r-base-core")
    apt_tool("R:glmnet", "r-cran-glmnet")
    return rscript
