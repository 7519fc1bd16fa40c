"""Calibration of SuSiE-RSS and SuSiE-inf under an infinitesimal background, on real genotypes.

Loci: ``--loci`` windows of ``--snps`` consecutive common SNPs (MAF >= 5%) of 1000 Genomes EUR (489
samples, ../shared/realdata/polyfun_1kg_eur/polypred_example), standardised. Trait per locus:
``y = X_S beta_S + X alpha + e`` with 3 sparse causal SNPs (beta ~ N(0, 0.03) each), an infinitesimal
background over all SNPs (alpha_j ~ N(0, h2_inf / m)) and noise for the rest of unit variance;
z = X'y / sqrt(n) (standardised y), in-sample LD, n = 489. Both methods with L = 10 and their defaults.

Printed: for PIP bins, the mean PIP and the fraction of SNPs in the bin that are sparse causal (a
calibrated method has the two equal), and the 95% credible sets' coverage (fraction holding a causal SNP).

    PYTHONPATH=lib python bench/finemap_inf_calibration.py [--loci 60] [--snps 300] [--h2-inf 0.3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from locusflow.finemap.susie import susie_rss  # noqa: E402
from locusflow.finemap.susie_inf import susie_inf  # noqa: E402
from locusflow.io.genotypes import standardise  # noqa: E402
from locusflow.io.plink import BedReader  # noqa: E402

BINS = (0.0, 0.1, 0.5, 0.9, 1.0 + 1e-9)


def loci(realdata: Path, count: int, snps: int, rng):
    """Standardised genotype windows [n, m] of common SNPs."""
    base = realdata / "polyfun_1kg_eur" / "polypred_example"
    out = []
    while len(out) < count:
        reader = BedReader(base / f"1000G.subset.{int(rng.integers(1, 23))}")
        start = int(rng.integers(0, reader.n_variants - 3 * snps))
        g = reader.read(start, start + 3 * snps).astype(np.float32)
        g[g < 0] = np.nan
        af = np.nanmean(g, axis=1) / 2
        common = np.flatnonzero(np.minimum(af, 1 - af) >= 0.05)[:snps]
        if len(common) == snps:
            out.append(standardise(g[common]).T.astype(np.float64))
    return out


def simulate(x, h2_inf, rng):
    n, m = x.shape
    causal = rng.choice(m, 3, replace=False)
    signal = x[:, causal] @ rng.normal(0, np.sqrt(0.03), 3) + x @ rng.normal(0, np.sqrt(h2_inf / m), m)
    y = signal + rng.normal(0, np.sqrt(max(1 - signal.var(), 0.05)), n)
    yc = (y - y.mean()) / y.std()
    return x.T @ yc / np.sqrt(n), causal          # z = X'y / sqrt(n), exactly consistent with R


def table(name, pips, is_causal, covered, n_sets):
    print(f"{name}: 95% CS coverage {covered}/{n_sets} = {covered / max(n_sets, 1):.2f}")
    print("  PIP bin | SNPs | mean PIP | fraction causal")
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        sel = (pips >= lo) & (pips < hi)
        if sel.any():
            print(f"  [{lo:.1f}, {min(hi, 1):.1f}) | {sel.sum()} | {pips[sel].mean():.3f} | {is_causal[sel].mean():.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    ap.add_argument("--loci", type=int, default=60)
    ap.add_argument("--snps", type=int, default=300)
    ap.add_argument("--h2-inf", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    res = {"SuSiE-RSS": [[], [], 0, 0, 0.0], "SuSiE-inf": [[], [], 0, 0, 0.0]}
    for x in loci(Path(args.realdata), args.loci, args.snps, rng):
        z, causal = simulate(x, args.h2_inf, rng)
        R = x.T @ x / len(x)
        truth = np.isin(np.arange(len(z)), causal)
        for name in res:
            c0 = time.process_time()
            if name == "SuSiE-RSS":
                fit = susie_rss(z, R, len(x))
                sets = fit.sets.cs
            else:
                fit = susie_inf(z, R, len(x))
                sets = fit.sets
            r = res[name]
            r[4] += time.process_time() - c0
            r[0].append(fit.pip)
            r[1].append(truth)
            r[2] += sum(bool(truth[s].any()) for s in sets)
            r[3] += len(sets)
    print(f"{args.loci} loci x {args.snps} SNPs (1000G EUR, n = 489), 3 sparse causal, h2_inf = {args.h2_inf}")
    for name, (pips, truth, covered, n_sets, cpu) in res.items():
        table(f"{name} ({cpu:.1f} s CPU)", np.concatenate(pips), np.concatenate(truth), covered, n_sets)


if __name__ == "__main__":
    main()
