"""Regenerate tests/fixtures/finemap/finemap_inf_n3.npz: outputs of the reference FINEMAP-inf implementation.

The peer is ``finemapinf`` (Python + C++ extension) of GitHub FinucaneLab/fine-mapping-inf (Cui et al.,
Nat Genet 2024); its code is never copied here: give the path of a checkout and this script builds the
extension in a temporary directory (``setup.py build_ext --inplace``: g++, numpy and Python headers;
Eigen ships in the checkout) and imports it from there. Its search draws from C's ``rand()``, so the
numbers are those of a glibc (Linux) build.

Inputs: N3finemapping (../shared/realdata/susier_data, real GTEx genotypes 574 x 1,001, both simulated
responses), z from univariate OLS, in-sample LD = cor(X), n = 574, meansq = 1. Cases:

* ``r1``, ``r2``: the reference's defaults (L = 5, S = [0.05^2], sched_sss = [100, 100, 10000],
  n_conv_sss = 100, prob_tol_sss = 1e-3, seed 21);
* ``grid``: response 2, SNPs 450-849, L = 4, a grid S = [0.02^2, 0.05^2, 0.2^2], non-uniform pi0
  (uniform(0.5, 1.5) weights, numpy seed 3, normalised to sum 1), sched_sss = [100, 10000], n_conv_sss = 50,
  prob_tol_sss = 1e-4, seed 7.

Stored per case: PIP, beta, se, alpha (infinitesimal), sigma^2, tau^2, the top 50 models and their
probabilities, and from its log the number of explored models and of iterations.

    python bench/regen_finemap_inf_fixtures.py /path/to/fine-mapping-inf [--realdata ../shared/realdata]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from regen_susie_inf_fixtures import save, univariate_z  # noqa: E402  (bench/ is the script's folder)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "finemap" / "finemap_inf_n3.npz"


def cases(realdata: Path):
    """(name, z, LD, n, keyword arguments of finemapinf.finemap) of every fixture case."""
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    x = d["X"]
    ld = np.corrcoef(x.T)
    out = []
    for resp in (1, 2):
        out.append((f"r{resp}", univariate_z(x, d["Y"][:, resp - 1]), ld, len(x), {"L": 5}))
    sel = slice(450, 850)
    w = np.random.default_rng(3).uniform(0.5, 1.5, 400)
    out.append(("grid", univariate_z(x[:, sel], d["Y"][:, 1]), np.corrcoef(x[:, sel].T), len(x),
                {"L": 4, "S": [0.02 ** 2, 0.05 ** 2, 0.2 ** 2], "pi0": w / w.sum(), "sched_sss": [100, 10000],
                 "n_conv_sss": 50, "prob_tol_sss": 1e-4, "seed": 7}))
    return out


def build(checkout: Path, tmp: Path) -> Path:
    src = tmp / "finemapinf"
    shutil.copytree(checkout / "finemapinf", src)
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=src, check=True,
                   stdout=subprocess.DEVNULL)
    return src


def run_logged(finemap, log: Path, *args, **kwargs):
    """Call the peer with its C++ stdout (verbose=1) sent to ``log``."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(log, "w") as fh:
        os.dup2(fh.fileno(), 1)
        try:
            return finemap(*args, verbose=1, **kwargs)
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout", help="a checkout of github.com/FinucaneLab/fine-mapping-inf")
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    args = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = build(Path(args.checkout), Path(tmp))
        sys.path[:0] = [str(src)]
        from finemapinf import finemap  # noqa: E402  (the peer, built from the given checkout)
        for name, z, ld, n, kw in cases(Path(args.realdata)):
            kw = dict(kw)
            L = kw.pop("L")
            fit = run_logged(finemap, Path(tmp) / "log", z, 1.0, n, L, LD=ld, nmodels=50, **kw)
            log = (Path(tmp) / "log").read_text()
            for key in ("PIP", "beta", "se", "alpha"):
                out[f"{name}_{key}"] = fit[key]
            out[f"{name}_sigmasq"], out[f"{name}_tausq"] = np.array(fit["sigmasq"]), np.array(fit["tausq"])
            out[f"{name}_models"] = np.array(json.dumps([[float(p), [int(i) for i in m]] for p, m in fit["models"]]))
            out[f"{name}_n_explored"] = np.array(int(re.search(r"(\d+) total explored models", log).group(1)))
            out[f"{name}_n_iter"] = np.array(int(re.search(r"(\d+) total iterations", log).group(1)))
            print(name, "explored", int(out[f"{name}_n_explored"]), "iterations", int(out[f"{name}_n_iter"]))
    save(out, args.checkout, "finemapinf.finemap (C++ extension built with g++ on Linux/glibc)", OUT)

if __name__ == "__main__":
    main()
