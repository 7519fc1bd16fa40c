"""Elastic net (twas.train.elastic_net) against R glmnet (Debian r-cran-glmnet) on the same data, folds and
lambdas: a simulated gene over real 1000G EUR dosages (489 samples, 300 SNPs of the bundled chr20 window)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import EXAMPLES, apt_tool

from locusflow.io.plink import BedReader
from locusflow.twas.train.elastic_net import cv_elastic_net, elastic_net_path, glmnet_lambdas, nested_cv_performance

GLMNET_R = """
library(glmnet)
a <- commandArgs(trailingOnly=TRUE)
rd <- function(f, n) readBin(file.path(a[1], f), "double", n)
dims <- rd("dims.bin", 2)
x <- matrix(rd("x.bin", dims[1] * dims[2]), nrow=dims[1])
y <- rd("y.bin", dims[1]); foldid <- rd("foldid.bin", dims[1]); lam <- rd("lambda.bin", 30)
fit <- glmnet(x, y, alpha=0.5, lambda=lam, standardize=TRUE, thresh=1e-15, maxit=1e7)
writeBin(as.vector(as.matrix(fit$beta)), file.path(a[1], "beta.bin"))
writeBin(as.vector(fit$a0), file.path(a[1], "a0.bin"))
cv <- cv.glmnet(x, y, alpha=0.5, lambda=lam, foldid=foldid, type.measure="mse", thresh=1e-15, maxit=1e7)
writeBin(c(cv$cvm, cv$cvsd, cv$lambda.min), file.path(a[1], "cv.bin"))
writeBin(glmnet(x, y, alpha=0.5)$lambda[1:5], file.path(a[1], "default_lambda.bin"))
"""


def simulated_gene(seed=1, n_snps=300, h2=0.2, n_causal=5):
    """y = X beta + e over real dosages, sparse beta, heritability h2; columns include monomorphic SNPs."""
    rng = np.random.default_rng(seed)
    x = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read(0, n_snps).astype(float).T
    sd = x.std(axis=0)
    causal = rng.choice(np.flatnonzero(sd > 0.3), n_causal, replace=False)
    beta = np.zeros(n_snps)
    beta[causal] = rng.normal(0, 1, n_causal)
    g = x @ beta
    e = rng.normal(0, np.sqrt(g.var() * (1 - h2) / h2), len(g))
    return x, g + e + 3.0, g


@pytest.fixture(scope="module")
def glmnet_run(tmp_path_factory):
    rscript = apt_tool("Rscript", "r-base-core")
    if subprocess.run([rscript, "-e", "library(glmnet)"], capture_output=True).returncode:
        pytest.skip("R package glmnet missing (Debian: apt-get install r-cran-glmnet)")
    d = tmp_path_factory.mktemp("glmnet")
    x, y, _ = simulated_gene()
    foldid = np.random.default_rng(3).permutation(np.tile(np.arange(1, 11), 49)[:len(y)]).astype(float)
    lam = glmnet_lambdas(x, y, 0.5)[:30]
    for name, v in (("dims", np.array(x.shape, float)), ("x", x.ravel(order="F")), ("y", y), ("foldid", foldid),
                    ("lambda", lam)):
        v.astype("<f8").tofile(d / f"{name}.bin")
    r = subprocess.run([rscript, "-e", GLMNET_R, str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    p, L = x.shape[1], len(lam)
    out = {"x": x, "y": y, "foldid": foldid.astype(int), "lambda": lam,
           "beta": np.fromfile(d / "beta.bin").reshape(L, p), "a0": np.fromfile(d / "a0.bin"),
           "cv": np.fromfile(d / "cv.bin"), "default_lambda": np.fromfile(d / "default_lambda.bin")}
    return out


def test_path_equals_glmnet(glmnet_run):
    r = glmnet_run
    b0, b = elastic_net_path(r["x"], r["y"], r["lambda"], 0.5, tol=1e-14)
    assert (r["beta"] != 0).sum(axis=1)[-1] > 20          # the path reaches a dense model
    np.testing.assert_allclose(b, r["beta"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(b0, r["a0"], atol=1e-5, rtol=0)
    # what difference remains (~1e-6) is glmnet's stopping rule: its objective is never below ours
    x, y = r["x"], r["y"]
    n, sy, sx = len(y), y.std(), x.std(axis=0)

    def objective(a0, beta, lam):          # glmnet's standardised problem (module docstring)
        res, c = y - a0 - x @ beta, beta * sx / sy
        return res @ res / (2 * n * sy ** 2) + lam / sy * (0.25 * c @ c + 0.5 * np.abs(c).sum())
    ours = np.array([objective(b0[k], b[k], lam) for k, lam in enumerate(r["lambda"])])
    theirs = np.array([objective(r["a0"][k], r["beta"][k], lam) for k, lam in enumerate(r["lambda"])])
    assert (ours <= theirs + 1e-14).all()
    np.testing.assert_allclose(glmnet_lambdas(r["x"], r["y"], 0.5)[:5], r["default_lambda"], rtol=1e-10)


def test_cv_equals_cv_glmnet(glmnet_run):
    r = glmnet_run
    L = len(r["lambda"])
    cv = cv_elastic_net(r["x"], r["y"], alpha=0.5, foldid=r["foldid"], lambdas=r["lambda"], tol=1e-14)
    np.testing.assert_allclose(cv["cvm"], r["cv"][:L], rtol=1e-7)
    np.testing.assert_allclose(cv["cvsd"], r["cv"][L:2 * L], rtol=1e-6)
    assert cv["lambda_min"] == pytest.approx(r["cv"][-1], rel=1e-12)
    np.testing.assert_allclose(cv["coef"], r["beta"][cv["index_min"]], atol=1e-5, rtol=0)


def test_recovers_genetic_component_and_keep_rule():
    """On a heritable gene the nested CV reports a predictive model (PredictDB keeps it) whose lambda.min
    prediction correlates with the true genetic value; on permuted expression the rule drops it."""
    x, y, g = simulated_gene(seed=5, n_snps=120, h2=0.3)
    cv = cv_elastic_net(x, y, seed=1, tol=1e-4)
    assert np.corrcoef(x @ cv["coef"] + cv["intercept"], g)[0, 1] > 0.8
    perf = nested_cv_performance(x, y, seed=2, tol=1e-4)
    assert perf["keep"] and perf["rho_avg"] > 0.4 and perf["zscore_pval"] < 1e-10
    null = nested_cv_performance(x, np.random.default_rng(0).permutation(y), seed=2, tol=1e-4)
    assert not null["keep"]
