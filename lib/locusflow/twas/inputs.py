"""What a TWAS work unit reads: its weights, GWAS rows and panel LD (the kernels get arrays and frames).

- store path (:func:`locusflow.twas.tasks.twas_block`): :func:`unit_weights` and :class:`PanelSource`
  (the genotype store opened once per unit, dosages read per block);
- covariance path (:func:`locusflow.twas.tasks.twas_covariance`): the GWAS read in two overlapping
  Arrow reads (:func:`read_pool`), filtered to the rows that can match (:func:`candidate_rows`) and
  coded on the weights' rsid dictionary (:func:`gwas_frame`);
- direct mode: :func:`read_gwas_text` reads the text file MetaXcan's ``SPrediXcan.py`` reads
  (``--snp_column``, ``--effect_allele_column``, ...): Arrow's CSV reader, one thread; rsids stay
  Arrow strings and alleles dictionary-encoded, z and beta float64.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import pandas as pd

from .. import storage
from ..errors import InputError
from ..io.dataset import read_dataset
from ..io.fastread import arrow_frame, categorical_from_codes, maybe_gunzip
from ..io.matching import match_variants
from .covariance import COV_COLUMNS
from .panel import PanelLD


def read_gwas_text(path, *, snp: str = "SNP", effect_allele: str = "A1", non_effect_allele: str = "A2",
                   zscore: str = "ZSCORE", beta: str | None = "BETA", delimiter: str = "\t") -> pd.DataFrame:
    """A GWAS text table (gz allowed) as the columns S-PrediXcan reads, as MetaXcan's ``SPrediXcan.py``.

    Parameters
    ----------
    path : str or path
        Delimited text file.
    snp, effect_allele, non_effect_allele, zscore : str
        Column names (``--snp_column``, ``--effect_allele_column``, ...).
    beta : str or None
        Beta column, or None.
    delimiter : str
        Field delimiter.

    Returns
    -------
    pandas.DataFrame
        rsid, alt (the effect allele), ref, z[, beta]; alleles upper-case categoricals.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv
    path = storage.local_file(path)
    if not path.is_file():
        raise InputError(path, "a GWAS text file; not found")
    dic = pa.dictionary(pa.int32(), pa.string())
    cols = {snp: "rsid", effect_allele: "alt", non_effect_allele: "ref", zscore: "z", **({beta: "beta"} if beta else {})}
    try:
        t = pcsv.read_csv(maybe_gunzip(path), read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 22),
                          parse_options=pcsv.ParseOptions(delimiter=delimiter),
                          convert_options=pcsv.ConvertOptions(
                              include_columns=list(cols), column_types={
                                  snp: pa.string(), effect_allele: dic, non_effect_allele: dic,
                                  zscore: pa.float64(), **({beta: pa.float64()} if beta else {})}))
    except (pa.ArrowInvalid, pa.ArrowKeyError, KeyError) as exc:
        raise InputError(path, f"a {delimiter!r}-delimited table with columns {list(cols)} ({exc})") from None
    d = arrow_frame(t)
    d.columns = [cols[c] for c in t.column_names]
    for c in ("alt", "ref"):   # alleles compared upper-case
        d[c] = d[c].cat.rename_categories(d[c].cat.categories.astype(str).str.upper()) \
            if d[c].cat.categories.astype(str).str.upper().is_unique else d[c].astype(str).str.upper()
    return d


W_READ = ("model_id", "gene", "gene_name", "tissue", "method", "panel", "chrom", "pos", "rsid", "effect_allele",
          "other_allele", "weight", "cv_r2", "cv_pval", "cv_qval", "n_snps_in_model", "weight_row") + COV_COLUMNS
W_DICT = ("model_id", "gene", "gene_name", "tissue", "method", "panel", "rsid", "effect_allele", "other_allele")
G_READ = ("rsid", "chrom", "pos", "ref", "alt", "z", "beta")


def unit_weights(weights_path, unit) -> pd.DataFrame:
    """The weight rows of a store-path unit's models: placed on its chromosome in [lo, hi], then the unplaced.

    Parameters
    ----------
    weights_path : str or path
        The ``weights`` dataset.
    unit : dict
        A unit of :func:`locusflow.twas.tasks.twas_units` (chrom, lo, hi, blocks).

    Returns
    -------
    pandas.DataFrame
        Schema weights rows.
    """
    ids = [m for blk in unit["blocks"] for m in blk[3]]
    w = read_dataset(weights_path, "weights", filters=[("chrom", "==", unit["chrom"]), ("pos", ">=", unit["lo"]),
                                                         ("pos", "<=", unit["hi"]), ("model_id", "in", ids)])
    if storage.exists(storage.join(weights_path, "chrom=NA")):
        unplaced = read_dataset(weights_path, "weights", filters=[("chrom", "==", "NA"), ("model_id", "in", ids)])
        if len(unplaced):
            w = pd.concat([w, unplaced], ignore_index=True)
    return w


_POOL = None


def read_pool() -> ThreadPoolExecutor:
    """Two threads for overlapping reads (started once per process: ~4 ms per thread start here).

    Returns
    -------
    concurrent.futures.ThreadPoolExecutor
    """
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(2, thread_name_prefix="locusflow-read")
    return _POOL


