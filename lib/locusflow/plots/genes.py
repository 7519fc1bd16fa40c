"""Genes of a region for plot tracks, from the GENCODE maps bundled in ``locusflow/data/gencode``.

GRCh37 runs use GENCODE v18 protein-coding genes (GRCh37 coordinates), GRCh38 runs GENCODE v38 (all genes).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.gene_map import gene_map


def genes_in_region(chrom, start: int, stop: int, build: str = "GRCh37") -> pd.DataFrame:
    """Genes overlapping ``chrom:start-stop`` (1-based, inclusive), sorted by start.

    Parameters
    ----------
    chrom : str or int
        Chromosome as the gene map names it (no ``chr`` prefix); compared as text.
    start, stop : int
        Region bounds in bp; a gene overlaps when its stop >= ``start`` and its start <= ``stop``.
    build : str, optional
        Genome build, as :func:`gene_map` takes it.

    Returns
    -------
    DataFrame
        The overlapping rows of :func:`gene_map` (chrom, start, stop, gene_name, strand), index reset.

    Raises
    ------
    ValueError
        When there is no bundled gene map for ``build`` (from :func:`gene_map`).
    """
    g = gene_map(build)
    sel = (g["chrom"] == str(chrom)) & (g["stop"] >= start) & (g["start"] <= stop)
    return g[sel].sort_values("start").reset_index(drop=True)


def stack_rows(starts, stops, min_gap: float) -> np.ndarray:
    """Row index of each interval so that intervals in one row are at least ``min_gap`` apart (greedy packing).

    Parameters
    ----------
    starts, stops : sequence of float
        Interval bounds, same length (indexable by position).
    min_gap : float
        Gap required between an interval's start and the previous stop in its row (strictly more than it).

    Returns
    -------
    ndarray of int
        Row of each interval, in input order: intervals are visited by start (ties in input order) and each
        goes to the first row whose last stop is more than ``min_gap`` before its start, else a new row.
    """
    ends: list = []
    rows = np.zeros(len(starts), dtype=int)
    for i in np.argsort(np.asarray(starts), kind="stable"):
        for r, e in enumerate(ends):
            if starts[i] > e + min_gap:
                rows[i], ends[r] = r, stops[i]
                break
        else:
            rows[i] = len(ends)
            ends.append(stops[i])
    return rows
