"""Where a gene model sits: its chromosome, median position and LD block (one rule for every TWAS path).

A model's chromosome is the one holding most of its located SNPs (ties: the first in string order);
its position is the median of their positions there. Its block is the one
:func:`locusflow.ld.blocks.locate_blocks` gives that position (``start <= pos < stop``) among the
run's blocks (:func:`locusflow.ld.blocks.resolve_blocks`) or, with none given, among fixed windows
(:func:`locusflow.ld.blocks.window_intervals`), named by :func:`locusflow.ld.blocks.block_id`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.matching import is_placed
from ..ld.blocks import locate_blocks, resolve_blocks, window_intervals


def group_stats(code: np.ndarray, x: np.ndarray, n: int):
    """(median, min, max, count) of ``x`` per group code 0..n-1: one sort, then the middle and end
    elements of each group (NaN and 0 for an empty group).

    Parameters
    ----------
    code : numpy.ndarray of int
        Group of each value.
    x : numpy.ndarray of float
        Values.
    n : int
        Number of groups.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray)
    """
    order = np.lexsort((x, code))
    code, x = code[order], x[order]
    cnt = np.bincount(code, minlength=n)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
    med, lo, hi = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    has = cnt > 0
    s, c = start[has], cnt[has]
    med[has] = (x[s + (c - 1) // 2] + x[s + c // 2]) / 2
    lo[has], hi[has] = x[s], x[s + c - 1]
    return med, lo, hi, cnt


def main_positions(mcode: np.ndarray, ccode: np.ndarray, names: np.ndarray, pos: np.ndarray, nm: int):
    """Per model: its main chromosome and the (median, min, max, count) of its positions there.

    Parameters
    ----------
    mcode : numpy.ndarray of int
        Model code 0..nm-1 of each located SNP.
    ccode : numpy.ndarray of int
        Chromosome code of each located SNP (into ``names``).
    names : numpy.ndarray of str
        Chromosome names.
    pos : numpy.ndarray of float
        Position of each located SNP.
    nm : int
        Number of models.

    Returns
    -------
    tuple of numpy.ndarray
        main chromosome code (most SNPs; ties: first name in string order; -1 when none), then
        :func:`group_stats` of the positions on it.
    """
    nc = max(len(names), 1)
    cnt = np.bincount(mcode.astype(np.int64) * nc + ccode, minlength=nm * nc).reshape(nm, nc)
    order = np.argsort(names, kind="stable")                   # chromosomes in string order
    main = np.where(cnt.max(axis=1) > 0, order[np.argmax(cnt[:, order], axis=1)], -1) if len(names) \
        else np.full(nm, -1)                                  # no SNP located at all: no chromosome
    same = ccode == main[mcode]
    return (main,) + group_stats(mcode[same], pos[same], nm)


def model_positions(w: pd.DataFrame) -> pd.DataFrame:
    """Place of each model from the positions its weights give.

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows (model_id, chrom, pos; chrom ``'NA'`` for SNPs the weights do not place).

    Returns
    -------
    pandas.DataFrame
        model_id, chrom, pos (median), lo, hi (extremes) and n (count) of its placed SNPs on its main
        chromosome, for the models with a placed SNP, in order of first appearance.
    """
    ok = is_placed(w["chrom"], w["pos"])
    mcode, models = pd.factorize(w["model_id"][ok])
    ccode, cats = pd.factorize(w["chrom"][ok])
    names = np.asarray(cats, dtype=object).astype(str)
    main, med, lo, hi, n = main_positions(mcode, ccode, names, w["pos"].to_numpy(np.float64, na_value=np.nan)[ok],
                                          len(models))
    return pd.DataFrame({"model_id": np.asarray(models, dtype=object).astype(str),
                         "chrom": names[main] if len(models) else np.array([], str),
                         "pos": med, "lo": lo.astype(np.int64), "hi": hi.astype(np.int64), "n": n})


def model_places(w: pd.DataFrame, g: pd.DataFrame):
    """Place of each model from its weights' positions, else its SNPs' GWAS rows.

    Parameters
    ----------
    w : pandas.DataFrame
        Matched weight rows (model_id, chrom, pos, ``gwas_row``: the matched row of ``g``, -1 none).
    g : pandas.DataFrame
        The GWAS rows (chrom, pos).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Model ids, chromosome ('NA' when no SNP is located) and median position (NaN) by the rule of
        :func:`main_positions`.
    """
    mcode, models = pd.factorize(w["model_id"])
    placed = is_placed(w["chrom"], w["pos"])
    gi = w["gwas_row"].to_numpy()
    wc, gc = pd.Categorical(w["chrom"]), pd.Categorical(g["chrom"])
    cats = wc.categories.union(gc.categories)
    gcode = np.append(pd.Categorical(gc, categories=cats).codes, -1)     # gi = -1 (no GWAS row): -1, NaN
    ccode = np.where(placed, pd.Categorical(wc, categories=cats).codes, gcode[gi])
    pos = np.where(placed, w["pos"].to_numpy(float, na_value=np.nan), np.append(g["pos"].to_numpy(float), np.nan)[gi])
    ok = ccode >= 0
    names = np.asarray(cats, dtype=object).astype(str)
    main, med = main_positions(mcode[ok], ccode[ok], names, pos[ok], len(models))[:2]
    chrom = np.where(main >= 0, names[np.clip(main, 0, None)] if len(names) else "NA", "NA").astype(object)
    return np.asarray(models, dtype=object).astype(str), chrom, med


def run_blocks(spec, chrom, pos, window: int) -> pd.DataFrame:
    """The blocks models are placed in: ``spec`` resolved by :func:`locusflow.ld.blocks.resolve_blocks`,
    or (``spec`` None) the ``window``-bp windows holding the given model positions.

    Parameters
    ----------
    spec : str, path, pandas.DataFrame or None
        A block set, BED file or frame.
    chrom, pos : array-like
        Model positions (for windows).
    window : int
        Window size in base pairs.

    Returns
    -------
    pandas.DataFrame
        chrom, start, stop, block_id, source.
    """
    if spec is not None:
        return spec if isinstance(spec, pd.DataFrame) and "block_id" in spec else resolve_blocks(spec)
    ok = np.isfinite(np.asarray(pos, float)) & (np.asarray(chrom, dtype=object) != "NA")
    return window_intervals(np.asarray(chrom, dtype=object)[ok], np.asarray(pos, float)[ok], window)


def model_blocks(chrom, pos, blocks) -> np.ndarray:
    """block_id of each model position (None outside every block or unplaced).

    Parameters
    ----------
    chrom, pos : numpy.ndarray
        Model chromosome ('NA': none) and median position (NaN: none).
    blocks : pandas.DataFrame
        chrom, start, stop, block_id (:func:`run_blocks`).

    Returns
    -------
    numpy.ndarray of object
    """
    chrom, pos = np.asarray(chrom, dtype=object), np.asarray(pos, float)
    out = np.full(len(chrom), None, dtype=object)
    ok = np.isfinite(pos) & (chrom != "NA")
    if ok.any():
        out[ok] = locate_blocks(chrom[ok], pos[ok], blocks)
    return out
