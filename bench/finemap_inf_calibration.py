"""Calibration of SuSiE-RSS, FINEMAP-SSS, SuSiE-inf and FINEMAP-inf under an infinitesimal background, on
real genotypes.

Loci: ``--loci`` windows of ``--snps`` consecutive common SNPs (MAF >= 5%) of 1000 Genomes EUR (489
samples, ../shared/realdata/polyfun_1kg_eur/polypred_example), standardised. Trait per locus:
``y = X_S beta_S + X alpha + e`` with 3 sparse causal SNPs (beta ~ N(0, 0.03) each), an infinitesimal
background over all SNPs (alpha_j ~ N(0, h2_inf / m)) and noise for the rest of unit variance;
z = X'y / sqrt(n) (standardised y), in-sample LD, n = 489. z depends on n and the effects only through
n h^2, so ``--n-gwas N`` hands the methods n = N instead: the same z are then those of a GWAS of N with
per-SNP effects sqrt(489 / N) times smaller (what matters for FINEMAP's fixed prior SD of effects, 0.05).
Every method with its defaults (SuSiE and
SuSiE-inf L = 10; FINEMAP-SSS and FINEMAP-inf at most 5 causal SNPs, prior SD 0.05).

Printed: for PIP bins, the mean PIP and the fraction of SNPs in the bin that are sparse causal (a
calibrated method has the two equal), and the 95% credible sets' coverage (fraction holding a causal SNP;
SuSiE: the sets that pass purity 0.5; FINEMAP: the sets of the most probable number of causal SNPs), as
a markdown table.

    PYTHONPATH=lib python bench/finemap_inf_calibration.py [--loci 60] [--snps 300] [--h2-inf 0.3]
        [--methods SuSiE-RSS,FINEMAP-SSS,SuSiE-inf,FINEMAP-inf] [--n-gwas N]
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

from locusflow.finemap.finemap_inf import finemap_inf  # noqa: E402
from locusflow.finemap.sss import finemap_sss  # noqa: E402
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


def fit(name, z, R, n):
    """(PIPs, credible sets as index arrays) of one method."""
    if name == "SuSiE-RSS":
        f = susie_rss(z, R, n)
        return f.pip, f.sets.cs
    if name == "SuSiE-inf":
        f = susie_inf(z, R, n)
        return f.pip, f.sets
    if name == "FINEMAP-inf":
        f = finemap_inf(z, R, n)
        k = int(np.argmax(f.post_k))
        return f.pip, [m for kk, _, m, _ in f.sets if kk == k]
    res = finemap_sss(z, R, n)
    k = int(np.argmax(res.post_k))
    cred = res.cred[res.cred["k"] == k]
    return res.snp.sort_values("index")["pip"].to_numpy(), [g["index"].to_numpy() for _, g in cred.groupby("cs")]


def table(rows):
    """Markdown table: CPU, 95% CS coverage, mean PIP / fraction causal (SNPs) per PIP bin."""
    bins = [f"[{lo:.1f}, {min(hi, 1):.1f})" for lo, hi in zip(BINS[:-1], BINS[1:])]
    print("| method | CPU s | 95% CS holding a causal SNP | " + " | ".join(f"PIP {b}: mean PIP / fraction causal (SNPs)"
                                                                 for b in bins) + " |")
    print("|---|---|---|" + "---|" * len(bins))
    for name, (pips, truth, covered, n_sets, cpu) in rows.items():
        pips, is_causal = np.concatenate(pips), np.concatenate(truth)
        cells = []
        for lo, hi in zip(BINS[:-1], BINS[1:]):
            sel = (pips >= lo) & (pips < hi)
            cells.append(f"{pips[sel].mean():.3f} / {is_causal[sel].mean():.3f} ({sel.sum():,})" if sel.any() else "-")
        print(f"| {name} | {cpu:.1f} | {covered} / {n_sets} = {covered / max(n_sets, 1):.2f} | " + " | ".join(cells) + " |")
    for name, (pips, truth, *_rest) in rows.items():
        pips, is_causal = np.concatenate(pips), np.concatenate(truth)
        top = np.argsort(-pips)[: int(is_causal.sum())]
        print(f"{name}: expected causal (sum of PIPs) {pips.sum():.1f} vs {int(is_causal.sum())} simulated; "
              f"precision of the top {len(top)} PIPs {is_causal[top].mean():.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    ap.add_argument("--loci", type=int, default=60)
    ap.add_argument("--snps", type=int, default=300)
    ap.add_argument("--h2-inf", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--methods", default="SuSiE-RSS,FINEMAP-SSS,SuSiE-inf,FINEMAP-inf")
    ap.add_argument("--n-gwas", type=float, default=None, help="n handed to the methods [the panel's, 489]")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    res = {m: [[], [], 0, 0, 0.0] for m in args.methods.split(",")}
    for x in loci(Path(args.realdata), args.loci, args.snps, rng):
        z, causal = simulate(x, args.h2_inf, rng)
        R = x.T @ x / len(x)
        truth = np.isin(np.arange(len(z)), causal)
        for name, r in res.items():
            c0 = time.process_time()
            pip, sets = fit(name, z, R, args.n_gwas or len(x))
            r[4] += time.process_time() - c0
            r[0].append(pip)
            r[1].append(truth)
            r[2] += sum(bool(truth[np.asarray(s)].any()) for s in sets)
            r[3] += len(sets)
    print(f"{args.loci} loci x {args.snps} SNPs (1000G EUR, n = 489; methods given n = {args.n_gwas or 489:g}), "
          f"3 sparse causal, h2_inf = {args.h2_inf}, "
          f"seed {args.seed}")
    table(res)


if __name__ == "__main__":
    main()
