"""Expression inputs for training: bulk tables, single-cell pseudobulk, and scPrediXcan's ctPred targets.

Bulk (:func:`read_expression_table`): a genes x samples table (TPM, counts or normalised values),
text (tab, comma or whitespace separated, optionally gzipped) or Parquet, the first column (or one
named ``gene_id``, ``gene``, ``NAME``, ``phenotype_id``) the gene; a BED-like layout as tensorQTL and
GTEx write it (``#chr start end gene_id`` then samples) keeps the coordinates (``start`` is the TSS
of a BED phenotype, 0-based; returned 1-based).

Single cell (:func:`read_h5ad`, :func:`pseudobulk`): an AnnData ``.h5ad`` (read by the ``anndata``
package) with cells x genes counts in ``X`` (or a layer), the individual and the cell type of each
cell in ``obs``. Pseudobulk of individual i and cell type c over its cells C_ic, for gene g:

    sum:   s_icg = sum_{k in C_ic} x_kg          mean:  m_icg = s_icg / |C_ic|

computed as one sparse product (an indicator matrix of groups x cells times the cells x genes
matrix), no loop over cells; an (i, c) with fewer than ``min_cells`` cells is dropped (reported).
Normalisation per pseudobulk sample: ``cpm`` = 1e6 s_icg / sum_g s_icg, ``log1p_cpm`` = log(1 + cpm),
``none`` (the aggregate as is).

ctPred targets (:func:`ctpred_targets`, scPrediXcan ``data_prep.py``): for one cell type, the mean
of each gene's pseudobulk over individuals, genes of the feature set absent from the data set to
0, then the percentile rank ``rank(method='average') / n_genes`` (:func:`percentile_rank`, pandas
``rank(method='average', pct=True)``).

References
----------
Zhou Y et al. (2025) scPrediXcan integrates deep learning methods and single-cell data into a
cell-type-specific transcriptome-wide association study framework. Cell Genomics 5:100875;
hakyimlab/scPrediXcan ``Scripts/ctPred/data_prep.py``.
Virshup I et al. (2024) anndata: Access and store annotated data matrices. JOSS 9:4371.
Taylor-Weiner A et al. (2019) Scaling computational genomics to millions of individuals with GPUs.
Genome Biol 20:228 (tensorQTL phenotype BED).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ...errors import InputError
from ...logs import get_logger

log = get_logger("train")
GENE_COLUMNS = ("gene_id", "gene", "NAME", "phenotype_id", "gene_name", "pid", "ID")
BED_COLUMNS = ("#chr", "start", "end")
NORMALISATIONS = ("cpm", "log1p_cpm", "none")


def _read_text(path: Path) -> pd.DataFrame:
    name = path.name.removesuffix(".gz")
    sep = "," if name.endswith(".csv") else "\t"
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        if df.shape[1] == 1 and sep == "\t":          # whitespace separated
            df = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(path, f"a genes x samples table (tab, comma or whitespace separated): {exc}") from exc
    return df


def read_expression_table(path, *, gene_column: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A genes x samples expression table, every value checked.

    Parameters
    ----------
    path : str or Path
        Text (``.tsv``/``.txt``/``.csv``, optionally ``.gz``) or Parquet (``.parquet``, a file or a
        directory).
    gene_column : str, optional
        Column of the gene ids [the first of :data:`GENE_COLUMNS` present, else the first column].

    Returns
    -------
    expression : pandas.DataFrame
        float64, index the gene ids (str), one column per sample (str), in file order.
    positions : pandas.DataFrame or None
        For a BED-like table (``#chr start end``): ``chrom`` (no "chr"), ``tss`` (1-based: BED start + 1),
        ``end``, indexed by gene; else None.

    Raises
    ------
    InputError
        No such file; no sample column; a duplicated gene or sample; a value that is not a finite number
        (the message names the row (1-based data row), the sample column and the value).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "an expression table (genes x samples): file not found")
    if path.suffix == ".parquet" or path.is_dir():
        df = pd.read_parquet(path)
        df = df.reset_index() if df.index.name else df
        df = df.astype({c: str for c in df.columns[:1]})
    else:
        df = _read_text(path)
    df.columns = [str(c) for c in df.columns]
    bed = all(c in df.columns for c in BED_COLUMNS)
    if gene_column is None:
        gene_column = next((c for c in GENE_COLUMNS if c in df.columns), None)
        gene_column = gene_column or (df.columns[3] if bed and df.shape[1] > 3 else df.columns[0])
    if gene_column not in df.columns:
        raise InputError(path, f"a gene id column '{gene_column}'", column=gene_column, value=list(df.columns[:6]))
    meta = [gene_column] + (list(BED_COLUMNS) if bed else [])
    samples = [c for c in df.columns if c not in meta]
    if not samples:
        raise InputError(path, "at least one sample column after the gene column", value=list(df.columns))
    genes = df[gene_column].astype(str)
    _unique(path, genes.to_numpy(), gene_column, "gene")
    _unique(path, np.asarray(samples), None, "sample")
    values = _numeric(path, df[samples], samples)
    expr = pd.DataFrame(values, index=pd.Index(genes.to_numpy(), name="gene"), columns=samples)
    pos = None
    if bed:
        start = pd.to_numeric(df["start"], errors="coerce")
        if start.isna().any():
            r = int(np.flatnonzero(start.isna())[0])
            raise InputError(path, "an integer BED start", row=r + 1, column="start", value=df["start"].iloc[r])
        pos = pd.DataFrame({"chrom": df["#chr"].str.replace("^chr", "", regex=True).to_numpy(),
                            "tss": start.to_numpy(np.int64) + 1,
                            "end": pd.to_numeric(df["end"], errors="coerce").to_numpy()}, index=expr.index)
    return expr, pos


def _unique(path, values: np.ndarray, column, what: str) -> None:
    dup = pd.Index(values).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(path, f"each {what} once", row=(i + 1) if what == "gene" else None, column=column,
                         value=values[i])


def _numeric(path, block: pd.DataFrame, columns) -> np.ndarray:
    """float64 values of a text/Parquet block; the first non-number named by row and column."""
    vals = block.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(vals)
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        raise InputError(path, "a finite number (missing expression values are not imputed)", row=r + 1,
                         column=str(columns[c]), value=block.iat[r, c])
    return vals


def read_h5ad(path):
    """An AnnData ``.h5ad`` file (cells x genes), read with the ``anndata`` package.

    Parameters
    ----------
    path : str or Path
        The ``.h5ad`` file.

    Returns
    -------
    anndata.AnnData

    Raises
    ------
    InputError
        No such file, not an HDF5 AnnData file, or ``anndata`` missing (``pip install locusflow[sc]``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "an AnnData .h5ad file: file not found")
    try:
        import anndata
    except ImportError as exc:
        raise InputError(path, "the anndata package to read .h5ad (pip install 'locusflow[sc]')") from exc
    try:
        return anndata.read_h5ad(path)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(path, f"an AnnData .h5ad file ({type(exc).__name__}: {exc})") from exc


