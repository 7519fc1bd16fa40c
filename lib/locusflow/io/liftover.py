"""Genome-build conversion of summary statistics with UCSC chain files (the ``liftover`` package).

Positions are converted with ``liftover.ChainFile`` (jeremymcrae/liftover, a C++ reader of UCSC
``.over.chain`` files with pyliftover's semantics); we never parse chains ourselves. A 1-based
position ``p`` is queried as the 0-based ``p - 1`` and the answer converted back, so positions at
chain-block edges follow UCSC ``liftOver`` exactly. Each row ends in one of:

=========================  ===========================================================
``lifted``                 one target position (alleles reverse-complemented on '-')
``liftover_unmapped``      no chain block covers the position (or the contig is absent)
``liftover_multiple``      several target positions
``liftover_other_chrom``   the target lies on another chromosome (the row's chrom would change)
``liftover_strand_indel``  a '-' strand target for an allele longer than one base (its position
                           would denote the other end)
=========================  ===========================================================

References
----------
Kent WJ et al. (2002) The human genome browser at UCSC. Genome Res 12:996-1006 (chain format, liftOver).
https://github.com/jeremymcrae/liftover
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..logs import get_logger
from ..errors import InputError
from .harmonise import reverse_complement
from .sumstats import normalise_build

log = get_logger("munge")


def load_chain(path, source: str, target: str):
    """Open a UCSC chain file (plain or gzip).

    Parameters
    ----------
    path : str or Path
        e.g. ``hg19ToHg38.over.chain.gz``.
    source, target : str
        Build names, for messages only.

    Returns
    -------
    liftover.ChainFile

    Raises
    ------
    InputError
        When the file does not exist or cannot be read as a chain file.
    """
    from liftover import ChainFile
    path = storage.local_file(path)
    if not path.exists():
        raise InputError(path, "a UCSC chain file (e.g. hg19ToHg38.over.chain.gz)")
    try:
        return ChainFile(str(path), source, target)
    except Exception as exc:     # the C++ reader raises RuntimeError/ValueError on a malformed file
        raise InputError(path, f"a UCSC chain file ({exc})") from None


def lift_positions(chrom: pd.Series, pos: np.ndarray, chain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target position, strand and outcome of every (chrom, 1-based pos).

    Parameters
    ----------
    chrom : Series of str
        Chromosomes without 'chr'.
    pos : ndarray of int
        1-based positions.
    chain : liftover.ChainFile
        The UCSC chain file of the source -> target build (jeremymcrae/liftover).

    Returns
    -------
    new_pos : ndarray of int64
        1-based target position (0 where not lifted).
    minus : ndarray of bool
        Target on the '-' strand.
    outcome : ndarray of object
        'lifted' or a drop reason of the module docstring (strand/indel is decided by the caller).

    References
    ----------
    Kent WJ et al. (2002) Genome Res 12:996 (UCSC chain format, ``liftOver``); jeremymcrae/liftover.

    Notes
    -----
    One call into the C++ reader per distinct position (about 0.4 us each): the package has no
    array interface.
    """
    n = len(pos)
    new_pos, minus = np.zeros(n, np.int64), np.zeros(n, bool)
    outcome = np.full(n, "liftover_unmapped", dtype=object)
    chrom = pd.Series(chrom).astype(str).to_numpy()
    pos = np.asarray(pos, dtype=np.int64)
    for c in pd.unique(chrom):                  # one contig at a time; the positions of it in one pass
        rows = np.flatnonzero(chrom == c)
        key = c if c.startswith("chr") else f"chr{c}"
        if key not in chain:
            continue
        target = chain[key]
        upos, inv = np.unique(pos[rows], return_inverse=True)
        hits = [target[p] for p in (upos - 1).tolist()]            # 0-based queries
        nhit = np.fromiter(map(len, hits), np.int64, len(hits))
        one = np.flatnonzero(nhit == 1)
        first = [hits[i][0] for i in one.tolist()]
        same = np.zeros(len(hits), bool)
        t_pos, t_minus = np.zeros(len(hits), np.int64), np.zeros(len(hits), bool)
        if first:
            t_chrom, p1, strand = zip(*first)
            same[one] = pd.Series(t_chrom, dtype=object).str.removeprefix("chr").to_numpy() == c.removeprefix("chr")
            t_pos[one] = np.asarray(p1, np.int64) + 1
            t_minus[one] = np.asarray(strand, dtype=object) == "-"
        out = np.where(nhit > 1, "liftover_multiple",
                       np.where(same, "lifted", np.where(nhit == 1, "liftover_other_chrom", "liftover_unmapped")))
        outcome[rows] = out[inv]
        new_pos[rows] = t_pos[inv]
        minus[rows] = t_minus[inv]
    return new_pos, minus, outcome


