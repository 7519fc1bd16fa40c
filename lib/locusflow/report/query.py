"""Queries of ``locusflow serve``: what a search string means, and table filtering/sorting.

A search is one of: a gene (symbol or Ensembl id, from the run's TWAS/FOCUS genes or the bundled GENCODE
map), an rsid (``rs123``), a variant (``chrom:pos:ref:alt``, "chr" prefix allowed) or a region
(``chrom:start-stop``, commas allowed). Anything else is a :class:`QueryError` with a message for the user.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..plots.genes import gene_map

MAX_REGION = 10_000_000
CHROMS = {str(i) for i in range(1, 23)} | {"X", "Y", "MT"}
_VARIANT = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT):([0-9]+):([ACGTN]+):([ACGTN]+)$", re.I)
_REGION = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT):([0-9,]+)-([0-9,]+)$", re.I)
_POS = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT):([0-9,]+)$", re.I)
_RSID = re.compile(r"^rs[0-9]+$", re.I)
_GENE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class QueryError(ValueError):
    """A query the server cannot answer; the message is shown to the user as is (HTTP 400 or 404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _chrom(c: str) -> str:
    c = c.upper()
    c = c if not c.isdigit() else str(int(c))
    if c not in CHROMS:
        raise QueryError(f"unknown chromosome {c!r}: expected 1-22, X, Y or MT")
    return c


def parse_region(text: str) -> tuple[str, int, int]:
    """``chrom:start-stop`` -> (chrom, start, stop); start <= stop, at most 10 Mb, else QueryError.

    Parameters
    ----------
    text : str
        A region such as ``20:19500000-20700000`` or ``chr20:19,500,000-20,700,000`` (``chr`` prefix and
        thousands commas allowed; surrounding whitespace ignored).

    Returns
    -------
    chrom : str
        Chromosome without ``chr``, upper case, leading zeros dropped (1-22, X, Y or MT).
    start, stop : int
        1-based positions, ``1 <= start <= stop`` and ``stop - start <=`` :data:`MAX_REGION`.

    Raises
    ------
    QueryError
        (400) When the text is not a region, the chromosome is unknown, start < 1 or after stop, or the
        region spans more than :data:`MAX_REGION` bp.
    """
    m = _REGION.match(text.strip())
    if not m:
        raise QueryError(f"not a region: {text!r}; expected chrom:start-stop, e.g. 20:19500000-20700000")
    chrom, start, stop = _chrom(m[1]), int(m[2].replace(",", "")), int(m[3].replace(",", ""))
    if start < 1 or stop < start:
        raise QueryError(f"region {text!r}: start must be >= 1 and not after stop")
    if stop - start > MAX_REGION:
        raise QueryError(f"region {text!r} spans {stop - start:,} bp; the locus view shows at most {MAX_REGION:,} bp")
    return chrom, start, stop


def resolve(text: str, run, flank: int = 250_000) -> dict:
    """What a search string names, as {kind, label, chrom, start, stop, lead (variant_id or None)}.

    Parameters
    ----------
    text : str
        The user's query.
    run : locusflow.plots.data.RunResults
        The run served: its GWAS rows for variants and rsids, its TWAS genes and genome build for genes.
    flank : int
        bp shown either side of a variant or gene.

    Returns
    -------
    dict
        ``kind`` ("variant", "region" or "gene"), ``label`` (text for the user), ``chrom``, ``start`` and
        ``stop`` (the view: the position or gene span +/- ``flank``, clipped at 1; a region as given) and
        ``lead`` (the variant_id for a variant or rsid search, else None). Genes are looked up among the
        run's TWAS genes (symbol or Ensembl id, version ignored) first, then by symbol in the bundled gene
        map for the run's build.

    Raises
    ------
    QueryError
        Malformed (400) or not found in this run / the gene map (404).
    """
    q = (text or "").strip()
    if not q:
        raise QueryError("empty search: type a gene (INSM1), an rsid (rs6136914), a variant (20:20001671:G:T) "
                         "or a region (20:19500000-20700000)")
    if len(q) > 100:
        raise QueryError("search text longer than 100 characters")
    g = run.gwas()
    if _VARIANT.match(q):
        m = _VARIANT.match(q)
        vid = f"{_chrom(m[1])}:{int(m[2])}:{m[3].upper()}:{m[4].upper()}"
        hit = g[g["variant_id"] == vid] if g is not None else []
        if not len(hit):
            raise QueryError(f"variant {vid} is not in this run's summary statistics", 404)
        pos = int(hit["pos"].iloc[0])
        return dict(kind="variant", label=vid, chrom=vid.split(":")[0], start=max(1, pos - flank), stop=pos + flank, lead=vid)
    if _RSID.match(q):
        hit = g[g["rsid"].str.lower() == q.lower()] if g is not None else []
        if not len(hit):
            raise QueryError(f"rsid {q} is not in this run's summary statistics", 404)
        r = hit.iloc[0]
        return dict(kind="variant", label=f"{q} ({r['variant_id']})", chrom=r["chrom"], start=max(1, int(r["pos"]) - flank),
                    stop=int(r["pos"]) + flank, lead=r["variant_id"])
    if _REGION.match(q):
        chrom, start, stop = parse_region(q)
        return dict(kind="region", label=f"{chrom}:{start}-{stop}", chrom=chrom, start=start, stop=stop, lead=None)
    if _POS.match(q):
        m = _POS.match(q)
        pos = int(m[2].replace(",", ""))
        return dict(kind="region", label=q, chrom=_chrom(m[1]), start=max(1, pos - flank), stop=pos + flank, lead=None)
    if ":" in q:
        raise QueryError(f"cannot read {q!r} as a variant (chrom:pos:ref:alt, e.g. 20:20001671:G:T) or a region "
                         "(chrom:start-stop, e.g. 20:19500000-20700000)")
    if not _GENE.match(q):
        raise QueryError(f"cannot read {q!r}: expected a gene symbol or Ensembl id, rs<number>, chrom:pos:ref:alt "
                         "or chrom:start-stop")
    return _gene(q, run, flank)


def _gene(q: str, run, flank: int) -> dict:
    t = run.twas_genes()
    key = q.upper().split(".")[0]
    if t is not None and len(t):
        sym = t["gene_name"].fillna("").str.upper()
        ens = t["gene"].str.upper().str.split(".").str[0]
        hit = t[(sym == key) | (ens == key) | (sym == q.upper())]
        if len(hit):
            r = hit.iloc[0]
            return dict(kind="gene", label=str(r["label"]), chrom=str(r["chrom"]), start=max(1, int(r["tx_start"]) - flank),
                        stop=int(r["tx_stop"]) + flank, lead=None)
    gm = gene_map(run.build)
    hit = gm[gm["gene_name"].str.upper() == q.upper()]
    if not len(hit):
        raise QueryError(f"gene {q!r} is neither among this run's TWAS genes nor in the {run.build} gene map", 404)
    r = hit.iloc[0]
    return dict(kind="gene", label=str(r["gene_name"]), chrom=str(r["chrom"]), start=max(1, int(r["start"]) - flank),
                stop=int(r["stop"]) + flank, lead=None)


def filter_sort(df: pd.DataFrame, *, text: str = "", sort: str | None = None, desc: bool = False,
                limit: int = 500) -> tuple[pd.DataFrame, int]:
    """Rows of ``df`` whose text contains ``text`` (case-insensitive, any column), sorted by ``sort``.

    Returns the first ``limit`` rows and the number of matching rows; an unknown sort column is a QueryError.

    Parameters
    ----------
    df : DataFrame
        The table.
    text : str, optional
        Substring matched literally (no regex) against every column's text; empty keeps all rows.
    sort : str, optional
        Column to sort by (stable sort, missing values last); None keeps the order.
    desc : bool, optional
        Sort descending.
    limit : int, optional
        Rows returned, 1 to 100000.

    Returns
    -------
    rows : DataFrame
        The first ``limit`` matching rows, sorted.
    n : int
        The number of matching rows (before ``limit``).

    Raises
    ------
    QueryError
        (400) When ``sort`` is not a column of ``df`` or ``limit`` is outside 1-100000.
    """
    if sort and sort not in df.columns:
        raise QueryError(f"no column {sort!r} to sort by; columns: {', '.join(map(str, df.columns))}")
    if not 1 <= limit <= 100_000:
        raise QueryError("limit must be between 1 and 100000")
    if text:
        hay = np.zeros(len(df), dtype=bool)
        for c in df.columns:
            hay |= df[c].astype(str).str.contains(text, case=False, regex=False).to_numpy()
        df = df[hay]
    if sort:
        df = df.sort_values(sort, ascending=not desc, kind="stable", na_position="last")
    return df.head(limit), len(df)
