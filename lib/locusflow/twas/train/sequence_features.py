"""Per-gene sequence features for ctPred: a ``tss_features`` dataset or an Enformer-style table, matched to the
genes of an expression table.

A table (CSV, TSV, optionally gzipped, or Parquet) has one row per gene: a gene column (``gene``,
``gene_id``, ``gene_name``), a chromosome column (``chrom``, ``chromo``, ``chr``; scPrediXcan's Enformer
files name it ``chromo``) and numeric feature columns (e.g. Enformer's 5,313 tracks at the TSS); other text
columns are ignored. A ``tss_features`` dataset (``locusflow dnalm features``) holds the features as one
list column.

Genes are matched to the expression table on the id as written, then without an Ensembl version suffix,
then on the gene name (scPrediXcan merges on ``gene_name``).

References
----------
Zhou Y et al. (2025) Cell Genomics 5:100875; hakyimlab/scPrediXcan ``ctPred_utils.py`` (``input_prep``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError

GENE_KEYS = ("gene", "gene_id", "gene_name")
CHROM_KEYS = ("chrom", "chromo", "chr", "chromosome")


def read_sequence_features(path) -> tuple[pd.DataFrame, np.ndarray]:
    """Genes and their feature matrix.

    Parameters
    ----------
    path : str or Path
        A ``tss_features`` dataset directory, or a table (module docstring).

    Returns
    -------
    genes : pandas.DataFrame
        gene, gene_name, chrom (no "chr").
    features : numpy.ndarray
        [genes, d] float64.

    Raises
    ------
    InputError
        No gene or chromosome column, no numeric feature column, a non-finite value (named by row and
        column), a duplicated gene.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "sequence features: a tss_features dataset or a genes x features table")
    if (path / "_SUCCESS").exists() or (path / "_manifest.json").exists():
        from ...io.dataset import read_dataset
        d = read_dataset(path, "tss_features")
        x = np.stack(d["features"].to_numpy()).astype(float) if len(d) else np.zeros((0, 0))
        return d[["gene", "gene_name", "chrom"]].reset_index(drop=True), x
    if path.suffix == ".parquet" or path.is_dir():
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, sep="," if path.name.removesuffix(".gz").endswith(".csv") else "\t")
    gcol = next((c for c in GENE_KEYS if c in df.columns), None)
    ccol = next((c for c in CHROM_KEYS if c in df.columns), None)
    if gcol is None or ccol is None:
        raise InputError(path, f"a gene column ({'/'.join(GENE_KEYS)}) and a chromosome column "
                         f"({'/'.join(CHROM_KEYS)})", value=list(df.columns[:8]))
    num = [c for c in df.columns if c not in (gcol, ccol) and pd.api.types.is_numeric_dtype(df[c])
           and not str(c).startswith("Unnamed")]
    if not num:
        raise InputError(path, "numeric feature columns besides the gene and chromosome", value=list(df.columns[:8]))
    x = df[num].to_numpy(float)
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        raise InputError(path, "finite feature values", row=r + 1, column=str(num[c]), value=df[num[c]].iloc[r])
    genes = pd.DataFrame({"gene": df[gcol].astype(str).to_numpy(),
                          "gene_name": df["gene_name"].astype(str).to_numpy() if "gene_name" in df else
                          df[gcol].astype(str).to_numpy(),
                          "chrom": df[ccol].astype(str).str.replace("^chr", "", regex=True).to_numpy()})
    dup = genes["gene"].duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(path, "each gene once", row=r + 1, column=gcol, value=genes["gene"].iloc[r])
    return genes, x


def match_expression(genes: pd.DataFrame, expression_genes) -> np.ndarray:
    """Row of ``expression_genes`` for each feature gene (-1: not expressed / not measured).

    Parameters
    ----------
    genes : pandas.DataFrame
        gene, gene_name of the features.
    expression_genes : array-like of str
        Index of the expression table.

    Returns
    -------
    numpy.ndarray of int64
        By id, then id without version, then gene name.
    """
    expr = pd.Index(np.asarray(expression_genes).astype(str))
    strip = lambda v: pd.Index(pd.Series(np.asarray(v).astype(str)).str.replace(r"\.\d+$", "", regex=True))  # noqa: E731
    out = np.full(len(genes), -1, dtype=np.int64)
    for mine, theirs in ((genes["gene"].to_numpy(), expr), (strip(genes["gene"]), strip(expr)),
                         (genes["gene_name"].to_numpy(), expr)):
        theirs = pd.Index(theirs)
        first = ~theirs.duplicated()
        pos = pd.Index(theirs[first]).get_indexer(pd.Index(mine))
        pos = np.where(pos >= 0, np.flatnonzero(first)[np.maximum(pos, 0)], -1)
        out = np.where(out >= 0, out, pos)
    return out