def candidate_rows(keys, w):
    """The GWAS rows that can match a weight of ``w``, by rsid or position: a superset of those that match
    (:func:`locusflow.io.matching.match_variants` decides). Filtering in Arrow keeps the 10^5-10^6-row
    GWAS out of pandas; file order is kept.

    Parameters
    ----------
    keys : pyarrow.Table
        The GWAS rsid and pos columns.
    w : pyarrow.Table
        The weights (rsid holding one dictionary: ``unify_dictionaries``; pos).

    Returns
    -------
    (pyarrow.Table, pyarrow.BooleanArray or None, pyarrow.Array or None)
        ``keys``, the mask of rows to keep, and per row the index of its rsid in the weights' rsid
        dictionary (null: none).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    keep = code = None
    rs = w.column("rsid")
    if rs.num_chunks and rs.null_count < len(rs):
        vals = rs.chunk(0).dictionary if pa.types.is_dictionary(rs.type) else pc.unique(rs.drop_null())
        code = pc.index_in(keys.column("rsid"), value_set=vals)
        keep = pc.is_valid(code)
    pos = w.column("pos").drop_null()
    if len(pos):
        at = pc.is_in(keys.column("pos"), value_set=pc.unique(pos))
        keep = at if keep is None else pc.or_(keep, at)
    return keys, keep, code


def gwas_frame(keys, vals, keep, code, rsid_categories) -> pd.DataFrame:
    """The GWAS rows where ``keep`` in file order, as a frame of :data:`G_READ`.

    Parameters
    ----------
    keys, vals : pyarrow.Table
        The GWAS key columns (rsid, pos) and the others.
    keep : pyarrow.BooleanArray or None
        Rows to keep (None: none).
    code : pyarrow.Array or None
        Per row, the index of its rsid among ``rsid_categories``.
    rsid_categories : pandas.Index or None
        The weights' own rsid categories object: rsid is coded on it, so matching compares codes.

    Returns
    -------
    pandas.DataFrame
    """
    import pyarrow as pa
    t = pa.Table.from_arrays(keys.columns + vals.columns, names=keys.column_names + vals.column_names)
    if keep is None:
        t, code = t.slice(0, 0), None
    else:
        t = t.filter(keep)
        code = code.filter(keep) if code is not None else None
    g = arrow_to_frame(t.select([c for c in G_READ if c != "rsid"]))
    if code is not None and rsid_categories is not None:
        codes = code.to_numpy(zero_copy_only=False)
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else codes
        g.insert(0, "rsid", categorical_from_codes(codes, rsid_categories))
    else:
        g.insert(0, "rsid", arrow_to_frame(t.select(["rsid"]))["rsid"])
    return g


def arrow_to_frame(t):
    """pandas frame of an Arrow table: dictionary columns become categoricals, the partition key ``chrom``
    dictionary-encoded first (no string made per row).

    Parameters
    ----------
    t : pyarrow.Table

    Returns
    -------
    pandas.DataFrame
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    if "chrom" in t.column_names and not pa.types.is_dictionary(t.schema.field("chrom").type):
        t = t.set_column(t.column_names.index("chrom"), "chrom", pc.dictionary_encode(t.column("chrom")))
    return arrow_frame(t)


class PanelSource:
    """The genotype store opened once per unit: the chromosome's variants, matched once to the unit's
    weight rows; :meth:`panel` reads the dosages of one block's SNPs.

    Parameters
    ----------
    store_path : str or path
        Genotype store (VCF Zarr with ``variants.parquet``).
    chrom : str
        The unit's chromosome.
    w : pandas.DataFrame
        The unit's weight rows.
    """

    def __init__(self, store_path, chrom, w):
        from ..io.genotypes import GenotypeStore
        self.store = GenotypeStore(store_path)
        v = read_dataset(storage.join(store_path, "variants.parquet"), "variants", filters=[("chrom", "==", str(chrom))])
        self.v = v.sort_values("store_index").reset_index(drop=True)
        self.idx = match_variants(w, self.v)[0]

    def n_snps(self, rows) -> int:
        """Number of distinct store variants the weight rows ``rows`` use.

        Parameters
        ----------
        rows : numpy.ndarray of int
            Positions in the unit's weight rows.

        Returns
        -------
        int
            The size of the block's panel (:meth:`panel`).
        """
        used = self.idx[rows]
        return len(np.unique(used[used >= 0]))

    def union(self, blocks_rows) -> PanelLD:
        """Block-diagonal panel over the SNPs of several blocks: each block's covariance as
        :meth:`panel` computes it, placed at its SNPs (pairs of SNPs of different blocks: 0, never read).

        Parameters
        ----------
        blocks_rows : list of numpy.ndarray
            The weight rows of each block.

        Returns
        -------
        PanelLD
            Covariance only (S-PrediXcan).
        """
        idx = self.idx[np.concatenate(blocks_rows)]
        keep = np.unique(idx[idx >= 0])
        sub = self.v.iloc[keep].reset_index(drop=True)
        dos = self.store.dosages(index=sub["store_index"].to_numpy())      # one read for all the blocks
        cov = np.zeros((len(keep), len(keep)))
        for r in blocks_rows:                           # loop over blocks
            i = self.idx[r]
            at = np.searchsorted(keep, np.unique(i[i >= 0]))
            cov[np.ix_(at, at)] = PanelLD.from_dosages(sub.iloc[at], dos[at]).cov
        return PanelLD(sub[["chrom", "pos", "rsid", "ref", "alt"]], cov, None)

    def panel(self, rows) -> PanelLD:
        """Panel LD over the store variants that the weight rows ``rows`` use (one dosage read).

        Parameters
        ----------
        rows : numpy.ndarray of int
            The block's weight rows.

        Returns
        -------
        PanelLD
            Covariance and correlation of alt dosages (:meth:`PanelLD.from_dosages`).
        """
        idx = self.idx[rows]
        sub = self.v.iloc[np.unique(idx[idx >= 0])].reset_index(drop=True)
        dos = self.store.dosages(index=sub["store_index"].to_numpy())
        return PanelLD.from_dosages(sub[["chrom", "pos", "rsid", "ref", "alt"]], dos)
