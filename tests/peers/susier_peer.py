"""Run susieR (Debian r-cran-susier) through tests/susier_rss.R on arrays; shared by tests and bench.

Inputs go to a temporary directory as little-endian float64 files (R reads them with readBin), so
susieR sees bit-identical z and R. ``peer`` is the Rscript binary, or the python of a pysusie peer
environment (PyPI pysusie, a port of susieR 0.12.35), the fallback when R is absent.
"""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).with_name("susier_rss.R")
PY_SCRIPT = Path(__file__).with_name("pysusie_rss.py")


def run_susier(peer: str, z, R, n=None, *, L=10, tol=1e-3, max_iter=100, estimate_residual_variance=False,
               estimate_prior_method="optim", null_weight=0.0, prior_weights=None, n_purity=10**6,
               mode="susie", bhat=None, shat=None, var_y=None) -> dict:
    """susie_rss(z, R, n, ...) (mode "susie") or kriging_rss + estimate_s_rss (mode "kriging")."""
    with tempfile.TemporaryDirectory(prefix="susier-") as d:
        p = len(z)
        np.asarray(z, "<f8").tofile(f"{d}/z.bin")
        np.asarray(R, "<f8").T.copy().tofile(f"{d}/R.bin")     # column-major for R
        if bhat is not None:    # the bhat, shat, var_y form (z is then ignored)
            np.asarray(bhat, "<f8").tofile(f"{d}/bhat.bin")
            np.asarray(shat, "<f8").tofile(f"{d}/shat.bin")
        if prior_weights is not None:
            np.asarray(prior_weights, "<f8").tofile(f"{d}/prior_weights.bin")
        opts = {"mode": mode, "p": p, "n": "NA" if n is None else repr(float(n)), "L": L, "tol": tol,
                "max_iter": max_iter, "estimate_residual_variance": str(bool(estimate_residual_variance)).upper(),
                "estimate_prior_method": estimate_prior_method, "null_weight": null_weight,
                "n_purity": n_purity, "var_y": "NA" if var_y is None else repr(float(var_y))}
        Path(f"{d}/opts.txt").write_text("".join(f"{k}\t{v}\n" for k, v in opts.items()))
        t0 = time.time()
        script = PY_SCRIPT if Path(peer).name.startswith("python") else SCRIPT
        r = subprocess.run([peer, str(script), d], capture_output=True, text=True)
        wall = time.time() - t0
        if r.returncode:
            raise RuntimeError(f"susieR ({peer}) failed: {r.stderr[-2000:]}")
        if mode == "kriging":
            k = np.fromfile(f"{d}/kriging.bin", "<f8")
            return {"s": k[0], "condmean": k[1:p + 1], "condvar": k[p + 1:2 * p + 1],
                    "z_std_diff": k[2 * p + 1:3 * p + 1], "logLR": k[3 * p + 1:]}
        info = np.fromfile(f"{d}/info.bin", "<f8")
        out = {"pip": np.fromfile(f"{d}/pip.bin", "<f8"),
               "alpha": np.fromfile(f"{d}/alpha.bin", "<f8").reshape(int(info[0]), -1),
               "V": np.fromfile(f"{d}/V.bin", "<f8"), "elbo": np.fromfile(f"{d}/elbo.bin", "<f8"),
               "niter": int(info[1]), "converged": bool(info[2]), "sigma2": info[3], "seconds": info[4],
               "wall": wall, "cs": [], "peer": "pysusie" if script == PY_SCRIPT else "susieR"}
        for line in Path(f"{d}/cs.txt").read_text().splitlines():
            name, cov, a, b, c, idx = line.split("\t")
            out["cs"].append({"name": name, "coverage": float(cov), "purity": (float(a), float(b), float(c)),
                              "variables": [int(i) - 1 for i in idx.split(",")]})
        return out


def susier_available(rscript: str | None) -> bool:
    if not rscript:
        return False
    r = subprocess.run([rscript, "-e", "library(susieR)"], capture_output=True, text=True)
    return r.returncode == 0
