"""Does the elastic net recover simulated cis-eQTL genetic expression? Accuracy per heritability.

    PYTHONPATH=lib python bench/weights_sim.py [--genes-per-h2 8] [--h2 0.05 0.1 0.2 0.3] [--max-snps 0]

Genotypes: real 1000 Genomes EUR (../shared/realdata/polyfun_1kg_eur, 489 samples, 22 windows of 1 Mb); the
cis SNPs of gene k are the SNPs of window (k mod 22) + 1 that pass the weights_train QC (a gene at the
window's centre with the default +/- 1 Mb window sees the whole window: ~2,500 SNPs). Expression: 1, 2 or
5 causal SNPs (MAF > 0.05) with N(0, 1) effects scaled to heritability h2, plus N(0, 1 - h2) noise
(tests/twas/weights_inputs.simulate_expression). 100 individuals are held out; PredictDB's procedure
(``train_gene``: nested CV, then cv.glmnet on the 389 others, alpha 0.5) trains the model, which predicts
the held-out individuals. Reported per h2: the correlation of predicted and true genetic expression in the
held-out individuals (mean, and its square), PredictDB's own nested-CV estimate (rho_avg, against observed
expression), the fraction of genes kept (rho_avg > 0.1, zscore_pval < 0.05), SNPs in the model, CPU s/gene.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.append(str(ROOT / "tests" / "twas"))

from locusflow.io.plink import BedReader, read_bim  # noqa: E402
from locusflow.twas.train.predictdb import train_gene  # noqa: E402
from locusflow.twas.train.snp_qc import snp_qc  # noqa: E402
from weights_inputs import simulate_expression  # noqa: E402

REALDATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
PANEL = REALDATA / "polyfun_1kg_eur" / "polypred_example"


def window(i: int, max_snps: int) -> np.ndarray:
    """QC'd dosages [489, p] of polyfun window i (missing calls at the SNP mean)."""
    prefix = PANEL / f"1000G.subset.{i}"
    bim = read_bim(prefix).rename(columns={"a1": "alt", "a2": "ref"})
    d = BedReader(prefix).read().astype(float)
    d[d < 0] = np.nan
    keep = np.flatnonzero(snp_qc(d, bim) < 0)
    if max_snps:
        mid = len(keep) // 2
        keep = keep[max(0, mid - max_snps // 2): mid + max_snps // 2]
    x = d[keep].T
    return np.where(np.isnan(x), np.nanmean(x, axis=0), x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes-per-h2", type=int, default=8)
    ap.add_argument("--h2", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3])
    ap.add_argument("--max-snps", type=int, default=0, help="cis SNPs per gene (0: the whole window)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not PANEL.exists():
        sys.exit(f"skip: real data not present at {PANEL}")
    rng = np.random.default_rng(args.seed)
    test = np.sort(rng.choice(489, 100, replace=False))
    train = np.setdiff1d(np.arange(489), test)
    cache, rows, k = {}, [], 0
    for h2 in args.h2:                                      # loop over heritabilities
        for _ in range(args.genes_per_h2):                  # loop over genes
            w = k % 22 + 1
            k += 1
            if w not in cache:
                cache[w] = window(w, args.max_snps)
            x = cache[w]
            y, g, causal = simulate_expression(x, h2, int(rng.choice([1, 2, 5])), rng)
            yt = (y[train] - y[train].mean()) / y[train].std(ddof=1)
            t0 = time.process_time()
            r = train_gene(x[train], yt, seed=k)
            cpu = time.process_time() - t0
            pred = x[test] @ r["coef"]
            rg = float(np.corrcoef(pred, g[test])[0, 1]) if np.ptp(pred) > 0 else 0.0
            rows.append((h2, x.shape[1], len(causal), rg, r["rho_avg"], r["keep"], r["n_snps_in_model"], cpu))
            print(f"h2 {h2:.2f} window {w} ({x.shape[1]} SNPs, {len(causal)} causal): held-out r(pred, g) {rg:.3f}  "
                  f"rho_avg {r['rho_avg']:.3f}  kept {r['keep']}  {r['n_snps_in_model']} SNPs  {cpu:.1f} s", flush=True)
    a = np.array(rows, float)
    print(f"\n| h2 | genes | cis SNPs (mean) | held-out r(pred, g) mean (sd) | r^2 mean | PredictDB rho_avg mean | "
          f"kept | SNPs in model (median) | CPU s / gene |\n|---|---|---|---|---|---|---|---|---|")
    for h2 in args.h2:
        s = a[a[:, 0] == h2]
        print(f"| {h2:g} | {len(s)} | {s[:, 1].mean():.0f} | {s[:, 3].mean():.3f} ({s[:, 3].std(ddof=1):.3f}) | "
              f"{(s[:, 3] ** 2).mean():.3f} | {s[:, 4].mean():.3f} | {int(s[:, 5].sum())}/{len(s)} | "
              f"{np.median(s[:, 6]):.0f} | {s[:, 7].mean():.1f} |")
    print(f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