def pseudobulk(adata, *, individual: str, cell_type: str, layer: str | None = None, agg: str = "sum",
               min_cells: int = 10, normalise: str = "cpm", source="AnnData") -> dict:
    """Pseudobulk expression per individual and cell type (module docstring).

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes; ``obs`` holds ``individual`` and ``cell_type``; ``var_names`` the genes.
    individual, cell_type : str
        ``obs`` columns naming each cell's individual and cell type.
    layer : str, optional
        A layer of counts ["X"; ``"raw"`` = ``adata.raw.X``].
    agg : {'sum', 'mean'}
        Sum or mean of the values over the group's cells.
    min_cells : int
        Smallest number of cells an (individual, cell type) group needs to be kept.
    normalise : {'cpm', 'log1p_cpm', 'none'}
        Per pseudobulk sample (module docstring).
    source : str or Path
        Named in error messages (the file).

    Returns
    -------
    dict
        Cell type -> pandas.DataFrame genes x individuals (float64); ``"_cells"``: a frame of
        (individual, cell_type, n_cells, kept) for every group seen.

    Raises
    ------
    InputError
        A missing ``obs`` column or layer, a missing individual/cell-type label, negative or non-finite
        values, an unknown ``agg`` or ``normalise``, or no group with ``min_cells`` cells.
    """
    if agg not in ("sum", "mean"):
        raise InputError(source, "agg 'sum' or 'mean'", column="agg", value=agg)
    if normalise not in NORMALISATIONS:
        raise InputError(source, f"normalise one of {NORMALISATIONS}", column="normalise", value=normalise)
    for col in (individual, cell_type):
        if col not in adata.obs.columns:
            raise InputError(source, f"an obs column '{col}'", column=col, value=list(adata.obs.columns)[:10])
    x = _matrix(adata, layer, source)
    ind = adata.obs[individual].astype(object).to_numpy()
    ct = adata.obs[cell_type].astype(object).to_numpy()
    miss = pd.isna(ind) | pd.isna(ct)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise InputError(source, "an individual and a cell type for every cell", row=i + 1,
                         column=individual if pd.isna(ind[i]) else cell_type, value=str(adata.obs_names[i]))
    groups = pd.MultiIndex.from_arrays([ind.astype(str), ct.astype(str)])
    code, uniq = pd.factorize(groups)
    sums, n_cells = _group_sums(x, code, len(uniq))
    if agg == "mean":
        sums = sums / n_cells[:, None]
    keep = n_cells >= min_cells
    cells = pd.DataFrame({"individual": uniq.get_level_values(0), "cell_type": uniq.get_level_values(1),
                          "n_cells": n_cells.astype(np.int64), "kept": keep})
    if not keep.any():
        raise InputError(source, f"an (individual, cell type) group with at least min_cells={min_cells} cells",
                         value=int(n_cells.max()))
    if (~keep).any():
        log.info("pseudobulk: %d of %d (individual, cell type) groups have < %d cells; dropped",
                 int((~keep).sum()), len(keep), min_cells)
    vals = _normalised(sums, normalise)
    genes = pd.Index(np.asarray(adata.var_names).astype(str), name="gene")
    out = {}
    for c in pd.unique(cells["cell_type"][keep]):       # loop over cell types (tens)
        rows = np.flatnonzero(keep & (cells["cell_type"].to_numpy() == c))
        out[c] = pd.DataFrame(vals[rows].T, index=genes, columns=cells["individual"].to_numpy()[rows])
    out["_cells"] = cells
    return out


