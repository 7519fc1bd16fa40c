"""Genes of a region for plot tracks, from the GENCODE maps bundled in ``locusflow/data/gencode``.

GRCh37 runs use GENCODE v18 protein-coding genes (GRCh37 coordinates), GRCh38 runs GENCODE v38 (all genes).
"""
from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd

GENE_MAPS = {"GRCh37": "gencode_v18_grch37_protein_coding.tsv.gz", "GRCh38": "gencode_map_v38.tsv.gz"}


@functools.lru_cache(maxsize=4)
def gene_map(build: str = "GRCh37") -> pd.DataFrame:
    """Bundled gene map of ``build`` (GRCh37 / hg19 or GRCh38 / hg38): chrom, start, stop, gene_name, strand.

    Parameters
    ----------
    build : str
        Genome build of the run (``genome_build`` of the config).

    Returns
    -------
    DataFrame
        One row per gene; ``strand`` is "+", "-" or "" when the map has none.
    """
    key = {"hg19": "GRCh37", "37": "GRCh37", "hg38": "GRCh38", "38": "GRCh38"}.get(str(build), str(build))
    if key not in GENE_MAPS:
        raise ValueError(f"no bundled gene map for genome build {build!r}; known: {list(GENE_MAPS)}")
    ref = resources.files("locusflow.data").joinpath("gencode", GENE_MAPS[key])
    with resources.as_file(ref) as path:
        g = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    if "strand" not in g:
        g["strand"] = ""
    return g[["chrom", "start", "stop", "gene_name", "strand"]].reset_index(drop=True)


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
