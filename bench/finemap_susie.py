"""Benchmark: locusflow SuSiE-RSS vs susieR 0.12.35 ``susie_rss`` on the same loci, in one run.

Loci (real 1000 Genomes EUR LD, 489 samples, from ../shared/realdata/polyfun_1kg_eur/polypred_example):
  1k  chr12: the 1,000 SNPs around the window's top SNP, real BOLT z (top p = 2.3e-32)
  5k  chr21: the whole 1-Mb window (4,965 SNPs), z simulated from 3 causal SNPs (seeded)
  4.6k chr12: the whole 1-Mb window (4,557 SNPs), real BOLT z
Both sides get bit-identical z and R (float64), n = 337,000 (or 50,000 for the simulated locus),
L = 10, tol = 1e-3, max_iter = 100, one core each (R's reference BLAS; ours with one BLAS thread).
Times are of the ``susie_rss`` call alone (R: proc.time around it; ours: the median of 3 runs).

Usage: python bench/finemap_susie.py [--loci 1k,5k,4.6k]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "tests")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from locusflow.finemap.susie import susie_rss  # noqa: E402
from locusflow.io.plink import BedReader, read_bim, read_fam  # noqa: E402
from locusflow.io.genotypes import standardise  # noqa: E402
from peers.susier_peer import run_susier  # noqa: E402

DATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata")) / \
    "polyfun_1kg_eur" / "polypred_example"


def window(chrom: int, n_snps: int | None):
    prefix = str(DATA / f"1000G.subset.{chrom}")
    bim, fam = read_bim(prefix), read_fam(prefix)
    ss = pd.read_csv(DATA / "bolt.sumstats.txt.gz", sep="\t")
    ss = ss[ss["CHR"] == chrom].reset_index(drop=True)
    lo, hi = 0, len(bim)
    if n_snps is not None:
        top = int(np.flatnonzero(bim["pos"].to_numpy() == ss["BP"][ss["P_BOLT_LMM"].idxmin()])[0])
        lo = max(0, min(top - n_snps // 2, len(bim) - n_snps))
        hi = lo + n_snps
    x = standardise(BedReader(prefix, n_samples=len(fam), n_variants=len(bim)).read(lo, hi).astype(np.float32))
    x = x.astype(np.float64)
    R = x @ x.T / x.shape[1]
    np.fill_diagonal(R, np.where(np.any(x != 0, axis=1), 1.0, 0.0))
    m = bim.iloc[lo:hi].merge(ss, left_on="pos", right_on="BP", how="left")
    z = (m["BETA"] / m["SE"]).to_numpy()
    return np.where(m["ALLELE1"].to_numpy() != m["a1"].to_numpy(), -z, z), R, x


def simulated(chrom: int, n_gwas: float, n_causal: int = 3, seed: int = 1):
    """z ~ N(sqrt(n) R b, R): b on 3 random SNPs with z about 8, noise X'e / sqrt(N) (cov R)."""
    _, R, x = window(chrom, None)
    rng = np.random.default_rng(seed)
    poly = np.flatnonzero(np.diag(R) > 0)
    b = np.zeros(R.shape[0])
    b[rng.choice(poly, n_causal, replace=False)] = rng.choice([-1, 1], n_causal) * 8 / np.sqrt(n_gwas)
    z = np.sqrt(n_gwas) * (R @ b) + x @ rng.standard_normal(x.shape[1]) / np.sqrt(x.shape[1])
    return z, R


LOCI = {"1k": lambda: (*window(12, 1000)[:2], 337000.0, "chr12 real BOLT z"),
        "5k": lambda: (*simulated(21, 50000.0), 50000.0, "chr21 simulated z (3 causal)"),
        "4.6k": lambda: (*window(12, None)[:2], 337000.0, "chr12 real BOLT z")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loci", default="1k,5k,4.6k")
    ap.add_argument("--rscript", default="Rscript")
    args = ap.parse_args(argv)
    print(f"{'locus':6} {'SNPs':>5} {'z':28} {'iter':>4} {'ours s':>8} {'susieR s':>9} {'ratio':>6} "
          f"{'max|dPIP|':>10} {'CS equal':>8}")
    for name in args.loci.split(","):
        z, R, n, what = LOCI[name]()
        times = []
        with threadpool_limits(limits=1):
            for _ in range(3):
                t0 = time.perf_counter()
                fit = susie_rss(z, R, n, L=10, tol=1e-3, max_iter=100)
                times.append(time.perf_counter() - t0)
        ours = float(np.median(times))
        peer = run_susier(args.rscript, z, R, n, L=10, tol=1e-3, max_iter=100)
        same_cs = [list(s) for s in fit.sets.cs] == [c["variables"] for c in peer["cs"]]
        dpip = float(np.max(np.abs(fit.pip - peer["pip"])))
        print(f"{name:6} {len(z):5d} {what:28} {fit.niter:4d} {ours:8.3f} {peer['seconds']:9.3f} "
              f"{peer['seconds'] / ours:6.1f} {dpip:10.1e} {str(same_cs):>8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
