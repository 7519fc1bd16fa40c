"""Inputs and checks shared by the TWAS peer comparisons (tests/twas/) and the script that regenerates
their expected-value fixtures (bench/regen_twas_fixtures.py), so both draw exactly the same cases."""
from __future__ import annotations

import subprocess
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


# runs SPrediXcan.py's command line once per job inside one interpreter (saves ~2 s of imports per run)
DRIVER = """
import json, os, runpy, sys
jobs = json.load(open(sys.argv[1]))
os.chdir(sys.argv[2]); sys.path.insert(0, sys.argv[2])
for argv in jobs:
    sys.argv = ["SPrediXcan.py"] + argv
    runpy.run_path("SPrediXcan.py", run_name="__main__")
"""


def mx_args(db, cov, gwas_file, out) -> list[str]:
    """SPrediXcan.py's arguments for one run on a GWAS file with columns SNP A1 A2 ZSCORE BETA."""
    return ["--model_db_path", str(db), "--covariance", str(cov), "--gwas_file", str(gwas_file),
            "--snp_column", "SNP", "--effect_allele_column", "A1", "--non_effect_allele_column", "A2",
            "--zscore_column", "ZSCORE", "--beta_column", "BETA", "--output_file", str(out), "--throw",
            "--verbosity", "50"]


def make_fusion_inputs(tmp: Path, seed=3, rscript: str = "Rscript", plink: str = "plink1.9"):
    """3 genes x models (lasso, blup, top1) over panel SNPs; GWAS with swaps, gaps (imputation), and
    one gene over FUSION's max_impute; the window as PLINK files ``<tmp>/ref.22`` for FUSION.
    Returns (bim rows, dosages, GWAS)."""
    rng = np.random.default_rng(seed)
    bim, g, _ = panel_window()
    m = len(bim)
    genes = [("GENE_A", 0, 25, [0.02, 0.01, 0.005]), ("GENE_B", 20, 50, [1e-6, 1e-3, 1e-4]),
             ("GENE_C", 45, 70, [0.3, 1e-5, 0.2])]
    pos_rows = []
    for name, a, b, pv in genes:
        s = bim.iloc[a:min(b, m)].copy()
        k = len(s)
        a1, a2 = s["a1"].to_numpy().copy(), s["a2"].to_numpy().copy()
        sw = rng.random(k) < 0.3   # weights given for the other allele: FUSION flips them
        a1[sw], a2[sw] = s["a2"].to_numpy()[sw], s["a1"].to_numpy()[sw]
        snps = pd.DataFrame({"V1": 22, "V2": s["rsid"].values, "V3": 0.0, "V4": s["pos"].values, "V5": a1, "V6": a2})
        lasso = rng.normal(0, 0.2, k) * (rng.random(k) < 0.4)
        wgt = pd.DataFrame({"lasso": lasso, "blup": rng.normal(0, 0.05, k), "top1": rng.normal(0, 3, k)})
        snps.to_csv(tmp / f"{name}.snps.tsv", sep="\t", header=False, index=False)
        wgt.to_csv(tmp / f"{name}.wgt.tsv", sep="\t", index=False, float_format="%.17g")
        cv = pd.DataFrame([[0.1, 0.2, 0.05], pv], index=["rsq", "pval"], columns=["lasso", "blup", "top1"])
        cv.to_csv(tmp / f"{name}.cv.tsv", sep="\t", float_format="%.17g")
        pos_rows.append({"PANEL": "SIM", "WGT": f"{name}.wgt.RDat", "ID": name, "CHR": 22,
                         "P0": int(s["pos"].min()), "P1": int(s["pos"].max())})
    rs = subprocess.run([rscript, "-e", SAVE_R, str(tmp)] + [x[0] for x in genes],
                        capture_output=True, text=True)
    assert rs.returncode == 0, rs.stderr
    pd.DataFrame(pos_rows).to_csv(tmp / "sim.pos", sep="\t", index=False)
    # GWAS: z for most panel SNPs, 30% with swapped alleles; 10% missing in GENE_A/B, 60% in GENE_C
    z = rng.normal(0, 2, m)
    miss = rng.random(m) < np.where(np.arange(m) >= 50, 0.9, 0.1)
    A1, A2 = bim["a1"].to_numpy().copy(), bim["a2"].to_numpy().copy()
    sw = rng.random(m) < 0.3
    A1[sw], A2[sw], z[sw] = bim["a2"].to_numpy()[sw], bim["a1"].to_numpy()[sw], -z[sw]
    gw = pd.DataFrame({"SNP": bim["rsid"], "A1": A1, "A2": A2, "Z": z})[~miss]
    gw.to_csv(tmp / "gwas.sumstats", sep="\t", index=False, float_format="%.17g")
    # the FUSION reference: this window as PLINK chr22
    subprocess.run([plink, "--bfile", str(PREFIX), "--extract", "/dev/stdin",
                    "--make-bed", "--out", str(tmp / "ref.22")], input="\n".join(bim["rsid"]), text=True,
                   capture_output=True, check=True)
    return bim, g, gw


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
