"""Expression-prediction weight databases into one ``weights`` dataset (schemas/weights.yaml).

Readers (each returns a frame conforming to schema ``weights``):

- :func:`read_predictdb` -- PredictDB SQLite (Gamazon et al. 2015; Barbeira et al. 2018,
  hakyimlab/MetaXcan ``PredictionModel.py``): table ``weights`` (rsid, gene, weight, ref_allele,
  eff_allele[, varID]) and table ``extra`` (gene, genename, pred.perf.R2, n.snps.in.model,
  pred.perf.pval[, pred.perf.qval]). Weights are per copy of ``eff_allele``.
- :func:`read_covariance` -- the PredictDB/MetaXcan SNP covariance file (``GENE RSID1 RSID2 VALUE``,
  whitespace separated, optionally gzipped; one triangle per gene, ``NA`` values skipped).
- :func:`read_fusion` -- FUSION ``.pos`` list (PANEL, WGT, ID, CHR, P0, P1) and its ``.wgt.RDat`` files
  (Gusev et al. 2016, gusevlab/fusion_twas), read with the ``rdata`` package (no R): ``wgt.matrix``
  (SNPs x models: top1/blup/lasso/enet/bslmm), ``snps`` (chr, id, cm, pos, a1, a2),
  ``cv.performance`` (rsq, pval per model), ``hsq``. FUSION weights act on standardised genotypes
  (``weight_scale='sd'``); the effect allele is the ``.bim`` A1 column (``snps`` V5).
- FOCUS databases (``focus import`` SQLite): :func:`locusflow.io.focus_db.read_focus_db`.

:func:`combine_models` joins several imports: a model (same gene, tissue, method, panel = same
``model_id``) imported twice with identical rows is kept once with a warning; with different rows it
is an :class:`InputError`. Nothing is ever silently multiplied.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..logs import get_logger
from ..errors import InputError
from ..schema import load
from .dataset import file_checksum, write_dataset
from .sqlite import open_database
from .fastread import arrow_frame, maybe_gunzip

log = get_logger("weights")
_ACGT = set("ACGT")


def model_id(gene, tissue, method, panel) -> pd.Series:
    """gene@tissue@method@panel, built once per distinct combination (then gathered per row).

    Parameters
    ----------
    gene : array-like
        Gene of each weight row.
    tissue, method, panel : array-like or scalar
        Per row, or one value for every row (a length-1 value is broadcast).

    Returns
    -------
    pandas.Series of object
        ``gene@tissue@method@panel`` per row (values converted with ``str``), 0..n-1 index.
    """
    parts = [pd.Series(x, dtype=object).astype(str).to_numpy() for x in (gene, tissue, method, panel)]
    n = len(parts[0])
    if all(len(p) == 1 for p in parts[1:]):          # one tissue/method/panel (a database): genes only
        codes, uniq = pd.factorize(parts[0])
        uniq = [(u, *(p[0] for p in parts[1:])) for u in uniq]
    else:
        parts = [np.broadcast_to(p, n) if len(p) == 1 else p for p in parts]
        codes, uniq = pd.factorize(pd.MultiIndex.from_arrays(parts)) if n else (np.zeros(0, int), [])
    ids = np.array(["@".join(u) for u in uniq] + [""], dtype=object)   # one string per model, not per row
    return pd.Series(ids[codes], dtype=object)


def _upper(a) -> np.ndarray:
    """Upper-cased strings, computed once per distinct value."""
    codes, uniq = pd.factorize(pd.Series(a, dtype=object))
    return np.append(np.asarray(pd.Index(uniq).astype(str).str.upper(), dtype=object), None)[codes]


def read_predictdb(db, *, tissue: str | None = None, method: str = "enet", panel: str = "predictdb",
                   locate: pd.DataFrame | None = None) -> pd.DataFrame:
    """PredictDB SQLite models of one tissue as schema ``weights``.

    ``tissue`` defaults to the file stem (``TW_Liver_0.5``). ``locate`` (rsid, chrom, pos), e.g. the
    panel's variants or the GWAS, places rsid-only SNPs; a ``varID`` column (``chr1_123_A_G_b38``)
    places them when the database has one. Unplaced SNPs get chrom ``'NA'``.

    Weights are per copy of ``eff_allele`` (``weight_scale='allele'``); alleles are upper-cased; the
    ``extra`` table gives gene_name, cv_r2, cv_pval, cv_qval and n_snps_in_model (counted from the
    weights when absent).

    Parameters
    ----------
    db : str or pathlib.Path
        PredictDB SQLite file with tables ``weights`` and ``extra``.
    tissue : str, optional
        Tissue name; default the file stem.
    method : str
        Model method recorded on the rows (PredictDB: elastic net).
    panel : str
        Panel name, part of ``model_id``.
    locate : pandas.DataFrame, optional
        rsid, chrom, pos to place SNPs the database does not locate (:func:`place`).

    Returns
    -------
    pandas.DataFrame
        Rows conforming to schema ``weights`` (source ``predictdb``), one per SNP and gene.

    Raises
    ------
    InputError
        When the file is missing or not SQLite, lacks table ``weights`` or ``extra``, the ``weights``
        table lacks a required column, a row lacks a numeric weight / allele / rsid, or a SNP appears
        twice in one model.

    References
    ----------
    Gamazon ER et al. (2015) Nat Genet 47:1091 (PrediXcan); Barbeira AN et al. (2018) Nat Commun 9:1825
    (S-PrediXcan); hakyimlab/MetaXcan ``PredictionModel.py``.
    """
    name = storage.as_path(db)
    db = storage.local_file(db)         # SQLite needs a file: a URI is read from a cached copy
    con = open_database(db, "a PredictDB model database", ("weights", "extra"))
    w = pd.read_sql_query("select * from weights", con)
    ex = pd.read_sql_query("select * from extra", con)
    con.close()
    for c in ("rsid", "gene", "weight", "ref_allele", "eff_allele"):
        if c not in w.columns:
            raise InputError(db, f"table 'weights' with column '{c}' (has {list(w.columns)})", column=c)
    wt = pd.to_numeric(w["weight"], errors="coerce")
    bad = wt.isna() | w["eff_allele"].isna() | w["ref_allele"].isna() | w["rsid"].isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        col = next(c for c in ("weight", "eff_allele", "ref_allele", "rsid") if pd.isna(
            wt.iloc[i] if c == "weight" else w[c].iloc[i]))
        raise InputError(f"{db} table weights", "a number / allele / rsid in every row", row=i + 1,
                         column=col, value=w[col].iloc[i])
    ex = ex.rename(columns={"genename": "gene_name", "pred.perf.R2": "cv_r2", "pred.perf.pval": "cv_pval",
                            "pred.perf.qval": "cv_qval", "n.snps.in.model": "n_snps_in_model"})
    keep = [c for c in ("gene", "gene_name", "cv_r2", "cv_pval", "cv_qval", "n_snps_in_model") if c in ex]
    tissue = tissue or name.stem
    out = pd.DataFrame({"gene": w["gene"].astype(str), "rsid": w["rsid"].astype(str),
                        "effect_allele": _upper(w["eff_allele"]), "other_allele": _upper(w["ref_allele"]),
                        "weight": wt.astype(float)})
    out["chrom"], out["pos"] = "NA", pd.arrays.IntegerArray(np.zeros(len(out), np.int64), np.ones(len(out), bool))
    if "varID" in w.columns:
        parts = w["varID"].astype(str).str.replace("^chr", "", regex=True).str.split("_", expand=True)
        if parts.shape[1] >= 2:
            out["chrom"] = parts[0].values
            out["pos"] = pd.to_numeric(parts[1], errors="coerce").astype("Int64").values
    out = out.merge(ex[keep], on="gene", how="left")
    if "n_snps_in_model" not in out or out["n_snps_in_model"].isna().any():
        out["n_snps_in_model"] = out.groupby("gene")["weight"].transform("size")
    out["tissue"], out["method"], out["panel"], out["source"] = tissue, method, panel, "predictdb"
    out["weight_scale"], out["source_file"] = "allele", storage.redact(name)
    out["model_id"] = model_id(out["gene"], tissue, method, panel).values
    if locate is not None:
        out = place(out, locate)
    return _finish(out, db)


def place(w: pd.DataFrame, locate: pd.DataFrame) -> pd.DataFrame:
    """Fill chrom/pos of rsid-only weights from ``locate`` (rsid, chrom, pos; first hit per rsid).

    Only rows whose chrom is ``'NA'`` and whose rsid is in ``locate`` change.

    Parameters
    ----------
    w : pandas.DataFrame
        Weights with rsid, chrom, pos.
    locate : pandas.DataFrame
        Variant positions: rsid, chrom, pos (rows without an rsid ignored).

    Returns
    -------
    pandas.DataFrame
        A copy of ``w`` with those rows placed; ``pos`` as nullable Int64.
    """
    na = (w["chrom"].astype(str) == "NA").to_numpy()
    w = w.copy()
    w["pos"] = w["pos"].astype("Int64")
    if na.any():                # else every SNP is placed by the database: ``locate`` is not looked at (nor loaded)
        loc = locate if isinstance(locate, Locator) else Locator(locate)
        rows = np.flatnonzero(na)
        chrom, pos, found = loc.find(w["rsid"].to_numpy()[rows])
        need = rows[found]
        w.loc[need, "chrom"] = pd.Series(chrom[found], dtype=object).astype(str).to_numpy()
        w.loc[need, "pos"] = pd.array(pos[found], dtype="Int64")
    return w


class Locator:
    """rsid -> (chrom, pos) of a variant table, first row per rsid, for many :func:`place` calls (the
    table is loaded once, not for each weights database).

    Each :meth:`find` looks up only the rsids it is given: the table's rsid column is matched against
    them in Arrow (a hash of the few weight SNPs, one pass over the table), and only the rows found become
    pandas; a genome's million rsids are never hashed into a Python index.

    Parameters
    ----------
    locate : pandas.DataFrame, pyarrow.Table or callable
        rsid, chrom, pos (rows without an rsid ignored); or a function returning such a table, called the
        first time a row needs placing (a genotype store's variants are not loaded for databases that
        place every SNP themselves).
    """

    def __init__(self, locate):
        self._src, self._table = locate, None

    def _loaded(self):
        if self._table is None:
            import pyarrow as pa
            src = self._src() if callable(self._src) else self._src
            if not isinstance(src, pa.Table):
                src = pa.Table.from_pandas(pd.DataFrame({c: src[c] for c in ("rsid", "chrom", "pos")}),
                                           preserve_index=False)
            self._table, self._src = src.select(["rsid", "chrom", "pos"]), None
        return self._table

    def find(self, rsids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """chrom, pos and a found mask for each of ``rsids`` (the first row of the table with that rsid).

        Parameters
        ----------
        rsids : array-like of str

        Returns
        -------
        tuple of numpy.ndarray
            chrom (object), pos (int64; 0 where not found), found (bool), each of len(rsids).
        """
        import pyarrow as pa
        import pyarrow.compute as pc
        table = self._loaded()
        want = pd.unique(pd.Series(rsids, dtype=object).dropna().astype(str))
        n = len(rsids)
        if not len(want) or not table.num_rows:
            return np.full(n, None, dtype=object), np.zeros(n, np.int64), np.zeros(n, bool)
        rs = table.column("rsid")
        if not pa.types.is_string(rs.type) and not pa.types.is_large_string(rs.type):
            rs = pc.cast(rs, pa.string())
        hit = table.filter(pc.is_in(rs, value_set=pa.array(want, pa.string())))      # in table order
        df = hit.to_pandas().drop_duplicates("rsid")                                  # first row per rsid
        at = pd.Index(df["rsid"].astype(str).to_numpy()).get_indexer(pd.Series(rsids, dtype=object).astype(str))
        found = at >= 0
        chrom = np.full(n, None, dtype=object)
        chrom[found] = df["chrom"].astype(str).to_numpy()[at[found]]
        pos = np.zeros(n, np.int64)
        pos[found] = df["pos"].to_numpy(dtype=np.int64, na_value=0)[at[found]]
        return chrom, pos, found


def read_covariance(path, tissue: str | None = None) -> pd.DataFrame:
    """A MetaXcan covariance file as (gene, rsid1, rsid2, value) float64; ``NA`` values dropped.

    gene/rsid1/rsid2 come back as pandas categoricals (Arrow dictionary-encoded, one-threaded read inside a task).
    A file the fast reader rejects is re-read line-aware, so bad rows raise :class:`InputError`
    naming the file, the 1-based data row and the column. ``tissue`` adds that column.

    Parameters
    ----------
    path : str or pathlib.Path
        Space-separated ``GENE RSID1 RSID2 VALUE`` file, plain or gzip.
    tissue : str, optional
        Tissue of the model database the file belongs to, added as a categorical ``tissue`` column.

    Returns
    -------
    pandas.DataFrame
        Columns gene, rsid1, rsid2 (categoricals from the fast reader, strings from the checked one),
        value (float64) and, with ``tissue``, tissue.

    Raises
    ------
    InputError
        When the file is missing, its header is not ``GENE RSID1 RSID2 VALUE``, a row has the wrong
        number of fields, or a value is neither a number nor NA.

    References
    ----------
    Gamazon ER et al. (2015) Nat Genet 47:1091 (PrediXcan); Barbeira AN et al. (2018) Nat Commun 9:1825
    (S-PrediXcan); hakyimlab/MetaXcan ``PredictionModel.py``.
    """
    path = storage.local_file(path)
    if not path.is_file():
        raise InputError(path, "a covariance file (GENE RSID1 RSID2 VALUE); not found")
    d = _read_covariance_arrow(path)
    if d is None:
        d = _read_covariance_checked(path)
    if tissue is not None:   # the tissue of the model database the file belongs to (categorical, no copy per row)
        d["tissue"] = pd.Categorical.from_codes(np.zeros(len(d), np.int8), [str(tissue)])
    return d


def _read_covariance_arrow(path: Path) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    dic = pa.dictionary(pa.int32(), pa.string())
    try:   # one thread (DESIGN: parallelism comes from the engines); strings stay dictionary-encoded
        t = pcsv.read_csv(maybe_gunzip(path), read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 22),
                          parse_options=pcsv.ParseOptions(delimiter=" "),
                          convert_options=pcsv.ConvertOptions(
                              column_types={"GENE": dic, "RSID1": dic, "RSID2": dic, "VALUE": pa.float64()},
                              null_values=["NA"], strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if t.column_names != ["GENE", "RSID1", "RSID2", "VALUE"] or any(t.column(c).null_count for c in t.column_names[:3]):
        return None
    keep = np.flatnonzero(~np.isnan(t.column("VALUE").to_numpy()))
    if len(keep) < t.num_rows:
        t = t.take(keep)
    d = arrow_frame(t)
    d.columns = ["gene", "rsid1", "rsid2", "value"]
    return d


def _read_covariance_checked(path: Path) -> pd.DataFrame:
    try:
        d = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False, engine="c")
    except pd.errors.ParserError as exc:
        import re
        m = re.search(r"line (\d+)", str(exc))
        raise InputError(path, f"4 whitespace-separated fields per row ({exc})",
                         row=int(m.group(1)) - 1 if m else None) from None
    want = ["GENE", "RSID1", "RSID2", "VALUE"]
    if list(d.columns[:4]) != want or d.shape[1] != 4:
        raise InputError(path, f"header {' '.join(want)}", row=0, value=" ".join(map(str, d.columns)))
    empty = (d == "").to_numpy()
    if empty.any():
        r, c = np.argwhere(empty)[0]
        raise InputError(path, "4 fields per row", row=int(r) + 1, column=want[c], value="")
    na = d["VALUE"].isin(["NA", "nan", "NaN"])
    v = pd.to_numeric(d["VALUE"].where(~na), errors="coerce")
    bad = v.isna() & ~na
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, "a number or NA", row=i + 1, column="VALUE", value=d["VALUE"].iloc[i])
    out = pd.DataFrame({"gene": d["GENE"], "rsid1": d["RSID1"], "rsid2": d["RSID2"], "value": v})
    return out[~na.to_numpy()].reset_index(drop=True)


def _rvalue(x):
    """numpy values and (row names, column names) of an rdata-converted R matrix/vector."""
    if hasattr(x, "dims") and hasattr(x, "coords"):
        names = [np.asarray(x.coords[d].values).astype(str) if d in x.coords else None for d in x.dims]
        return np.asarray(x.values), names
    return np.asarray(x), [None] * np.ndim(x)


def read_fusion_wgt(path) -> dict:
    """One FUSION ``.wgt.RDat``: wgt (SNPs x models), models, snps frame, cv (rsq/pval per model), hsq.

    Read with the ``rdata`` package (no R). Missing weights become 0.

    Parameters
    ----------
    path : str or pathlib.Path
        FUSION ``.wgt.RDat`` file.

    Returns
    -------
    dict
        ``wgt`` (float ndarray, SNPs x models), ``models`` (list of str; ``model<i>`` when unnamed),
        ``snps`` (frame: chr, id, cm, pos, a1, a2 as in a .bim), ``cv`` (dict: ``rsq``/``pval`` ->
        {model: value}), ``hsq`` (float, NaN when absent).

    Raises
    ------
    InputError
        When the file cannot be read as RData, lacks ``wgt.matrix``, ``snps`` or ``cv.performance``,
        or ``wgt.matrix`` does not have one row per SNP.

    References
    ----------
    Gusev A et al. (2016) Nat Genet 48:245 (FUSION, gusevlab/fusion_twas).
    """
    import rdata
    path = storage.local_file(path)
    try:
        r = rdata.read_rda(str(path))
    except Exception as exc:  # rdata raises many types on a bad file
        raise InputError(path, f"an R .RData file with FUSION weights ({type(exc).__name__}: {exc})") from None
    for k in ("wgt.matrix", "snps", "cv.performance"):
        if k not in r:
            raise InputError(path, f"FUSION object '{k}' in the RData file (has {sorted(r)})", column=k)
    wgt, (_, models) = _rvalue(r["wgt.matrix"])
    cv, (cvrows, cvmods) = _rvalue(r["cv.performance"])
    snps = r["snps"].reset_index(drop=True)
    if wgt.ndim != 2 or wgt.shape[0] != len(snps):
        raise InputError(path, f"wgt.matrix with one row per SNP ({len(snps)})", column="wgt.matrix",
                         value=wgt.shape)
    models = [str(x) for x in models] if models is not None else [f"model{i}" for i in range(wgt.shape[1])]
    cvrows = [str(x) for x in cvrows] if cvrows is not None else ["rsq", "pval"]
    cvd = {row: dict(zip([str(x) for x in cvmods] if cvmods is not None else models, cv[i])) for i, row in enumerate(cvrows)}
    hsq = float(np.asarray(r["hsq"]).ravel()[0]) if "hsq" in r else np.nan
    return {"wgt": np.nan_to_num(wgt.astype(float)), "models": models, "snps": snps, "cv": cvd, "hsq": hsq}


def read_fusion(pos_file, weights_dir=None, *, panel: str | None = None) -> pd.DataFrame:
    """Every model of every gene listed in a FUSION ``.pos`` file, as schema ``weights``.

    ``weights_dir`` defaults to the ``.pos`` file's folder; ``tissue`` = PANEL column (or the .pos stem).

    Weights act on standardised genotypes (``weight_scale='sd'``); the effect allele is the ``snps`` A1
    (V5). Zero weights are kept (FUSION imputes missing z from all the model's SNPs);
    ``n_snps_in_model`` counts the non-zero ones.

    Parameters
    ----------
    pos_file : str or pathlib.Path
        FUSION ``.pos`` file (columns WGT ID CHR P0 P1 [PANEL]).
    weights_dir : str or pathlib.Path, optional
        Folder the WGT paths are relative to.
    panel : str, optional
        Panel name (part of ``model_id``); default the tissue. Also the tissue when there is no PANEL
        column.

    Returns
    -------
    pandas.DataFrame
        Rows conforming to schema ``weights`` (source ``fusion``), one per SNP, gene and model
        (top1/blup/lasso/enet/bslmm), with cv_r2, cv_pval, h2 and tx_start/tx_stop from P0/P1.

    Raises
    ------
    InputError
        When the .pos file or a listed weight file is missing, a required column is absent, a weight
        file is unreadable (:func:`read_fusion_wgt`), or a SNP appears twice in one model.

    References
    ----------
    Gusev A et al. (2016) Nat Genet 48:245 (FUSION, gusevlab/fusion_twas).
    """
    where = storage.as_path(pos_file)
    pos_file = storage.local_file(pos_file)
    if not pos_file.is_file():
        raise InputError(pos_file, "a FUSION .pos file (WGT ID CHR P0 P1); not found")
    lst = pd.read_csv(pos_file, sep=r"\s+", dtype={"CHR": str})
    for c in ("WGT", "ID", "CHR", "P0", "P1"):
        if c not in lst.columns:
            raise InputError(pos_file, f"column '{c}' in the header", row=0, column=c)
    wdir = storage.as_path(weights_dir) if weights_dir else where.parent
    frames = []
    for row in lst.itertuples(index=False):  # one iteration per gene model file, not per SNP
        f = wdir / row.WGT
        if not f.is_file():
            raise InputError(pos_file, f"weight file {f} to exist", column="WGT", value=row.WGT)
        m = read_fusion_wgt(f)
        s = m["snps"]
        n, k = m["wgt"].shape
        tissue = str(getattr(row, "PANEL", None) or panel or pos_file.stem)
        gene = str(row.ID)
        df = pd.DataFrame({
            "gene": gene, "gene_name": gene, "tissue": tissue, "panel": panel or tissue,
            "method": np.repeat(m["models"], n), "source": "fusion",
            "chrom": np.tile(s.iloc[:, 0].astype(str).str.replace(r"\.0$", "", regex=True).str.replace("^chr", "", regex=True).values, k),
            "pos": np.tile(pd.to_numeric(s.iloc[:, 3]).astype("int64").values, k),
            "rsid": np.tile(s.iloc[:, 1].astype(str).values, k),
            "effect_allele": np.tile(s.iloc[:, 4].astype(str).str.upper().values, k),
            "other_allele": np.tile(s.iloc[:, 5].astype(str).str.upper().values, k),
            "weight": m["wgt"].T.ravel(), "weight_scale": "sd",
            "tx_start": int(row.P0), "tx_stop": int(row.P1), "h2": m["hsq"], "source_file": str(f)})
        df["cv_r2"] = df["method"].map(m["cv"].get("rsq", {})).astype(float)
        df["cv_pval"] = df["method"].map(m["cv"].get("pval", {})).astype(float)
        # zero weights are kept: FUSION imputes missing z from all the model's SNPs
        df["n_snps_in_model"] = df.groupby("method")["weight"].transform(lambda x: int((x != 0).sum()))
        frames.append(df)
    out = pd.concat(frames, ignore_index=True) if frames else load("weights").empty()
    out["model_id"] = model_id(out["gene"], out["tissue"], out["method"], out["panel"]).values
    return _finish(out, pos_file)


def _finish(df: pd.DataFrame, source) -> pd.DataFrame:
    sch = load("weights")
    absent = {c for c in sch.names if c not in df}
    n = len(df)
    for c in sch.columns:      # absent columns: typed all-null columns directly (no per-value conversion)
        if c.name in absent:
            df[c.name] = (np.full(n, np.nan) if c.type == "float64" else
                          pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool)) if c.type == "int64" and c.nullable
                          else np.full(n, None, dtype=object))
    dup = df.duplicated(["model_id", "rsid"], keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(source, "one weight per SNP and model", row=i + 1, column="rsid",
                         value=f"{df['model_id'].iloc[i]} {df['rsid'].iloc[i]}")
    out = {}
    for col in sch.columns:    # schema types without a per-value string pass (write_dataset validates fully)
        v = df[col.name]
        if not col.nullable and v.isna().any():
            i = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise InputError(source, f"a value in column '{col.name}'", row=i + 1, column=col.name)
        if col.name in absent and col.nullable:
            pass
        elif col.type == "float64":
            v = pd.to_numeric(v, errors="coerce").astype(float)
        elif col.type == "int64":
            v = pd.to_numeric(v, errors="coerce").astype("Int64" if v.isna().any() else "int64")
        else:
            v = v.astype(object)
        out[col.name] = v.to_numpy() if not isinstance(v.dtype, pd.Int64Dtype) else v.array
    return pd.DataFrame(out)


def combine_models(frames) -> pd.DataFrame:
    """Concatenate imports; a model imported twice is kept once (warning) or is an error if it differs.

    Two imports of one ``model_id`` are the same when their (model_id, rsid, effect_allele,
    other_allele, weight) rows are equal; empty frames are skipped.

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Schema ``weights`` frames (with ``source_file``).

    Returns
    -------
    pandas.DataFrame
        The rows of every frame, each model once; an empty ``weights`` frame when all are empty.

    Raises
    ------
    InputError
        When a model appears again with different weights (the file and models are named).
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return load("weights").empty()
    seen: dict[str, str] = {}
    keep = []
    for f in frames:
        ids = f["model_id"].unique()
        src = str(f["source_file"].iloc[0])
        again = [m for m in ids if m in seen]
        if again:
            prev = pd.concat(keep, ignore_index=True)
            a = prev[prev["model_id"].isin(again)].sort_values(["model_id", "rsid"])
            b = f[f["model_id"].isin(again)].sort_values(["model_id", "rsid"])
            cols = ["model_id", "rsid", "effect_allele", "other_allele", "weight"]
            same = len(a) == len(b) and (a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True)))
            if not same:
                raise InputError(f["source_file"].iloc[0], "each model (gene@tissue@method@panel) once; "
                                 f"{len(again)} model(s) also in {seen[again[0]]} with different weights",
                                 column="model_id", value=again[:3])
            log.warning("%d model(s) imported twice (%s and %s); kept once", len(again), seen[again[0]], src)
            f = f[~f["model_id"].isin(again)]
            ids = f["model_id"].unique()
        seen.update(dict.fromkeys(ids, src))
        keep.append(f)
    return pd.concat(keep, ignore_index=True)


