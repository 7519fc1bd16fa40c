"""A run's variants with their GWAS statistics and annotation scores, for the binned GWAS-signal enrichment
(:mod:`locusflow.enrich.gwas_signal`): chi^2 = z^2 and genome-wide significance from the sumstats, fine-mapped
PIPs, the DNA-LM score (-llr), GPNxLD, and the baselines LD score (from the run's LD matrices), GC content and
CpG (from a FASTA). Scores and PIPs are matched on ``variant_id`` in either allele order (the score table is in
the genome's orientation, the sumstats in the panel's).

References
----------
Bulik-Sullivan BK et al. (2015) Nat Genet 47:291 (LD scores, block jackknife). Finucane HK et al. (2015) Nat
Genet 47:1228. Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .gwas_signal import binned_enrichment, cpg, gc_content, jackknife_blocks, joint_regression, ld_scores

SCORES = {"llr": "dnalm_-llr", "gpnxld": "gpnxld", "ld_score": "ld_score", "gc": "gc_100bp"}


def _match(ids: pd.Series, swapped: pd.Series, table: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``table`` (indexed by variant_id) for each id, else for its swapped id; NaN when neither."""
    s = table[~table.index.duplicated()][column]
    return ids.map(s).fillna(swapped.map(s)).to_numpy(np.float64)