def _matrix(adata, layer, source):
    """The cells x genes values (sparse CSR or dense float), checked non-negative and finite."""
    import scipy.sparse as sp
    if layer in (None, "X"):
        x = adata.X
    elif layer == "raw":
        if adata.raw is None:
            raise InputError(source, "a raw matrix (adata.raw) for layer 'raw'", column="layer")
        x = adata.raw.X
    else:
        if layer not in adata.layers:
            raise InputError(source, f"a layer '{layer}'", column="layer", value=list(adata.layers.keys()))
        x = adata.layers[layer]
    if x is None:
        raise InputError(source, "an expression matrix in X", column="X")
    x = sp.csr_matrix(x, dtype=np.float64) if sp.issparse(x) else np.asarray(x, dtype=np.float64)
    data = x.data if sp.issparse(x) else x
    if not np.isfinite(data).all():
        raise InputError(source, "finite expression values", column=layer or "X", value="NaN/inf")
    if (data < 0).any():
        raise InputError(source, "non-negative counts (pseudobulk sums counts; give the raw layer)",
                         column=layer or "X", value=float(data.min()))
    return x


def _group_sums(x, code: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(sums [groups, genes], cells per group): indicator [groups, cells] @ x, one sparse product."""
    import scipy.sparse as sp
    ind = sp.csr_matrix((np.ones(len(code)), (code, np.arange(len(code)))), shape=(n_groups, len(code)))
    sums = ind @ x
    sums = sums.toarray() if sp.issparse(sums) else np.asarray(sums)
    return sums, np.bincount(code, minlength=n_groups).astype(float)


def _normalised(s: np.ndarray, how: str) -> np.ndarray:
    if how == "none":
        return s
    tot = s.sum(axis=1, keepdims=True)
    cpm = np.divide(s * 1e6, tot, out=np.zeros_like(s), where=tot > 0)
    return np.log1p(cpm) if how == "log1p_cpm" else cpm


def percentile_rank(values) -> np.ndarray:
    """Percentile ranks ``rank / n`` with ties at their average rank (pandas ``rank(method='average',
    pct=True)``), the scale of scPrediXcan's ctPred targets.

    Parameters
    ----------
    values : array-like
        One value per gene (finite).

    Returns
    -------
    numpy.ndarray
        In (0, 1]; the largest value has 1.

    References
    ----------
    Zhou Y et al. (2025) Cell Genomics 5:100875; hakyimlab/scPrediXcan ``data_prep.py``.
    """
    v = np.asarray(values, dtype=float)
    return rankdata(v, method="average") / len(v) if len(v) else v


def ctpred_targets(expression: pd.DataFrame, genes=None) -> pd.Series:
    """One cell type's ctPred training targets: percentile ranks of the mean expression over individuals.

    Parameters
    ----------
    expression : pandas.DataFrame
        Genes x individuals (a :func:`pseudobulk` cell type, or a bulk table).
    genes : array-like, optional
        The genes to rank (those with sequence features); genes absent from ``expression`` count as 0,
        as scPrediXcan fills genes undetected in the single-cell data [``expression``'s genes].

    Returns
    -------
    pandas.Series
        ``mean_expression`` percentile rank per gene (index ``genes``).

    References
    ----------
    hakyimlab/scPrediXcan ``Scripts/ctPred/data_prep.py`` (merge on gene, ``fillna(0)``, mean over
    individual columns, ``rank(method='average', pct=True)``).
    """
    mean = expression.mean(axis=1)
    if genes is not None:
        mean = mean[~mean.index.duplicated()].reindex(pd.Index(np.asarray(genes).astype(str))).fillna(0.0)
    return pd.Series(percentile_rank(mean.to_numpy()), index=mean.index, name="mean_expression")
