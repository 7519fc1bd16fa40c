"""Genomic selection and chip design benchmarks (docs/benchmarks.md, "Breeding").

    python bench/breed.py [--quick]

1. BGLR wheat (599 lines x 1,279 markers, 4 environments): 10-fold CV accuracy and bias of GBLUP and
   rrBLUP (the same model: GEBV equal to 1e-6) and the time per fit.
2. msprime-simulated pig-like lines (line A 2,000 animals, line B 600, 18 chromosomes, 18 causal SNPs,
   h2 = 0.5): 5-fold CV within line A and across lines (train A, predict B) for GBLUP and weighted
   GBLUP with weights from the true causal SNPs, from GWAS chi^2 and from SuSiE PIPs computed on each
   fold's training animals.
3. Time and peak memory of G + REML at n = 1,000, 2,000 and 4,000 animals (10,000 markers).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

import numpy as np  # noqa: E402

from locusflow.breed.gblup import fit_gblup, fit_rrblup  # noqa: E402
from locusflow.breed.relationship import vanraden_grm  # noqa: E402
from locusflow.breed.validate import cross_validate, kfold  # noqa: E402
from locusflow.breed.weighted import fit_weighted_gblup, training_scores  # noqa: E402

REAL = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))


def wheat():
    d = np.load(REAL / "bglr_wheat" / "wheat.npz")
    X, Y = d["X"], d["Y"]
    G = vanraden_grm(X)
    print("| environment | GBLUP accuracy | GBLUP bias | rrBLUP accuracy | max abs dGEBV | s per GBLUP fit |")
    print("|---|---|---|---|---|---|")
    for e in range(4):
        y = Y[:, e]
        folds = kfold(len(y), 10, seed=1)
        t0 = time.process_time()
        g = cross_validate(y, lambda tr, te: fit_gblup(y[tr], G[np.ix_(tr, tr)]).predict(G[np.ix_(te, tr)]), folds)
        t_g = (time.process_time() - t0) / 10
        r = cross_validate(y, lambda tr, te: fit_rrblup(y[tr], X[tr]).predict(X[te]), folds)
        d_gebv = np.abs(fit_gblup(y, G).gebv_ - fit_rrblup(y, X).predict(X)).max()
        print(f"| {e + 1} | {g.accuracy.mean():.3f} | {g.bias.mean():.3f} | {r.accuracy.mean():.3f} | "
              f"{d_gebv:.1e} | {t_g:.3f} |")


def simulated(quick: bool, animals=(2000, 600)):
    from locusflow.breed.simulate import simulate_lines
    t0 = time.time()
    s = simulate_lines((600, 300) if quick else tuple(animals), n_chrom=18, markers_per_chrom=300 if quick else 600,
                       n_causal=18, h2=0.5, seed=1)
    print(f"\nsimulated {s.markers.shape[0]} animals x {s.markers.shape[1]} SNPs in {time.time() - t0:.0f} s "
          f"(msprime; 18 chromosomes, {len(s.causal)} causal, h2 {s.h2})\n")
    M, y, line = s.markers, s.y, s.line
    truth = np.zeros(M.shape[1])
    truth[s.causal] = 1.0
    a = np.flatnonzero(line == 0)
    folds = np.full(len(y), -1)
    folds[a] = kfold(len(a), 5, seed=2)
    across = np.where(line == 0, 1, 0)

    def gblup(tr, te):
        G = vanraden_grm(M[np.r_[tr, te]])
        return fit_gblup(y[tr], G[:len(tr), :len(tr)]).predict(G[len(tr):, :len(tr)])

    def weighted(score):
        return lambda tr, te: fit_weighted_gblup(y[tr], M[tr], score(tr)).predict(M[te], M[tr])

    models = [("GBLUP", gblup), ("weighted: true causal SNPs", weighted(lambda tr: truth)),
              ("weighted: GWAS chi2 (training fold)", weighted(lambda tr: training_scores(M[tr], y[tr], "chi2"))),
              ("weighted: SuSiE PIPs (training fold)", weighted(lambda tr: training_scores(M[tr], y[tr], "pip")))]
    print("| model | within line A: accuracy | bias | accuracy / sqrt(h2) | across lines (A -> B): accuracy | bias |")
    print("|---|---|---|---|---|---|")
    for name, f in models:
        w = cross_validate(y, f, folds, test_folds=[0, 1, 2, 3, 4], h2=s.h2)
        x = cross_validate(y, f, across, test_folds=[0])
        print(f"| {name} | {w.accuracy.mean():.3f} | {w.bias.mean():.3f} | {w.accuracy_tbv.mean():.3f} | "
              f"{x.accuracy.iloc[0]:.3f} | {x.bias.iloc[0]:.3f} |")


def scaling():
    print("\n| animals | markers | G (s) | REML + BLUP (s) | peak RSS (GB) |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    m = 10_000
    for n in (1000, 2000, 4000):
        M = rng.binomial(2, rng.uniform(0.05, 0.5, m), size=(n, m)).astype(np.int8)
        y = rng.normal(size=n)
        t0 = time.process_time()
        G = vanraden_grm(M)
        t1 = time.process_time()
        fit_gblup(y, G)
        t2 = time.process_time()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"| {n:,} | {m:,} | {t1 - t0:.1f} | {t2 - t1:.1f} | {rss:.2f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller simulation")
    ap.add_argument("--part", choices=["all", "wheat", "sim", "scaling"], default="all")
    ap.add_argument("--animals", type=int, nargs=2, default=(2000, 600), metavar=("LINE_A", "LINE_B"),
                    help="simulated animals per line")
    a = ap.parse_args()
    if a.part in ("all", "wheat"):
        wheat()
    if a.part in ("all", "sim"):
        simulated(a.quick, a.animals)
    if a.part in ("all", "scaling"):
        scaling()