def liftover_sumstats(df: pd.DataFrame, chain) -> tuple[pd.DataFrame, np.ndarray]:
    """Lift ``df`` (chrom, pos, a1, a2) in place of its positions; return it and a reason per row.

    Parameters
    ----------
    df : DataFrame
        Canonical sumstats rows with chrom, pos (float or int; NaN allowed), a1, a2.
    chain : liftover.ChainFile
        The UCSC chain file of the source -> target build (jeremymcrae/liftover).

    Returns
    -------
    df : DataFrame
        Same rows; ``pos`` of lifted rows replaced, alleles of '-' strand SNVs complemented.
    reasons : ndarray of object
        None for lifted rows, else the drop reason (module docstring).

    References
    ----------
    Kent WJ et al. (2002) Genome Res 12:996 (UCSC chain format, ``liftOver``); jeremymcrae/liftover.
    """
    pos = df["pos"].to_numpy(dtype=float)
    ok = ~np.isnan(pos) & df["chrom"].notna().to_numpy()
    new_pos, minus, outcome = lift_positions(df["chrom"][ok], pos[ok].astype(np.int64), chain)
    reasons = np.full(len(df), None, dtype=object)
    r = np.where(outcome == "lifted", None, outcome)
    a1, a2 = df["a1"].astype(object).to_numpy()[ok], df["a2"].astype(object).to_numpy()[ok]
    long = (pd.Series(a1).str.len().to_numpy() > 1) | (pd.Series(a2).str.len().to_numpy() > 1)
    r = np.where(pd.isna(r) & minus & long, "liftover_strand_indel", r)
    reasons[ok] = r
    flip = np.zeros(len(df), bool)
    flip[np.flatnonzero(ok)] = minus & pd.isna(r)
    newp = pos.copy()
    newp[np.flatnonzero(ok)] = np.where(pd.isna(r), new_pos, pos[ok])
    df["pos"] = newp
    if flip.any():
        comp = {a: reverse_complement(a) for a in pd.unique(np.r_[a1, a2]) if isinstance(a, str)}
        for c in ("a1", "a2"):
            col = df[c].astype(object)
            df[c] = col.where(~flip, col.map(comp)).astype(df[c].dtype)
    return df, reasons


def lift_sumstats(ss, ref, chain, source_build, genome_build) -> dict | None:
    """Lift a read file's positions to the output build, in place (munge's liftover step).

    Parameters
    ----------
    ss : locusflow.io.sumstats.Sumstats
        The file as read; ``ss.df`` and ``ss.build`` are updated.
    ref : DataFrame or None
        The genotype reference (its ``genome_build`` is the target when ``genome_build`` is None).
    chain : str or Path
        UCSC chain; its file name's direction (``hg19ToHg38``) must be source -> target.
    source_build, genome_build : str or None
        Build of the file (when the file does not say) and of the output.

    Returns
    -------
    dict or None
        Report entry (from, to, chain, lifted) plus ``reasons`` (per row, popped by the caller); None when
        the file is already in the target build.

    Raises
    ------
    InputError
        When the file's build is unknown or said twice differently, no target build is known, the chain
        file's name names another direction, or the file has no chrom and pos columns.
    """
    said = {k: normalise_build(v) for k, v in (("file", ss.build), ("--source-build", source_build)) if v}
    if len(set(said.values())) > 1:
        raise InputError(ss.path, f"one build of the file's positions; found {said}", column="genome_build")
    if not said:
        raise InputError(ss.path, "the build of the file's positions for liftover (a build column, a GWAS-VCF "
                         "##reference line, or source_build / --source-build)")
    source = next(iter(said.values()))
    refb = ref["genome_build"].dropna().iloc[0] if ref is not None and "genome_build" in ref and \
        ref["genome_build"].notna().any() else None
    target = normalise_build(genome_build or refb) if (genome_build or refb) else None
    if target is None:
        raise InputError(ss.path, "a target build for liftover (genome_build / --genome-build, or a reference)")
    if source == target:
        log.info("munge %s: positions already in %s; %s not used", ss.path, target, chain)
        return None
    name = Path(chain).name.lower()
    m = re.match(r"(hg\d+|grch\d+)to(hg\d+|grch\d+)", name)
    if m and (normalise_build(m.group(1)), normalise_build(m.group(2))) != (source, target):
        raise InputError(chain, f"a chain from {source} to {target}", value=Path(chain).name)
    if "pos" not in ss.df or "chrom" not in ss.df:
        raise InputError(ss.path, "chrom and pos columns to lift over", row=0)
    ss.df, reasons = liftover_sumstats(ss.df, load_chain(chain, source, target))
    ss.build = target
    lifted = int(pd.isna(reasons).sum())
    log.info("munge %s: lifted %d rows %s -> %s with %s", ss.path, lifted, source, target, Path(chain).name)
    return {"from": source, "to": target, "chain": str(chain), "lifted": lifted, "reasons": reasons}
