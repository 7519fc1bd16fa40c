"""LD blocks: published sets (LDetect, FOCUS), fixed windows, and assignment of a panel's variants.

Coordinates. A block is a 1-based half-open interval ``[start, stop)`` on one chromosome (schema
``ld_blocks``). Published block files are BED (0-based start, exclusive end), so a BED row
``chrom s e`` becomes ``start = s + 1, stop = e + 1``: it holds the variants with ``s < pos <= e``.

Published sets (shipped in ``locusflow/data/ld_blocks``, see its README for attribution):
Berisa & Pickrell (2016) LDetect ``EUR``/``AFR``/``ASN`` (GRCh37) and the FOCUS (Mancuso et al.
2019, pyfocus 0.802) sets ``focus_eur``, ``focus_eur_afr``, ``focus_eur_eas``, ``focus_eur_eas_afr``
for GRCh37 and GRCh38 (``EUR`` on GRCh38 = ``focus_eur``, LDetect EUR lifted by the FOCUS authors).

Assignment (:func:`assign_blocks`) puts every variant of a panel in exactly one block:
- variants before the first block of their chromosome extend that block's start down to them, and
  variants after the last block extend its stop (published sets end at the first/last 1000G SNP);
- variants in a gap between two consecutive blocks get a block of their own, ``[stop_i, start_i+1)``;
- a chromosome with no block at all becomes one block spanning its variants (logged as a warning).
Blocks holding no variant are dropped. Each block carries ``cost = m^2 n`` (m variants, n samples),
the work of its LD GEMM, which the work list packs by.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..logs import get_logger
from ..errors import InputError
from ..schema import load

log = get_logger("ld.blocks")

LDETECT = ("EUR", "AFR", "ASN")
FOCUS = ("focus_eur", "focus_eur_afr", "focus_eur_eas", "focus_eur_eas_afr")
BUILDS = ("GRCh37", "GRCh38")


def _norm_build(build: str) -> str:
    b = str(build).lower().replace("grch", "").replace("hg", "")
    table = {"37": "GRCh37", "19": "GRCh37", "38": "GRCh38"}
    if b not in table:
        raise InputError("ld.blocks", "genome build GRCh37 or GRCh38 for published blocks", value=build)
    return table[b]


def available_blocks() -> list[tuple[str, str]]:
    """Shipped block sets.

    Returns
    -------
    list of tuple
        (name, build) pairs loadable with :func:`published_blocks`.
    """
    return ([(n, "GRCh37") for n in LDETECT] + [(n, b) for n in FOCUS for b in BUILDS]
            + [("EUR", "GRCh38")])


def published_file(name: str, build: str = "GRCh37") -> Path:
    """Path of a shipped block BED file.

    Parameters
    ----------
    name : str
        ``EUR``, ``AFR``, ``ASN`` (LDetect) or ``focus_eur``, ``focus_eur_afr``, ... (FOCUS).
    build : str
        ``GRCh37`` or ``GRCh38`` (``hg19``/``37`` accepted).

    Returns
    -------
    pathlib.Path
    """
    build = _norm_build(build)
    key = name.upper() if name.upper() in LDETECT else name.lower()
    if key == "EUR" and build == "GRCh38":
        key = "focus_eur"
    if key in LDETECT and build == "GRCh37":
        fname = f"ldetect_{key}_GRCh37.bed"
    elif key in FOCUS:
        fname = f"{key}_{build}.bed"
    else:
        raise InputError("ld.blocks", f"one of {available_blocks()} (name, build)", value=(name, build))
    return Path(str(resources.files("locusflow.data").joinpath("ld_blocks", fname)))


def published_blocks(name: str, build: str = "GRCh37") -> pd.DataFrame:
    """A shipped block set as intervals.

    Parameters
    ----------
    name, build : str
        As :func:`published_file`.

    Returns
    -------
    pandas.DataFrame
        chrom, start, stop (1-based half-open) and source, e.g. ``ldetect_EUR_GRCh37``.

    References
    ----------
    Berisa T. & Pickrell J.K. (2016) Bioinformatics 32:283-285 (LDetect); Mancuso N. et al. (2019)
    Nat Genet 51:675-682 (FOCUS block sets, pyfocus 0.802).
    """
    path = published_file(name, build)
    out = read_block_bed(path)
    out["source"] = path.stem
    return out


def read_block_bed(path) -> pd.DataFrame:
    """Read a BED-like block file: ``chrom start stop`` (tab or space separated, optional header).

    The one coordinate rule: a BED row ``chrom s e`` (0-based start, exclusive end) becomes the 1-based
    half-open block ``[s + 1, e + 1)``, i.e. positions ``s < pos <= e``. LDetect AFR's split row
    (``s None`` then ``None e``) is merged into one block.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    pandas.DataFrame
        chrom (no "chr"), start, stop, sorted.

    Raises
    ------
    InputError
        A non-integer coordinate, an overlap or an empty interval, naming the file and row.
    """
    path = storage.local_file(path)
    if not path.exists():
        raise InputError(path, "LD block file (chrom start stop) not found")
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False, comment="#",
                      engine="python")
    if raw.shape[1] < 3:
        raise InputError(path, "at least 3 whitespace-separated columns: chrom start stop", row=1)
    raw = raw.iloc[:, :3]
    raw.columns = ["chrom", "start", "stop"]
    row0 = 1
    if raw.iloc[0, 1].lower() in ("start", "chromstart") or not raw.iloc[0, 1].lstrip("-").isdigit():
        if raw.iloc[0, 1] != "None":
            raw, row0 = raw.iloc[1:], 2  # header line
    raw = raw.reset_index(drop=True)
    rows = np.arange(len(raw)) + row0
    # LDetect AFR: "11 108823642 None" + "11 None 111048570" -> one block
    open_stop = (raw["stop"] == "None").to_numpy()
    open_start = (raw["start"] == "None").to_numpy()
    pair = open_stop[:-1] & open_start[1:] & (raw["chrom"].to_numpy()[:-1] == raw["chrom"].to_numpy()[1:])
    if pair.any():
        i = np.flatnonzero(pair)
        raw.loc[i, "stop"] = raw.loc[i + 1, "stop"].to_numpy()
        keep = np.ones(len(raw), bool)
        keep[i + 1] = False
        raw, rows = raw[keep].reset_index(drop=True), rows[keep]
    for col in ("start", "stop"):
        bad = ~raw[col].str.fullmatch(r"\d+")
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, "a non-negative integer (BED coordinate)", row=int(rows[k]), column=col,
                             value=raw[col].iloc[k])
    out = pd.DataFrame({"chrom": raw["chrom"].str.replace("^chr", "", regex=True),
                        "start": raw["start"].astype(np.int64) + 1, "stop": raw["stop"].astype(np.int64) + 1})
    bad = out["stop"] <= out["start"]
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, "stop > start", row=int(rows[k]), column="stop", value=int(raw["stop"].iloc[k]))
    out["_row"] = rows
    out = out.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    same = out["chrom"].to_numpy()[1:] == out["chrom"].to_numpy()[:-1]
    overlap = same & (out["start"].to_numpy()[1:] < out["stop"].to_numpy()[:-1])
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0]) + 1
        raise InputError(path, "non-overlapping blocks", row=int(out["_row"].iloc[k]), column="start",
                         value=int(out["start"].iloc[k]) - 1)
    return out.drop(columns="_row")


def fixed_windows(variants: pd.DataFrame, window: int) -> pd.DataFrame:
    """Consecutive windows of ``window`` variants per chromosome (the last one holds the rest).

    A window boundary never separates two variants at the same position: it moves forward to the next
    position change.

    Parameters
    ----------
    variants : pandas.DataFrame
        chrom, pos.
    window : int
        Variants per window.

    Returns
    -------
    pandas.DataFrame
        chrom, start, stop intervals for :func:`assign_blocks`.
    """
    if int(window) < 1:
        raise InputError("ld.window", "a positive number of variants per window", value=window)
    out = []
    for chrom, pos in _positions(variants):
        firsts = np.arange(0, len(pos), int(window))
        out.append(intervals_from_starts(chrom, pos, firsts))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["chrom", "start", "stop"])


def intervals_from_starts(chrom: str, pos: np.ndarray, firsts) -> pd.DataFrame:
    """Intervals whose blocks begin at the sorted positions ``pos[firsts]``.

    ``start`` of block b is ``pos[firsts[b]]``, its ``stop`` the next block's start (the last one stops
    after the last variant). Boundaries inside a run of equal positions move past the run.

    Parameters
    ----------
    chrom : str
    pos : numpy.ndarray
        Sorted positions of the chromosome's variants.
    firsts : array-like of int
        Index of each block's first variant (0 first).

    Returns
    -------
    pandas.DataFrame
        chrom, start, stop.
    """
    pos = np.asarray(pos, dtype=np.int64)
    firsts = np.asarray(firsts, dtype=np.int64)
    starts = np.unique(pos[firsts])          # equal-position boundaries collapse, order kept
    stops = np.append(starts[1:], pos[-1] + 1)
    return pd.DataFrame({"chrom": str(chrom), "start": starts, "stop": stops})


def _positions(variants: pd.DataFrame):
    for chrom, g in variants.groupby("chrom", sort=True):
        yield chrom, np.sort(g["pos"].to_numpy(np.int64))


def assign_blocks(variants: pd.DataFrame, intervals: pd.DataFrame, *, n_samples: int,
                  source: str = "", genome_build: str = "") -> tuple[pd.DataFrame, pd.Series]:
    """Blocks covering every variant of a panel, and each variant's block_id.

    Edges are extended and gaps filled as the module docstring says; blocks holding no variant are
    dropped.

    Parameters
    ----------
    variants : pandas.DataFrame
        chrom, pos (a genotype store's variants table).
    intervals : pandas.DataFrame
        chrom, start, stop (1-based half-open, non-overlapping per chromosome).
    n_samples : int
        Samples of the panel (for the cost).
    source, genome_build : str
        Recorded in the output.

    Returns
    -------
    blocks : pandas.DataFrame
        Schema ``ld_blocks``, cost = n_variants^2 * n_samples (the LD GEMM's work).
    block_of : pandas.Series
        block_id per variant, aligned with ``variants``.
    """
    src = intervals["source"].iloc[0] if "source" in intervals and len(intervals) else source
    ivs = {c: g.sort_values("start") for c, g in intervals.groupby(intervals["chrom"].astype(str))}
    block_of = pd.Series(index=variants.index, dtype=object)
    rows = []
    for chrom, g in variants.groupby(variants["chrom"].astype(str), sort=True):
        pos = g["pos"].to_numpy(np.int64)
        lo, hi = int(pos.min()), int(pos.max()) + 1
        if chrom in ivs:
            s = ivs[chrom]["start"].to_numpy(np.int64).copy()
            e = ivs[chrom]["stop"].to_numpy(np.int64).copy()
            if (s[1:] < e[:-1]).any() or (e <= s).any():
                k = int(np.flatnonzero(np.append(s[1:] < e[:-1], False) | (e <= s))[0])
                raise InputError("ld blocks", "non-overlapping, non-empty intervals", column="start",
                                 value=f"{chrom}:{s[k]}-{e[k]}")
            s[0], e[-1] = min(s[0], lo), max(e[-1], hi)
            gap = s[1:] > e[:-1]
            if gap.any():  # a gap [stop_i, start_i+1) becomes a block of its own
                s, e = np.concatenate([s, e[:-1][gap]]), np.concatenate([e, s[1:][gap]])
                order = np.argsort(s, kind="stable")
                s, e = s[order], e[order]
        else:
            log.warning("chromosome %s has no %s block: its %d variants form one block", chrom,
                        src or "given", len(pos))
            s, e = np.array([lo]), np.array([hi])
        k = np.searchsorted(s, pos, side="right") - 1
        counts = np.bincount(k, minlength=len(s))
        used = np.flatnonzero(counts)
        ids = block_id(np.full(len(used), chrom, dtype=object), s[used], e[used])
        remap = np.full(len(s), -1)
        remap[used] = np.arange(len(used))
        block_of.loc[g.index] = ids[remap[k]]
        m = counts[used].astype(np.int64)
        rows.append(pd.DataFrame({"block_id": ids, "chrom": chrom, "start": s[used], "stop": e[used],
                                  "n_variants": m, "n_samples": int(n_samples),
                                  "cost": m.astype(float) ** 2 * float(n_samples)}))
    blocks = pd.concat(rows, ignore_index=True) if rows else load("ld_blocks").empty()
    blocks["source"] = src
    blocks["genome_build"] = genome_build
    return load("ld_blocks").conform(blocks, source="assign_blocks"), block_of


def block_id(chrom, start, stop):
    """The one name of an LD block in every dataset: ``"<chrom>:<start>-<stop>"``.

    Parameters
    ----------
    chrom : str or array-like of str
        Chromosome without "chr".
    start, stop : int or array-like of int
        The block's 1-based half-open interval ``[start, stop)`` (schema ``ld_blocks``).

    Returns
    -------
    str or numpy.ndarray of object
        One id, or one per element when arrays are given (e.g. ``20:18972204-20959711``).
    """
    if np.ndim(start) == 0 and np.ndim(chrom) == 0:
        return f"{chrom}:{int(start)}-{int(stop)}"
    c = pd.Series(np.broadcast_to(np.asarray(chrom, dtype=object), np.shape(start))).astype(str)
    s = pd.Series(np.asarray(start, dtype=np.int64)).astype(str)
    e = pd.Series(np.asarray(stop, dtype=np.int64)).astype(str)
    return (c + ":" + s + "-" + e).to_numpy(dtype=object)


# FOCUS-style names (pyfocus ``--locations 37:EUR``) of the shipped FOCUS block sets
FOCUS_ALIASES = {f"{b}:{pop}": (f"focus_{pop.lower().replace('-', '_')}", f"GRCh{b}")
                 for b in ("37", "38") for pop in ("EUR", "EUR-AFR", "EUR-EAS", "EUR-EAS-AFR")}


def resolve_blocks(spec, genome_build: str = "GRCh37") -> pd.DataFrame:
    """LD block intervals from any block specification a stage's config may hold.

    Parameters
    ----------
    spec : str, path or pandas.DataFrame
        A shipped set (``EUR``, ``AFR``, ``ASN``, ``focus_eur``, ..., or a FOCUS-style name
        ``37:EUR``, ``38:EUR-AFR``), a BED file (read by :func:`read_block_bed`), an ``ld_blocks``
        dataset directory, or a frame with chrom, start, stop (1-based half-open).
    genome_build : str
        Build of the shipped sets (``GRCh37`` or ``GRCh38``); ignored for files and frames.

    Returns
    -------
    pandas.DataFrame
        chrom, start, stop (1-based half-open ``[start, stop)``), block_id (:func:`block_id`) and
        source, sorted by chrom and start.

    References
    ----------
    The shipped sets are LDetect's approximately independent LD blocks (Berisa & Pickrell 2016,
    Bioinformatics 32:283) for EUR/AFR/ASN, and the GRCh38 lift-overs pyfocus ships (Mancuso et al. 2019).
    """
    if isinstance(spec, pd.DataFrame):
        iv = spec.copy()
        src = str(iv["source"].iloc[0]) if "source" in iv and len(iv) else "frame"
    else:
        text = storage.uri(spec)
        path = storage.as_path(text)
        if text in FOCUS_ALIASES:
            name, build = FOCUS_ALIASES[text]
            iv = published_blocks(name, build)
            src = iv["source"].iloc[0]
        elif path.is_dir():
            from ..io.dataset import read_dataset
            iv = read_dataset(path, "ld_blocks", columns=["chrom", "start", "stop", "source"])
            src = str(iv["source"].iloc[0]) if len(iv) else path.name
        elif path.exists() or "/" in text or path.suffix in (".bed", ".gz", ".txt", ".tsv"):
            iv, src = read_block_bed(text), path.name
        else:
            iv = published_blocks(text, build=genome_build)
            src = iv["source"].iloc[0]
    iv = iv[["chrom", "start", "stop"]].copy()
    iv["chrom"] = iv["chrom"].astype(str).str.replace("^chr", "", regex=True)
    iv = iv.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    iv["block_id"] = block_id(iv["chrom"].to_numpy(), iv["start"].to_numpy(), iv["stop"].to_numpy())
    iv["source"] = src
    return iv


def window_intervals(chrom, pos, size_bp: int) -> pd.DataFrame:
    """Fixed base-pair windows holding the given positions, as block intervals.

    Window ``k`` of a chromosome is the BED interval ``[k*size, (k+1)*size)``, i.e. the 1-based
    half-open ``[k*size + 1, (k+1)*size + 1)`` (the rule of :func:`read_block_bed`). Only windows
    holding a position are returned.

    Parameters
    ----------
    chrom, pos : array-like
        Chromosomes (no "chr") and 1-based positions.
    size_bp : int
        Window size in base pairs.

    Returns
    -------
    pandas.DataFrame
        chrom, start, stop, block_id, source (``window_<size>``), sorted by chrom and start.
    """
    size = int(size_bp)
    if size < 1:
        raise InputError("blocks", "a positive window size in base pairs", value=size_bp)
    k = (np.asarray(pos, dtype=np.int64) - 1) // size
    d = pd.DataFrame({"chrom": pd.Series(np.asarray(chrom, dtype=object)).astype(str).to_numpy(), "k": k})
    d = d.drop_duplicates().sort_values(["chrom", "k"], kind="stable")
    iv = pd.DataFrame({"chrom": d["chrom"].to_numpy(), "start": d["k"].to_numpy() * size + 1,
                       "stop": (d["k"].to_numpy() + 1) * size + 1})
    iv["block_id"] = block_id(iv["chrom"].to_numpy(), iv["start"].to_numpy(), iv["stop"].to_numpy())
    iv["source"] = f"window_{size}"
    return iv.reset_index(drop=True)


def locate_blocks(chrom, pos, blocks: pd.DataFrame) -> np.ndarray:
    """The block holding each position: the one rule every stage uses, ``start <= pos < stop``.

    One search over (chromosome, start) keys for all chromosomes: the last block starting at or
    before the position, kept when it is on the same chromosome and ends after the position.

    Parameters
    ----------
    chrom, pos : array-like
        Chromosomes (no "chr") and 1-based positions (a gene model's position, a SNP's).
    blocks : pandas.DataFrame
        chrom, start, stop, block_id (e.g. from :func:`resolve_blocks`), non-overlapping.

    Returns
    -------
    numpy.ndarray of object
        block_id per position, None outside every block.
    """
    chrom = np.asarray(chrom, dtype=object)
    pos = np.asarray(pos, dtype=np.float64)
    out = np.full(len(pos), None, dtype=object)
    if not len(pos) or not len(blocks):
        return out
    bchrom = blocks["chrom"].astype(str).to_numpy()
    cats = pd.Index(pd.unique(bchrom))
    bc = cats.get_indexer(bchrom)
    start, stop = blocks["start"].to_numpy(np.float64), blocks["stop"].to_numpy(np.float64)
    order = np.lexsort((start, bc))
    span = 2.0 ** 40        # (chromosome code, position) as one float key: exact below 2^53
    bkey = bc[order] * span + start[order]
    mc = cats.get_indexer(pd.Series(chrom).astype(str).to_numpy())
    i = np.searchsorted(bkey, mc * span + np.nan_to_num(pos, nan=-1.0), side="right") - 1
    j = order[np.clip(i, 0, None)]
    ok = (mc >= 0) & (i >= 0) & (bc[j] == mc) & (pos < stop[j]) & (pos >= start[j])
    out[ok] = blocks["block_id"].to_numpy()[j[ok]]
    return out


def signal_blocks(sumstats: pd.DataFrame, blocks: pd.DataFrame, p_threshold: float = 5e-8) -> pd.DataFrame:
    """Blocks holding at least one association with p below ``p_threshold``.

    A SNP belongs to the block :func:`locate_blocks` gives it (``start <= pos < stop``); its p is the
    ``p`` column, or ``2 * Phi(-|z|)`` where p is missing.

    Parameters
    ----------
    sumstats : pandas.DataFrame
        chrom, pos and p and/or z (schema ``sumstats``).
    blocks : pandas.DataFrame
        chrom, start, stop, block_id (:func:`resolve_blocks`, :func:`window_intervals`).
    p_threshold : float
        Blocks whose smallest p is below it are kept.

    Returns
    -------
    pandas.DataFrame
        The kept blocks with min_p, n_sumstats (SNPs in the block), cost (= n_sumstats^2) and
        unit_id (= block_id), in block order; ``attrs['n_blocks']`` counts blocks holding any SNP.
    """
    from scipy.special import ndtr
    n = len(sumstats)
    p = (sumstats["p"].to_numpy(dtype=float) if "p" in sumstats else np.full(n, np.nan))
    if "z" in sumstats:
        p = np.where(np.isnan(p), 2 * ndtr(-np.abs(sumstats["z"].to_numpy(dtype=float))), p)
    bid = locate_blocks(sumstats["chrom"].astype(str).to_numpy(), sumstats["pos"].to_numpy(), blocks)
    inside = pd.notna(bid)
    stats = (pd.DataFrame({"block_id": bid[inside], "p": p[inside]})
             .groupby("block_id", sort=False)["p"].agg(["min", "size"]))
    b = blocks.join(stats, on="block_id", how="inner").rename(columns={"min": "min_p", "size": "n_sumstats"})
    sel = b[b["min_p"] < p_threshold].copy()
    sel["cost"] = sel["n_sumstats"].astype(float) ** 2
    sel["unit_id"] = sel["block_id"]
    sel = sel.reset_index(drop=True)
    sel.attrs["n_blocks"] = len(b)
    return sel
