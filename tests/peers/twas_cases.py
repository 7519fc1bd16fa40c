"""Inputs and checks shared by the TWAS peer comparisons (tests/twas/) and the script that regenerates
their expected-value fixtures (bench/regen_twas_fixtures.py), so both draw exactly the same cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = EXAMPLES / "1000G_EUR_chr20_22"
COMP = str.maketrans("ACGT", "TGCA")

# FUSION's .wgt.RDat layout written by R from TSVs (tests never commit FUSION's code, only this layout)
SAVE_R = """
a <- commandArgs(trailingOnly=TRUE)
for (g in a[-1]) {
  snps <- read.table(file.path(a[1], paste0(g, ".snps.tsv")), header=FALSE, sep="\\t", colClasses=
          c("integer","character","numeric","integer","character","character"))
  w <- as.matrix(read.table(file.path(a[1], paste0(g, ".wgt.tsv")), header=TRUE, sep="\\t"))
  rownames(w) <- snps$V2
  wgt.matrix <- w
  cv.performance <- as.matrix(read.table(file.path(a[1], paste0(g, ".cv.tsv")), header=TRUE, sep="\\t",
                              row.names=1))
  hsq <- c(0.1, 0.02); hsq.pv <- 1e-3; N.tot <- 489
  save(wgt.matrix, snps, cv.performance, hsq, hsq.pv, N.tot, file=file.path(a[1], paste0(g, ".wgt.RDat")))
}
"""


def synthetic_gwas(weights: pd.DataFrame, seed: int) -> pd.DataFrame:
    """GWAS over the model SNPs: 10% missing, 25% allele-swapped, 5% strand-flipped, 3% wrong alleles.

    Returns rsid, alt, ref, z, beta (rename to SNP, A1, A2, ZSCORE, BETA for MetaXcan's reader).
    """
    rng = np.random.default_rng(seed)
    s = weights.drop_duplicates("rsid")[["rsid", "effect_allele", "other_allele"]].reset_index(drop=True)
    u = rng.random(len(s))
    a1, a2 = s["effect_allele"].to_numpy().copy(), s["other_allele"].to_numpy().copy()
    swap = (u >= 0.10) & (u < 0.35)
    a1[swap], a2[swap] = s["other_allele"].to_numpy()[swap], s["effect_allele"].to_numpy()[swap]
    amb = np.array([x.translate(COMP) == y for x, y in zip(a1, a2)], dtype=bool)
    flip = (u >= 0.35) & (u < 0.40) & ~amb
    a1[flip] = [x.translate(COMP) for x in a1[flip]]
    a2[flip] = [x.translate(COMP) for x in a2[flip]]
    bad = (u >= 0.40) & (u < 0.43)
    a1[bad] = np.where(a1[bad] == "A", "C", "A")
    a2[bad] = np.where(a1[bad] == "G", "T", "G")
    z = rng.normal(0, 2, len(s))
    g = pd.DataFrame({"rsid": s["rsid"], "alt": a1, "ref": a2, "z": z, "beta": z * 0.01})
    return g[u >= 0.10].reset_index(drop=True)


def panel_window(n=120):
    """Common SNPs among ``n`` consecutive chr22 SNPs of the bundled 1000G EUR panel (no random draw):
    (bim rows, [m, 489] dosages, index of the first SNP)."""
    from locusflow.io.plink import BedReader, read_bim
    bim = read_bim(PREFIX)
    i0 = int(np.flatnonzero(bim["chrom"].to_numpy() == "22")[0]) + 200
    g = BedReader(PREFIX).read(i0, i0 + n).astype(float)
    g[g < 0] = np.nan
    af = np.nanmean(g, axis=1) / 2
    keep = (af > 0.05) & (af < 0.95)
    return bim.iloc[i0:i0 + n][keep].reset_index(drop=True), g[keep], i0


def compare(ours: pd.DataFrame, mx: pd.DataFrame) -> pd.DataFrame:
    """Our S-PrediXcan rows against MetaXcan's: same genes and n_snps_used, z to 1e-6, var_g to 1e-9."""
    m = mx.merge(ours, on="gene", suffixes=("_mx", ""))
    assert len(m) == len(mx)
    np.testing.assert_array_equal(m["n_snps_used_mx"], m["n_snps_used"])
    np.testing.assert_allclose(m["zscore"], m["zscore_mx"], atol=1e-6, rtol=0, equal_nan=True)
    np.testing.assert_allclose(m["var_g"], m["var_g_mx"], rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(m["effect_size"], m["effect_size_mx"], rtol=1e-6, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(m["pvalue"], m["pvalue_mx"], rtol=1e-5, equal_nan=True)
    np.testing.assert_allclose(m["n_snps_in_cov"], m["n_snps_in_cov_mx"], equal_nan=True)
    # genes MetaXcan leaves out have no SNP in the GWAS
    assert (ours.loc[~ours["gene"].isin(mx["gene"]), "n_snps_used"] == 0).all()
    return m
