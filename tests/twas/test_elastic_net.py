"""Elastic net (twas.train.elastic_net) against R glmnet 4.1 (Debian r-cran-glmnet) on the same data, folds and
lambdas: a simulated gene over real 1000G EUR dosages (489 samples, 300 SNPs of the bundled chr20 window, with
498 pairs of identical columns). Both solvers are run to convergence (thresh 1e-20) so that what is compared
is the solution, not where each coordinate descent stopped; at glmnet's default thresh (1e-7) the same
lambda path and lambda.min are checked, and the coefficients only to what that threshold allows."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import EXAMPLES
from peers.glmnet_peer import glmnet_rscript

from locusflow.io.plink import BedReader
from locusflow.twas.train.elastic_net import cv_elastic_net, elastic_net_path, glmnet_lambdas
from locusflow.twas.train.predictdb import nested_cv_performance, train_gene

GLMNET_R = """
library(glmnet)
a <- commandArgs(trailingOnly=TRUE)
rd <- function(f, n) readBin(file.path(a[1], f), "double", n)
dims <- rd("dims.bin", 2)
x <- matrix(rd("x.bin", dims[1] * dims[2]), nrow=dims[1])
y <- rd("y.bin", dims[1]); foldid <- rd("foldid.bin", dims[1]); lam <- rd("lambda.bin", 30)
fit <- glmnet(x, y, alpha=0.5, lambda=lam, standardize=TRUE, thresh=1e-20, maxit=1e8)
writeBin(as.vector(as.matrix(fit$beta)), file.path(a[1], "beta.bin"))
writeBin(as.vector(fit$a0), file.path(a[1], "a0.bin"))
cv <- cv.glmnet(x, y, alpha=0.5, lambda=lam, foldid=foldid, type.measure="mse", thresh=1e-20, maxit=1e8)
writeBin(c(cv$cvm, cv$cvsd, cv$lambda.min), file.path(a[1], "cv.bin"))
f0 <- glmnet(x, y, alpha=0.5)
writeBin(c(f0$lambda, f0$dev.ratio), file.path(a[1], "default_path.bin"))
cv0 <- cv.glmnet(x, y, alpha=0.5, foldid=foldid)
writeBin(c(cv0$cvm, cv0$lambda.min), file.path(a[1], "default_cv.bin"))
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
    rscript = glmnet_rscript()
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
           "cv": np.fromfile(d / "cv.bin"), "default_path": np.fromfile(d / "default_path.bin"),
           "default_cv": np.fromfile(d / "default_cv.bin")}
    return out


def test_path_equals_glmnet(glmnet_run):
    r = glmnet_run
    fit = elastic_net_path(r["x"], r["y"], r["lambda"], 0.5, thresh=1e-20, max_iter=10 ** 8)
    assert (r["beta"] != 0).sum(axis=1)[-1] > 20          # the path reaches a dense model
    np.testing.assert_allclose(fit.coef, r["beta"], atol=1e-7, rtol=0)        # observed 1.8e-8
    np.testing.assert_allclose(fit.intercept, r["a0"], atol=1e-7, rtol=0)


def test_cv_equals_cv_glmnet(glmnet_run):
    r = glmnet_run
    L = len(r["lambda"])
    cv = cv_elastic_net(r["x"], r["y"], alpha=0.5, foldid=r["foldid"], lambdas=r["lambda"], thresh=1e-20,
                        max_iter=10 ** 8)
    np.testing.assert_allclose(cv.cvm, r["cv"][:L], rtol=1e-9)              # observed 1e-10
    np.testing.assert_allclose(cv.cvsd, r["cv"][L:2 * L], rtol=1e-8)
    assert cv.lambda_min == pytest.approx(r["cv"][-1], rel=1e-12)
    np.testing.assert_allclose(cv.coef, r["beta"][cv.index_min], atol=1e-7, rtol=0)


def test_default_path_and_cv_glmnet(glmnet_run):
    """glmnet's own path (lambda = NULL: lambda_max down to 1e-4 of it, its stopping rules) and cv.glmnet's
    default (every fold its own path, predictions interpolated at the all-rows lambdas), thresh 1e-7."""
    r = glmnet_run
    L = len(r["default_path"]) // 2
    fit = elastic_net_path(r["x"], r["y"])
    np.testing.assert_allclose(fit.lambdas, r["default_path"][:L], rtol=1e-12)
    np.testing.assert_allclose(fit.dev_ratio, r["default_path"][L:], atol=2e-3)   # thresh-level: 6e-4
    np.testing.assert_allclose(glmnet_lambdas(r["x"], r["y"], 0.5)[:L], r["default_path"][:L], rtol=1e-10)
    cv = cv_elastic_net(r["x"], r["y"], alpha=0.5, foldid=r["foldid"])
    assert len(cv.lambdas) == L and cv.lambda_min == pytest.approx(r["default_cv"][-1], rel=1e-12)
    np.testing.assert_allclose(cv.cvm, r["default_cv"][:L], rtol=2e-2)            # thresh-level: 6e-3


def test_recovers_genetic_component_and_keep_rule():
    """PredictDB's procedure on a simulated gene (h2 0.3, 3 causal SNPs) over real 1000G EUR dosages (300 SNPs of
    the bundled chr20 window): trained on 389 individuals, its model predicts the true genetic value of 100
    held-out ones (r > 0.7) and is kept; on permuted expression PredictDB's rule drops it. (bench/weights_sim.py
    reports the accuracy per h2 from 0.05 to 0.3 on all 22 windows.)"""
    from weights_inputs import simulate_expression
    x, _, _ = simulated_gene(n_snps=300)
    rng = np.random.default_rng(4)
    y, g, _ = simulate_expression(x, 0.3, 3, rng)
    test = np.zeros(len(y), bool)
    test[rng.choice(len(y), 100, replace=False)] = True
    r = train_gene(x[~test], y[~test], seed=2)
    assert r["keep"] and r["rho_avg"] > 0.4 and r["zscore_pval"] < 1e-10
    assert np.corrcoef(x[test] @ r["coef"], g[test])[0, 1] > 0.7
    null = nested_cv_performance(x[~test], rng.permutation(y[~test]), seed=2)
    assert not null["keep"]


def test_lazy_gram_columns_equal_the_full_gram():
    """Past FULL_GRAM_BYTES the cross-products are computed column by column as SNPs enter (the cache grows
    as needed): the same fits as from the whole X'X formed up front."""
    from locusflow.twas.train.coordinate_descent import GramCache
    x, y, _ = simulated_gene(n_snps=300)
    foldid = np.random.default_rng(3).permutation(np.tile(np.arange(1, 11), 49)[:len(y)])
    lam = glmnet_lambdas(x, y, 0.5)[:40]
    full = cv_elastic_net(None, y, foldid=foldid, lambdas=lam, gram=GramCache(x), thresh=1e-14)
    lazy_gram = GramCache(x, full_gram_bytes=0, capacity=8)
    lazy = cv_elastic_net(None, y, foldid=foldid, lambdas=lam, gram=lazy_gram, thresh=1e-14)
    assert 8 < lazy_gram.nslots[0] < 300 and lazy_gram.gcols.shape[0] >= lazy_gram.nslots[0]
    np.testing.assert_allclose(lazy.cvm, full.cvm, rtol=1e-9)
    np.testing.assert_allclose(lazy.path.coef, full.path.coef, atol=1e-8, rtol=0)
