"""Gene annotation for training: where each gene is, so that its cis SNPs can be chosen.

Two layouts are read:

- a table (tab or whitespace separated, optionally gzipped) with a gene id column (``gene_id``,
  ``gene``, ``ensembl_id``), a chromosome (``chrom``, ``chr``, ``#chr``, ``chromosome``), ``start`` and
  ``end`` (1-based, inclusive; PredictDB's gene annotation file), and optionally ``gene_name`` /
  ``genename`` and ``gene_type`` / ``gene_biotype``;
- a GTF (``.gtf`` / ``.gtf.gz``, GENCODE or Ensembl): its ``gene`` records, with ``gene_id``,
  ``gene_name`` and ``gene_type`` (or ``gene_biotype``) from the attributes.

Chromosome names lose a ``chr`` prefix. Gene ids are matched to the expression table with and without
their version suffix (``ENSG00000100000.5`` = ``ENSG00000100000``), as PredictDB does.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError

ID_COLUMNS = ("gene_id", "gene", "ensembl_id", "geneid")
CHROM_COLUMNS = ("chrom", "chr", "#chr", "chromosome", "#chrom", "seqname")
NAME_COLUMNS = ("gene_name", "genename", "symbol", "name")
TYPE_COLUMNS = ("gene_type", "gene_biotype", "type")


def _first(columns, names):
    low = {c.lower(): c for c in columns}
    return next((low[n] for n in names if n in low), None)


def _first_line(path: Path) -> str:
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt") as f:
        return f.readline()


def _read_gtf(path: Path) -> pd.DataFrame:
    cols = ["chrom", "source", "feature", "start", "end", "score", "strand", "frame", "attr"]
    g = pd.read_csv(path, sep="\t", comment="#", header=None, names=cols, dtype=str)
    g = g[g["feature"] == "gene"]
    out = pd.DataFrame({"chrom": g["chrom"], "start": g["start"], "end": g["end"]})
    for key, dest in (("gene_id", "gene"), ("gene_name", "gene_name"), ("gene_type", "gene_type"),
                      ("gene_biotype", "gene_type")):
        v = g["attr"].str.extract(rf'{key} "([^"]*)"', expand=False)
        out[dest] = v if dest not in out or v.notna().any() else out[dest]
    return out


def read_gene_annotation(path) -> pd.DataFrame:
    """Genes with their chromosome and body, from a table or a GTF.

    Parameters
    ----------
    path : str or pathlib.Path
        Gene table or GTF (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``gene`` (str, unique), ``gene_name``, ``gene_type`` (str, possibly empty), ``chrom`` (str, no
        "chr"), ``start``, ``end`` (int64, 1-based inclusive), in file order.

    Raises
    ------
    InputError
        Missing file or column, a non-integer coordinate, end < start, or a gene id twice (row named).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a gene annotation (table or GTF): file not found")
    if path.name.removesuffix(".gz").endswith(".gtf"):
        df = _read_gtf(path)
        idc, chc, nmc, tyc = "gene", "chrom", "gene_name", "gene_type"
    else:
        df = pd.read_csv(path, sep="\t" if "\t" in _first_line(path) else r"\s+", dtype=str, keep_default_na=False)
        idc, chc = _first(df.columns, ID_COLUMNS), _first(df.columns, CHROM_COLUMNS)
        nmc, tyc = _first(df.columns, NAME_COLUMNS), _first(df.columns, TYPE_COLUMNS)
        for col, what in ((idc, ID_COLUMNS), (chc, CHROM_COLUMNS), ("start", ("start",)), ("end", ("end",))):
            if col is None or col not in df.columns:
                raise InputError(path, f"a column named one of {list(what)}", row=0, value=list(df.columns))
    out = pd.DataFrame({"gene": df[idc].astype(str).to_numpy(),
                        "gene_name": df[nmc].fillna("").astype(str).to_numpy() if nmc else "",
                        "gene_type": df[tyc].fillna("").astype(str).to_numpy() if tyc else "",
                        "chrom": df[chc].astype(str).str.replace("^chr", "", regex=True, case=False).to_numpy()})
    for c in ("start", "end"):
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            i = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise InputError(path, f"an integer {c}", row=i + 1, column=c, value=df[c].iloc[i])
        out[c] = v.to_numpy(np.int64)
    bad = out["end"] < out["start"]
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, "end >= start", row=i + 1, column="end", value=int(out["end"].iloc[i]))
    dup = out["gene"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(path, "each gene once", row=i + 1, column=idc, value=out["gene"].iloc[i])
    return out


def strip_version(ids) -> np.ndarray:
    """Gene ids without an Ensembl version suffix (``ENSG00000100000.5`` -> ``ENSG00000100000``).

    Parameters
    ----------
    ids : array-like of str

    Returns
    -------
    numpy.ndarray of str
    """
    s = pd.Series(np.asarray(ids, dtype=str))
    return s.str.replace(r"^(ENS[A-Z]*G\d+)\.\d+(_PAR_Y)?$", r"\1\2", regex=True).to_numpy()


def match_genes(expression_genes, annotation: pd.DataFrame, gene_types=None) -> pd.DataFrame:
    """The annotated genes of an expression table, in the table's order.

    Parameters
    ----------
    expression_genes : array-like of str
        Gene ids of the expression table.
    annotation : pandas.DataFrame
        :func:`read_gene_annotation`.
    gene_types : list of str, optional
        Keep only these ``gene_type`` values (PredictDB: protein_coding, pseudogene, lincRNA).

    Returns
    -------
    pandas.DataFrame
        The annotation rows of the expressed genes with ``gene`` set to the expression table's id and
        ``row`` its row in the table; genes without annotation (or of another type) are left out.
    """
    expr = pd.Series(np.asarray(expression_genes, dtype=str))
    ann = annotation.copy()
    ann["key"] = strip_version(ann["gene"])
    ann = ann.drop_duplicates("key")
    if gene_types:
        ann = ann[ann["gene_type"].isin(list(gene_types))]
    key = pd.DataFrame({"key": strip_version(expr), "expr_gene": expr.to_numpy(), "row": np.arange(len(expr))})
    m = key.merge(ann.drop(columns="gene"), on="key", how="inner").sort_values("row")
    return m.rename(columns={"expr_gene": "gene"}).drop(columns="key").reset_index(drop=True)
