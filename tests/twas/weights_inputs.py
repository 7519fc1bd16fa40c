"""Inputs of the weights_train tests: expression simulated over the bundled 1000G EUR panel (489 samples,
chr20/chr22 20-21 Mb) at real GENCODE v18 gene positions, with covariates (a numeric PC-like covariate and
a batch factor) added to expression, and the truth (heritable genes and their genetic values)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from locusflow.io.plink import BedReader, read_bim, read_fam

# GENCODE v18 (GRCh37) protein-coding genes inside the bundled panel's windows
GENES = pd.DataFrame([
    ("ENSG00000101343.10", "CRNKL1", "20", 20015012, 20036690),
    ("ENSG00000173404.3", "INSM1", "20", 20348765, 20351590),
    ("ENSG00000128191.9", "DGCR8", "22", 20067755, 20096526),
    ("ENSG00000040608.9", "RTN4R", "22", 20228938, 20270769),
    ("ENSG00000196622.6", "RIMBP3", "22", 20456003, 20461786),
    ("ENSG00000185252.13", "ZNF74", "22", 20748405, 20762745),
], columns=["gene_id", "gene_name", "chrom", "start", "end"])
H2 = [0.5, 0.0, 0.6, 0.0, 0.5, 0.3]


def write_inputs(prefix: Path, out: Path, *, window: int, seed: int = 7) -> dict:
    """Expression (genes x samples TSV), gene table and covariates (samples x covariates) under ``out``.

    Each heritable gene has 3 causal cis SNPs (MAF > 0.05, within ``window`` of the gene body) with
    normal effects scaled to its h2; covariates add a PC-like term and a batch shift; noise makes up the rest.
    Returns the paths and the true genetic values per gene.
    """
    rng = np.random.default_rng(seed)
    bim = read_bim(prefix)
    fam = read_fam(prefix)
    x = BedReader(prefix).read().astype(float).T          # [n, m] A1 (= alt) counts
    samples = fam["iid"].astype(str).to_numpy()
    n = len(samples)
    pc = rng.normal(size=n)
    batch = rng.choice(["b1", "b2", "b3"], size=n)
    shift = {"b1": 0.0, "b2": 1.5, "b3": -1.0}
    expr, truth = {}, {}
    af = x.mean(axis=0) / 2
    for (g, name, chrom, start, end), h2 in zip(GENES.itertuples(index=False), H2):   # loop over genes (7)
        cand = np.flatnonzero((bim["chrom"] == chrom).to_numpy() & (bim["pos"] >= start - window).to_numpy()
                              & (bim["pos"] <= end + window).to_numpy() & (np.minimum(af, 1 - af) > 0.05))
        gv = np.zeros(n)
        if h2 > 0:
            causal = rng.choice(cand, 3, replace=False)
            gv = x[:, causal] @ rng.normal(size=3)
            gv = (gv - gv.mean()) / gv.std() * np.sqrt(h2)
        e = rng.normal(size=n) * np.sqrt(1 - h2)
        expr[g] = 5.0 + gv + e + 0.8 * pc + np.vectorize(shift.get)(batch)
        truth[g] = gv
    out.mkdir(parents=True, exist_ok=True)
    e = pd.DataFrame(expr, index=samples).T
    e.index.name = "gene_id"
    e.to_csv(out / "expression.tsv.gz", sep="\t")
    genes = GENES.assign(gene_type="protein_coding", chr=GENES["chrom"]).drop(columns="chrom")
    genes[["chr", "gene_id", "gene_name", "start", "end", "gene_type"]].to_csv(out / "genes.txt", sep="\t",
                                                                                index=False)
    pd.DataFrame({"IID": samples, "PC1": pc, "batch": batch}).to_csv(out / "covariates.txt", sep="\t", index=False)
    return {"expression": out / "expression.tsv.gz", "genes": out / "genes.txt", "covariates": out / "covariates.txt",
            "truth": truth, "h2": dict(zip(GENES["gene_id"], H2)), "samples": samples}


def export(models: pd.DataFrame, tmp: Path) -> tuple[Path, Path]:
    """The PredictDB database and covariance file our exporter writes for the kept rows of ``models``."""
    from locusflow.io.weights_export import export_covariance, export_predictdb
    kept = models[models["keep"]]
    db = export_predictdb(kept, tmp / "trained.db", population="Sim", n_samples=489, seed=0)
    return db, export_covariance(kept, tmp / "trained.txt.gz")


def inputs_digest(db: Path, cov: Path, gwas: Path) -> str:
    """sha256 over the content MetaXcan reads: weights and extra tables, decompressed covariance, GWAS text."""
    import gzip
    import hashlib
    import sqlite3
    h = hashlib.sha256()
    with sqlite3.connect(db) as con:
        for t in ("weights", "extra"):
            h.update(pd.read_sql(f"SELECT * FROM {t}", con).to_csv(index=False, float_format="%.17g").encode())
    h.update(gzip.decompress(Path(cov).read_bytes()))
    h.update(Path(gwas).read_bytes())
    return h.hexdigest()


def simulate_expression(x: np.ndarray, h2: float, n_causal: int, rng, min_maf: float = 0.05):
    """Expression with a sparse cis-eQTL genetic part over dosages ``x`` [n, p]: ``n_causal`` SNPs (MAF >
    ``min_maf``) with N(0, 1) effects, the genetic value g scaled to variance h2, noise N(0, 1 - h2).
    Returns (y, g, causal indices)."""
    af = x.mean(axis=0) / 2
    cand = np.flatnonzero(np.minimum(af, 1 - af) > min_maf)
    causal = np.sort(rng.choice(cand, n_causal, replace=False))
    g = x[:, causal] @ rng.normal(size=n_causal)
    g = (g - g.mean()) / g.std() * np.sqrt(h2)
    return g + rng.normal(0, np.sqrt(1 - h2), len(g)), g, causal