def ld_score_table(ld_dir) -> pd.DataFrame:
    """LD score of every variant of an LD directory, within its block (the LDSC bias correction).

    Parameters
    ----------
    ld_dir : str or Path
        The ld stage's matrices (``index`` table and one Zarr group per block).

    Returns
    -------
    DataFrame
        variant_id, ld_score.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291.
    """
    from ..ld.matrix import read_block_ld, read_ld_index
    idx = read_ld_index(ld_dir)
    parts = []
    for b in idx.itertuples():                       # one LD block at a time (never genome-wide LD)
        v, r = read_block_ld(ld_dir, b.block_id)
        parts.append(pd.DataFrame({"variant_id": v["variant_id"].to_numpy(),
                                   "ld_score": ld_scores(r, int(b.n_samples))}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["variant_id", "ld_score"])


def signal_frame(sumstats: pd.DataFrame, *, scores=None, gpnxld=None, finemap=None, ld=None, fasta=None,
                 gw_p: float = 5e-8) -> pd.DataFrame:
    """Per variant: chrom, pos, chi2, gw, pip, llr, gpnxld, ld_score, gc, cpg (NaN where not available).

    Parameters
    ----------
    sumstats : DataFrame
        variant_id, chrom, pos, ref, alt, z and p (or neg_log10_p).
    scores : DataFrame, optional
        variant_scores rows (variant_id, llr).
    gpnxld : DataFrame, optional
        gpnxld rows (variant_id, gpnxld; with block_id and scored, blocks without a scored variant get NaN).
    finemap : DataFrame, optional
        finemap_snp rows (variant_id, pip).
    ld : DataFrame, optional
        :func:`ld_score_table` rows.
    fasta : str or Path, optional
        Indexed FASTA for GC content (+-50 bp) and CpG.
    gw_p : float
        Genome-wide significance threshold.

    Returns
    -------
    DataFrame
    """
    s = sumstats.reset_index(drop=True)
    ids = s["variant_id"].astype(str)
    sw = s["chrom"].astype(str) + ":" + s["pos"].astype(str) + ":" + s["alt"].astype(str) + ":" + s["ref"].astype(str)
    out = pd.DataFrame({"variant_id": ids, "chrom": s["chrom"].astype(str), "pos": s["pos"].astype(np.int64),
                        "chi2": s["z"].to_numpy(np.float64) ** 2})
    if "neg_log10_p" in s and s["neg_log10_p"].notna().any():
        out["gw"] = (s["neg_log10_p"].to_numpy(np.float64) > -np.log10(gw_p)).astype(np.float64)
    else:
        out["gw"] = (s["p"].to_numpy(np.float64) < gw_p).astype(np.float64)
    if gpnxld is not None and {"block_id", "scored"} <= set(gpnxld.columns):   # no score in the block: no GPNxLD
        gpnxld = gpnxld.assign(gpnxld=gpnxld["gpnxld"].where(gpnxld.groupby("block_id")["scored"].transform("any")))
    for col, tab in (("pip", finemap), ("llr", scores), ("gpnxld", gpnxld), ("ld_score", ld)):
        out[col] = np.nan if tab is None else _match(ids, sw, tab.set_index("variant_id"), col)
    out["gc"], out["cpg"] = np.nan, np.nan
    if fasta is not None:
        from ..io.fasta import Genome
        g = Genome(fasta)
        for c in out["chrom"].unique():
            seq = g.sequence(c)
            if seq is not None:
                m = (out["chrom"] == c).to_numpy()
                p = out.loc[m, "pos"].to_numpy()
                ok = p <= len(seq)
                out.loc[np.flatnonzero(m)[ok], "gc"] = gc_content(seq, p[ok], 50)
                out.loc[np.flatnonzero(m)[ok], "cpg"] = cpg(seq, p[ok])
    return out


def signal_tables(frame: pd.DataFrame, *, n_bins: int = 5, n_blocks: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binned enrichment of every available statistic in every available score, and the joint regressions.

    Parameters
    ----------
    frame : DataFrame
        :func:`signal_frame` output.
    n_bins, n_blocks : int
        Equal-count score bins; contiguous jackknife blocks (chromosome-major position order).

    Returns
    -------
    enrichment : DataFrame
        Rows of :func:`locusflow.enrich.gwas_signal.binned_enrichment` for scores dnalm_-llr, gpnxld, ld_score,
        gc_100bp (equal-count bins) and cpg (2 bins: 0 / 1), the ones with values; each score over the
        variants that have it (enrichment relative to their mean; their own jackknife blocks).
    regression : DataFrame
        model (ld_only, ld+gpnxld, ld+gpnxld+llr: those whose scores exist), term, coef, se, z: chi2 on the
        standardised scores jointly.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. Finucane HK et al. (2015) Nat Genet 47:1228.
    """
    rank = {c: i for i, c in enumerate(pd.unique(frame["chrom"]))}
    key = frame["chrom"].map(rank).to_numpy(np.int64) * 10 ** 10 + frame["pos"].to_numpy(np.int64)
    values = {k: frame[k].to_numpy(np.float64) for k in ("chi2", "gw", "pip") if frame[k].notna().any()}
    have = {k: frame[k].notna().sum() >= n_bins for k in ("llr", "gpnxld", "ld_score", "gc", "cpg")}
    parts = []
    for k, name in list(SCORES.items()) + [("cpg", "cpg")]:
        if not have[k]:
            continue
        s = (-frame[k] if k == "llr" else frame[k]).to_numpy(np.float64)
        ok = np.isfinite(s)                 # each score over the variants that have it (overall mean included)
        parts.append(binned_enrichment({v: x[ok] for v, x in values.items()}, s[ok], jackknife_blocks(key[ok], n_blocks),
                                       n_bins=2 if k == "cpg" else n_bins, name=name,
                                       bins=s[ok].astype(np.int64) if k == "cpg" else None))
    cols = ["score", "stat", "bin", "n", "score_lo", "score_hi", "mean", "mean_se", "enrichment", "enrichment_se",
            "ci_lo", "ci_hi", "z"]
    enr = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    models = {"ld_only": ("ld_score",), "ld+gpnxld": ("ld_score", "gpnxld"), "ld+gpnxld+llr": ("ld_score", "gpnxld", "llr")}
    reg = []
    for m, terms in models.items():
        if all(have[k] for k in terms):     # complete cases of the model's scores, their own jackknife blocks
            ok = frame[list(terms)].notna().all(axis=1).to_numpy() & np.isfinite(values["chi2"])
            x = {("dnalm_-llr" if k == "llr" else k): (-1 if k == "llr" else 1) * frame[k].to_numpy(np.float64)[ok]
                 for k in terms}
            reg.append(joint_regression(values["chi2"][ok], x, jackknife_blocks(key[ok], n_blocks)).assign(model=m))
    reg = pd.concat(reg, ignore_index=True) if reg else pd.DataFrame(columns=["model", "term", "coef", "se", "z"])
    return enr[cols], reg[["model", "term", "coef", "se", "z"]]
