"""Elastic-net training speed: locusflow vs R glmnet 4.1 ``cv.glmnet`` on the same genes, one core.

    PYTHONPATH=lib python bench/weights.py [--genes 5] [--snps 2000] [--nested]

Genes: real 1000 Genomes EUR genotypes (../shared/realdata/polyfun_1kg_eur, 489 samples), the first
``--snps`` SNPs passing the weights_train QC (MAF > 0.01, HWE, ambiguous and multi-allelic removed) of
window i (chr i, 20-21 Mb) for gene i; expression simulated with 5 causal SNPs, h2 0.2. Both tools get the
same x, y and fold ids; R runs ``cv.glmnet(x, y, alpha = 0.5, foldid = foldid, keep = TRUE)`` (its own
lambda path, default thresh; glmnet picks its naive solver for >= 500 SNPs, covariance below), we run
``cv_elastic_net`` (the same procedure). Times are process CPU seconds inside each tool (R: proc.time()
around the call; Python: time.process_time()), measured in one run, with OMP/BLAS threads = 1.
``--nested`` also times PredictDB's whole per-gene procedure (5 outer folds x cv.glmnet + the final
cv.glmnet: ``train_gene`` vs the same R calls).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from locusflow.io.plink import BedReader, read_bim  # noqa: E402
from locusflow.twas.train.elastic_net import cv_elastic_net, fold_ids  # noqa: E402
from locusflow.twas.train.predictdb import train_gene  # noqa: E402
from locusflow.twas.train.snp_qc import snp_qc  # noqa: E402

REALDATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
PANEL = REALDATA / "polyfun_1kg_eur" / "polypred_example"
R_SCRIPT = r"""
suppressMessages(library(glmnet))
a <- commandArgs(trailingOnly = TRUE)
rd <- function(f, n) readBin(file.path(a[1], f), "double", n)
dims <- rd("dims.bin", 2)
x <- matrix(rd("x.bin", dims[1] * dims[2]), nrow = dims[1])
y <- rd("y.bin", dims[1]); foldid <- rd("foldid.bin", dims[1])
t0 <- proc.time(); cv <- cv.glmnet(x, y, alpha = 0.5, foldid = foldid, keep = TRUE); t <- proc.time() - t0
tn <- NA
if (a[2] == "nested") {
  outer <- rd("outer.bin", dims[1]); inner <- rd("inner.bin", dims[1] * 5)
  t0 <- proc.time()
  for (k in 1:5) {
    tr <- which(outer != k)
    f <- cv.glmnet(x[tr, ], y[tr], alpha = 0.5, foldid = inner[(k - 1) * dims[1] + seq_along(tr)], type.measure = "mse")
    p <- predict(f, x[outer == k, ], s = "lambda.min")
  }
  cv2 <- cv.glmnet(x, y, alpha = 0.5, foldid = foldid, keep = TRUE)
  tn <- (proc.time() - t0)[["user.self"]] + (proc.time() - t0)[["sys.self"]]
}
writeBin(c(t[["user.self"]] + t[["sys.self"]], tn, length(cv$lambda), cv$index[1], cv$lambda.min, cv$cvm),
         file.path(a[1], "r.bin"))
"""


def gene(i: int, n_snps: int, rng) -> tuple[np.ndarray, np.ndarray]:
    prefix = PANEL / f"1000G.subset.{i}"
    bim = read_bim(prefix).rename(columns={"a1": "alt", "a2": "ref"})
    d = BedReader(prefix).read().astype(float)
    d[d < 0] = np.nan
    keep = np.flatnonzero(snp_qc(d, bim) < 0)[:n_snps]
    x = d[keep].T
    x = np.where(np.isnan(x), np.nanmean(x, axis=0), x)
    beta = np.zeros(x.shape[1])
    beta[rng.choice(x.shape[1], 5, replace=False)] = rng.normal(size=5)
    g = x @ beta
    y = g + rng.normal(0, np.sqrt(g.var() * 0.8 / 0.2), len(g))
    return x, (y - y.mean()) / y.std(ddof=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=5)
    ap.add_argument("--snps", type=int, default=2000)
    ap.add_argument("--nested", action="store_true")
    args = ap.parse_args()
    if not PANEL.exists():
        sys.exit(f"skip: real data not present at {PANEL}")
    rng = np.random.default_rng(11)
    cv_elastic_net(np.random.default_rng(0).normal(size=(60, 30)), np.arange(60.0))     # compile once
    rows = []
    for i in range(1, args.genes + 1):                      # loop over genes
        x, y = gene(i, args.snps, rng)
        n, p = x.shape
        foldid = fold_ids(n, 10, rng)
        outer = fold_ids(n, 5, rng)
        inner = np.zeros(5 * n)
        for k in range(5):                                  # the inner folds R uses (ours draw their own)
            inner[k * n: k * n + (outer != k + 1).sum()] = fold_ids(int((outer != k + 1).sum()), 10, rng)
        with tempfile.TemporaryDirectory() as t:
            for name, v in (("dims", np.array([n, p], float)), ("x", x.ravel(order="F")), ("y", y),
                            ("foldid", foldid.astype(float)), ("outer", outer.astype(float)), ("inner", inner)):
                np.asarray(v, "<f8").tofile(Path(t) / f"{name}.bin")
            r = subprocess.run(["Rscript", "-e", R_SCRIPT, t, "nested" if args.nested else "cv"],
                               capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            if r.returncode:
                sys.exit(r.stderr[-2000:])
            rv = np.fromfile(Path(t) / "r.bin")
        t0 = time.process_time()
        cv = cv_elastic_net(x, y, foldid=foldid)
        ours = time.process_time() - t0
        ours_nested = np.nan
        if args.nested:
            t0 = time.process_time()
            train_gene(x, y, seed=i)
            ours_nested = time.process_time() - t0
        L = int(rv[2])
        rows.append((i, p, rv[0], ours, rv[1], ours_nested, L == len(cv.lambdas), rv[4] / cv.lambda_min - 1,
                     np.abs(rv[5:5 + L] / cv.cvm[:L] - 1).max() if L == len(cv.lambdas) else np.nan))
        print(f"gene {i}: {p} SNPs  cv.glmnet {rv[0]:.2f} s  ours {ours:.2f} s  ratio {rv[0] / ours:.2f}"
              + (f"  nested R {rv[1]:.2f} s ours {ours_nested:.2f} s" if args.nested else "")
              + f"  lambda path equal {L == len(cv.lambdas)}  lambda.min rel diff {rows[-1][7]:.1e}  "
                f"max cvm rel diff {rows[-1][8]:.1e}", flush=True)
    a = np.array([r[2:6] for r in rows], float)
    r_cv, o_cv = a[:, 0].sum(), a[:, 1].sum()
    print(f"\n{len(rows)} genes, {int(np.mean([r[1] for r in rows]))} SNPs on average, 489 samples, one core "
          f"(load {os.getloadavg()[0]:.1f})")
    print(f"cv.glmnet: R {60 * len(rows) / r_cv:.1f} genes/min, locusflow {60 * len(rows) / o_cv:.1f} genes/min, "
          f"CPU ratio R / locusflow {r_cv / o_cv:.2f}")
    if args.nested:
        r_n, o_n = a[:, 2].sum(), a[:, 3].sum()
        print(f"PredictDB nested CV + model: R {60 * len(rows) / r_n:.1f} genes/min, locusflow "
              f"{60 * len(rows) / o_n:.1f} genes/min, CPU ratio {r_n / o_n:.2f}")


if __name__ == "__main__":
    main()
