"""The GENCODE gene maps bundled in ``locusflow/data/gencode``: gene positions for plots, searches and
gene-near-variant sets.

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
    """Bundled gene map of ``build`` (GRCh37 / hg19 or GRCh38 / hg38).

    Parameters
    ----------
    build : str
        Genome build of the run (``genome_build`` of the config).

    Returns
    -------
    DataFrame
        One row per gene: chrom, start, stop, gene_name, strand ("+", "-" or "" when the map has none) and
        gene_id (Ensembl id without version).

    Raises
    ------
    ValueError
        When there is no bundled map for ``build``.
    """
    key = {"hg19": "GRCh37", "37": "GRCh37", "hg38": "GRCh38", "38": "GRCh38"}.get(str(build), str(build))
    if key not in GENE_MAPS:
        raise ValueError(f"no bundled gene map for genome build {build!r}; known: {list(GENE_MAPS)}")
    ref = resources.files("locusflow.data").joinpath("gencode", GENE_MAPS[key])
    with resources.as_file(ref) as path:
        g = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    if "strand" not in g:
        g["strand"] = ""
    ids = g["gene_id"] if "gene_id" in g else g.get("gencode_id", pd.Series("", index=g.index))
    g["gene_id"] = ids.astype(str).str.replace(r"\.\d+$", "", regex=True)
    return g[["chrom", "start", "stop", "gene_name", "strand", "gene_id"]].reset_index(drop=True)


def genes_near(variants: pd.DataFrame, genes: pd.DataFrame, window: int) -> pd.DataFrame:
    """Pairs (variant, gene) with the gene body within ``window`` bp of the variant.

    Parameters
    ----------
    variants : DataFrame
        chrom (str), pos (1-based) and any other columns (kept).
    genes : DataFrame
        chrom, start, stop, gene_name, gene_id (as :func:`gene_map`).
    window : int
        Largest distance in bp between the variant and the gene body (0: the variant lies in the gene).

    Returns
    -------
    DataFrame
        One row per pair: the variant's columns plus gene_name, gene_id and ``distance`` (0 inside the gene,
        else bp to the nearer end). Per chromosome each gene's variant range comes from ``searchsorted`` over
        the sorted positions (no loop over variants or genes).
    """
    out = []
    for chrom, v in variants.groupby(variants["chrom"].astype(str), sort=False):
        g = genes[genes["chrom"].astype(str) == chrom]
        if not len(g):
            continue
        v = v.iloc[np.argsort(v["pos"].to_numpy(np.int64), kind="stable")]
        pos = v["pos"].to_numpy(np.int64)
        st, sp = g["start"].to_numpy(np.int64), g["stop"].to_numpy(np.int64)
        a = np.searchsorted(pos, st - window, side="left")        # variants of gene i: rows a[i]..b[i]-1
        b = np.searchsorted(pos, sp + window, side="right")
        cnt = np.maximum(b - a, 0)
        gi = np.repeat(np.arange(len(g)), cnt)
        vi = np.repeat(a, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        d = np.maximum(np.maximum(st[gi] - pos[vi], pos[vi] - sp[gi]), 0)
        out.append(v.iloc[vi].reset_index(drop=True).assign(gene_name=g["gene_name"].to_numpy()[gi],
                                                           gene_id=g["gene_id"].to_numpy()[gi], distance=d))
    if not out:
        return variants.iloc[:0].assign(gene_name=pd.Series(dtype=str), gene_id=pd.Series(dtype=str),
                                        distance=pd.Series(dtype=np.int64))
    return pd.concat(out, ignore_index=True)


def genes_covered(variants: pd.DataFrame, genes: pd.DataFrame, window: int) -> pd.DataFrame:
    """The genes with at least one of ``variants`` within ``window`` bp of the gene body.

    Parameters
    ----------
    variants : DataFrame
        chrom (str) and pos (1-based).
    genes : DataFrame
        chrom, start, stop, gene_name, gene_id (as :func:`gene_map`).
    window : int
        Largest distance in bp between a variant and the gene body.

    Returns
    -------
    DataFrame
        The rows of ``genes`` that are covered, with ``n_variants`` (variants within the window). Per
        chromosome: two ``searchsorted`` over the sorted positions, no pairs built.
    """
    out = []
    for chrom, g in genes.groupby(genes["chrom"].astype(str), sort=False):
        pos = np.sort(variants.loc[variants["chrom"].astype(str) == chrom, "pos"].to_numpy(np.int64))
        if not len(pos):
            continue
        n = (np.searchsorted(pos, g["stop"].to_numpy(np.int64) + window, side="right")
             - np.searchsorted(pos, g["start"].to_numpy(np.int64) - window, side="left"))
        out.append(g[n > 0].assign(n_variants=n[n > 0]))
    return pd.concat(out, ignore_index=True) if out else genes.iloc[:0].assign(n_variants=pd.Series(dtype=np.int64))