def read_weights(sources, *, locate: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every source ({'predictdb': db, ...}, {'fusion': pos, 'weights_dir': ...} or {'focus': db}) as one
    schema ``weights`` frame, duplicated models checked, ``weight_row`` = 0..n-1.

    A source without any weight (a tissue whose PredictDB is empty) is skipped with a warning and listed
    in ``w.attrs['skipped_sources']``; when every source is empty it is an InputError.

    Rows of each model are made contiguous (order kept within a model), so shards are ``weight_row``
    ranges; the covariance dataset refers to rows by ``weight_row``.

    Parameters
    ----------
    sources : list of dict
        Config ``twas.weights`` entries: ``predictdb`` (with optional tissue, method, panel),
        ``fusion`` (with optional weights_dir, panel) or ``focus``.
    locate : pandas.DataFrame, callable or Locator, optional
        rsid, chrom, pos used to place PredictDB SNPs (:func:`place`); a callable returning them is called
        only when some SNP needs placing.

    Returns
    -------
    pandas.DataFrame
        Schema ``weights`` rows plus ``weight_row`` (int64); ``attrs['skipped_sources']`` lists the
        empty sources.

    Raises
    ------
    InputError
        When an entry names none of predictdb, fusion, focus, every source is empty, or a reader or
        :func:`combine_models` rejects its input.
    """
    frames = []
    for s in sources:
        if s.get("predictdb"):      # rsid-only SNPs placed below, once for every database
            frames.append(read_predictdb(s["predictdb"], tissue=s.get("tissue"), method=s.get("method", "enet"),
                                         panel=s.get("panel", "predictdb")))
        elif s.get("fusion"):
            frames.append(read_fusion(s["fusion"], s.get("weights_dir"), panel=s.get("panel")))
        elif s.get("focus"):
            from .focus_db import read_focus_db
            frames.append(read_focus_db(s["focus"]))
        else:
            raise InputError("config", "twas.weights entries with 'predictdb: DB', 'fusion: POS' or 'focus: DB'",
                             value=s)
    files = [str(s.get("predictdb") or s.get("fusion") or s.get("focus")) for s in sources]
    empty = [f for f, fr in zip(files, frames) if not len(fr)]
    for f in empty:         # e.g. GTEx v6p TW_Pituitary_0.5.db: 0 weights; the other tissues still run
        log.warning("weights: %s holds no model (0 weights); skipped", f)
    if frames and len(empty) == len(frames):
        raise InputError(files[0] if len(files) == 1 else "twas.weights",
                         "at least one weight in the weight sources; every one is empty", value=files)
    w = combine_models(frames)
    if locate is not None and len(w) and (w["chrom"] == "NA").any():
        w = place(w, locate)        # one lookup of every database's rsid-only SNPs
        if not w["pos"].isna().any():
            w["pos"] = w["pos"].astype("int64")
    w.attrs["skipped_sources"] = empty
    if len(w):      # each model's rows contiguous (order kept within a model): shards are weight_row ranges
        order = np.argsort(pd.factorize(w["model_id"])[0], kind="stable")
        w = w.iloc[order].reset_index(drop=True)
    w["weight_row"] = np.arange(len(w), dtype=np.int64)   # the covariance dataset refers to rows by it
    return w


def import_weights(sources, out, *, locate: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`read_weights`, written as the ``weights`` dataset at ``out`` (Parquet, by chrom).

    The dataset replaces any previous one; its manifest holds each source file's checksum.

    Parameters
    ----------
    sources : list of dict
        As for :func:`read_weights`.
    out : str or pathlib.Path
        Dataset directory.
    locate : pandas.DataFrame, optional
        As for :func:`read_weights`.

    Returns
    -------
    pandas.DataFrame
        The frame written (as :func:`read_weights` returns it).

    Raises
    ------
    InputError
        As :func:`read_weights`.
    """
    w = read_weights(sources, locate=locate)
    files = [s.get("predictdb") or s.get("fusion") or s.get("focus") for s in sources]
    write_dataset(w, out, "weights", mode="overwrite",
                  manifest={"inputs": {str(f): file_checksum(f) for f in files}})
    return w


def covariance_codes(cov: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    """Add the integer codes of schema snp_covariance to covariance rows (tissue, gene, rsid1, rsid2, value)
    against imported weights (with ``weight_row``): the weight rows of rsid1/rsid2 in the model of the
    row's tissue-gene (-1: not a weight of it), a weight row of that model (-1: no model), the first row
    of each (tissue, gene, rsid1), ``repeat_pair`` (its pair of weight rows came earlier). Once at import:
    S-PrediXcan then resolves no string per trait. Null (strings resolved) if a tissue-gene has several models.

    Parameters
    ----------
    cov : pandas.DataFrame
        Covariance rows: tissue, gene, rsid1, rsid2, value (strings or categoricals).
    w : pandas.DataFrame
        Imported weights (:func:`read_weights`) with tissue, gene, rsid, model_id, weight_row.

    Returns
    -------
    pandas.DataFrame
        A copy of ``cov`` with weight_row1, weight_row2, model_row (int32; nullable Int64, all null,
        when the codes cannot be built), first_rsid1 and repeat_pair (bool; nullable boolean then).

    References
    ----------
    Barbeira AN et al. (2018) Nat Commun 9:1825 (S-PrediXcan).
    """
    cov, n = cov.copy(), len(cov)
    tg = w["tissue"].astype(str) + "\t" + w["gene"].astype(str)
    if "weight_row" not in w or not len(w) or w["weight_row"].isna().any() or \
            (tg.groupby(w["model_id"].astype(str).to_numpy()).size().size != tg.nunique()):
        for c in ("weight_row1", "weight_row2", "model_row"):
            cov[c] = pd.array([pd.NA] * n, dtype="Int64")
        cov["first_rsid1"] = cov["repeat_pair"] = pd.array([pd.NA] * n, dtype="boolean")
        return cov
    wr = w["weight_row"].to_numpy(np.int64)
    # integer keys (tissue, gene, rsid) over shared vocabularies: categories are recoded, not rows
    t_w, t_c = _shared(w["tissue"], cov["tissue"])
    g_w, g_c = _shared(w["gene"], cov["gene"])
    r_w, r_c1, r_c2 = _shared(w["rsid"], cov["rsid1"], cov["rsid2"])
    G, R = int(max(g_w.max(initial=0), g_c.max(initial=0))) + 1, int(max(r_w.max(initial=0), r_c1.max(initial=0),
                                                                          r_c2.max(initial=0))) + 1
    tg_w, tg_c = t_w * G + g_w, np.where((t_c >= 0) & (g_c >= 0), t_c * G + g_c, -1)
    wkeys = pd.Index(tg_w * R + r_w)
    for c, r in (("weight_row1", r_c1), ("weight_row2", r_c2)):
        i = wkeys.get_indexer(np.where((tg_c >= 0) & (r >= 0), tg_c * R + r, -1))
        cov[c] = np.where(i >= 0, wr[np.clip(i, 0, None)], -1).astype(np.int32)
    first = ~pd.Index(tg_w).duplicated()
    i = pd.Index(tg_w[first]).get_indexer(tg_c)
    cov["model_row"] = np.where((i >= 0) & (tg_c >= 0), wr[first][np.clip(i, 0, None)], -1).astype(np.int32)
    cov["first_rsid1"] = ~pd.Index(np.where((tg_c >= 0) & (r_c1 >= 0), tg_c * R + r_c1, -1 - np.arange(n))).duplicated()
    a, b = cov["weight_row1"].to_numpy(np.int64), cov["weight_row2"].to_numpy(np.int64)
    key = np.minimum(a, b) * (int(wr.max()) + 1) + np.maximum(a, b)       # the unordered pair, seen before:
    cov["repeat_pair"] = (a >= 0) & (b >= 0) & pd.Series(key).duplicated().to_numpy()
    return cov


def _shared(*cols) -> list[np.ndarray]:
    """Integer codes of string columns on one vocabulary (-1: missing); categoricals are coded through
    their categories (no string hashed per row)."""
    parts = [c.astype(str).astype("category") if not isinstance(c.dtype, pd.CategoricalDtype) else c for c in cols]
    vocab = pd.Index(np.unique(np.concatenate([np.asarray(p.cat.categories.astype(str), dtype=object) for p in parts])))
    out = []
    for p in parts:
        m = vocab.get_indexer(p.cat.categories.astype(str))
        codes = p.cat.codes.to_numpy()
        out.append(np.where(codes >= 0, np.append(m, -1)[codes], -1).astype(np.int64))
    return out


def write_predictdb(weights: pd.DataFrame, extra: pd.DataFrame, path) -> Path:
    """Write a PredictDB SQLite database (tables ``weights`` and ``extra``, MetaXcan's layout).

    ``weights``: rsid, gene, weight, ref_allele, eff_allele; ``extra``: gene, genename, n.snps.in.model,
    pred.perf.R2, pred.perf.pval[, pred.perf.qval]. Used to build benchmark and test inputs.
    An existing file at ``path`` is replaced; indexes on weights.gene, weights.rsid and extra.gene are
    created.

    Parameters
    ----------
    weights : pandas.DataFrame
        Weight rows with at least rsid, gene, weight, ref_allele, eff_allele (other columns ignored).
    extra : pandas.DataFrame
        Per-gene table, written as given.
    path : str or pathlib.Path
        Database file.

    Returns
    -------
    pathlib.Path
        ``path``.

    References
    ----------
    hakyimlab/MetaXcan ``PredictionModel.py`` (PredictDB layout).
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    weights[["rsid", "gene", "weight", "ref_allele", "eff_allele"]].to_sql("weights", con, index=False)
    extra.to_sql("extra", con, index=False)
    con.execute("CREATE INDEX weights_gene ON weights (gene)")
    con.execute("CREATE INDEX weights_rsid ON weights (rsid)")
    con.execute("CREATE INDEX extra_gene ON extra (gene)")
    con.commit()
    con.close()
    return path


def write_covariance(cov: pd.DataFrame, path) -> Path:
    """Write (gene, rsid1, rsid2, value) as a MetaXcan covariance file (``GENE RSID1 RSID2 VALUE``, gz).

    Space-separated, values with 17 significant digits; gzip-compressed when ``path`` ends in ``.gz``.

    Parameters
    ----------
    cov : pandas.DataFrame
        Columns gene, rsid1, rsid2, value (others ignored).
    path : str or pathlib.Path
        Output file (gzip when it ends in ``.gz``).

    Returns
    -------
    pathlib.Path
        The file written, read back by :func:`read_covariance` and by MetaXcan.

    References
    ----------
    hakyimlab/MetaXcan (SNP covariance file layout).
    """
    out = cov.rename(columns={"gene": "GENE", "rsid1": "RSID1", "rsid2": "RSID2", "value": "VALUE"})
    out[["GENE", "RSID1", "RSID2", "VALUE"]].to_csv(path, sep=" ", index=False, float_format="%.17g",
                                                    compression="gzip" if str(path).endswith(".gz") else None)
    return Path(path)
