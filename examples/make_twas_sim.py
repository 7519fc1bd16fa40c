"""Make the TWAS demo inputs: SIMULATED PredictDB weights for the 24 real protein-coding genes of the
example windows (chr20/chr22:20-21 Mb, GRCh37; ids, names and coordinates from GENCODE v18 as
carried by ../shared/realdata/gene_annotation) and their covariance file from the example panel.

No expression data is bundled, so the weights are drawn (seed 20), not trained: the demo exercises
the pipeline, its z-scores mean nothing biologically. Each gene gets 5-30 panel SNPs within 100 kb
of it (MAF > 1%), weights N(0, 0.15^2), the effect allele being alt or ref at random per SNP; the
covariance is that of the 489 EUR samples' dosages of each effect allele (divisor n-1), as MetaXcan's
covariance files are.

    PYTHONPATH=lib python examples/make_twas_sim.py   # writes examples/twas_sim_chr20_22.{db,cov.txt.gz}
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from locusflow.io.plink import BedReader, read_bim
from locusflow.io.weights import write_covariance, write_predictdb

HERE = Path(__file__).resolve().parent
# chrom, start, stop, gene id, name: GENCODE v18 protein-coding genes with start in the windows
GENES = """\
20 19997760 20014299 ENSG00000173418.7 NAA20
20 20015012 20036690 ENSG00000101343.10 CRNKL1
20 20037262 20341346 ENSG00000089101.13 C20orf26
20 20348765 20351590 ENSG00000173404.3 INSM1
20 20370196 20693266 ENSG00000188559.8 RALGAPA2
22 19938465 19955217 ENSG00000093010.7 COMT
22 19958739 20004331 ENSG00000099889.9 ARVCF
22 20004537 20053449 ENSG00000183597.11 TANGO2
22 20067755 20096526 ENSG00000128191.9 DGCR8
22 20100434 20104915 ENSG00000099899.10 TRMT2A
22 20104947 20114878 ENSG00000099901.12 RANBP1
22 20116979 20135530 ENSG00000099904.11 ZDHHC8
22 20135970 20138399 ENSG00000234409.3 AC006547.14
22 20194100 20194706 ENSG00000236499.1 EM:AC006547.7
22 20228938 20270769 ENSG00000040608.9 RTN4R
22 20301799 20307603 ENSG00000128185.5 DGCR6L
22 20366206 20368028 ENSG00000183038.9 GGTLC3
22 20456003 20461786 ENSG00000196622.6 RIMBP3
22 20692438 20716938 ENSG00000188280.7 FAM230A
22 20704868 20745048 ENSG00000161133.12 USP41
22 20748405 20762745 ENSG00000185252.13 ZNF74
22 20778874 20792146 ENSG00000244486.3 SCARF2
22 20795806 20850170 ENSG00000099910.12 KLHL22
22 20850200 20941919 ENSG00000099917.13 MED15
"""


def genes_in_windows(annotation: Path | None) -> pd.DataFrame:
    if annotation is not None and annotation.exists():
        a = pd.read_csv(annotation, sep="\t", header=None, usecols=[0, 2, 3, 4, 5],
                        names=["chrom", "start", "stop", "gene", "name"])
        a["chrom"] = a["chrom"].str.replace("chr", "")
        return a[a["chrom"].isin(["20", "22"]) & (a["start"] > 19_900_000) & (a["start"] < 21_000_000)]
    rows = [line.split() for line in GENES.strip().splitlines()]
    return pd.DataFrame(rows, columns=["chrom", "start", "stop", "gene", "name"]).astype({"start": int, "stop": int})


def main():
    rng = np.random.default_rng(20)
    prefix = HERE / "1000G_EUR_chr20_22"
    bim = read_bim(prefix)
    g = BedReader(prefix).read().astype(float)
    g[g < 0] = np.nan
    af = np.nanmean(g, axis=1) / 2
    genes = genes_in_windows(HERE.parent.parent / "shared/realdata/gene_annotation/gencode.v18.grch37.protein_coding.tsv")
    eff_is_ref = rng.random(len(bim)) < 0.5
    w_rows, ex_rows, cov_rows = [], [], []
    for r in genes.itertuples(index=False):   # one iteration per gene
        near = np.flatnonzero((bim["chrom"] == r.chrom) & (bim["pos"] > r.start - 100_000)
                              & (bim["pos"] < r.stop + 100_000) & (af > 0.01) & (af < 0.99))
        if len(near) < 5:
            continue
        idx = np.sort(rng.choice(near, min(len(near), int(rng.integers(5, 31))), replace=False))
        s, flip = bim.iloc[idx], eff_is_ref[idx]
        w_rows.append(pd.DataFrame({"rsid": s["rsid"].values, "gene": r.gene, "weight": rng.normal(0, 0.15, len(idx)),
                                    "ref_allele": np.where(flip, s["a1"], s["a2"]),
                                    "eff_allele": np.where(flip, s["a2"], s["a1"])}))
        ex_rows.append({"gene": r.gene, "genename": r.name, "n.snps.in.model": len(idx), "pred.perf.R2": np.nan,
                        "pred.perf.pval": np.nan, "pred.perf.qval": np.nan})
        d = np.where(flip[:, None], 2 - g[idx], g[idx])
        d = np.where(np.isnan(d), np.nanmean(d, axis=1, keepdims=True), d)
        c = np.atleast_2d(np.cov(d))
        iu = np.triu_indices(len(idx))
        cov_rows.append(pd.DataFrame({"gene": r.gene, "rsid1": s["rsid"].values[iu[0]],
                                      "rsid2": s["rsid"].values[iu[1]], "value": c[iu]}))
    write_predictdb(pd.concat(w_rows), pd.DataFrame(ex_rows), HERE / "twas_sim_chr20_22.db")
    write_covariance(pd.concat(cov_rows), HERE / "twas_sim_chr20_22.cov.txt.gz")
    print(f"{len(ex_rows)} simulated gene models written to {HERE}")


if __name__ == "__main__":
    main()
