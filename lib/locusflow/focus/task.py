"""The FOCUS task: one work unit (consecutive blocks of one chromosome) read by path, aligned once per
population (:class:`locusflow.focus.align.PopulationSpan`), each block fine-mapped by the kernel
:func:`locusflow.focus.model.focus_block`, rows of the ``focus_results`` dataset out (one frame per unit).

Multi-ancestry (``len(pops) > 1``): gene models are matched across populations by ``match_on`` (gene,
tissue, method, panel; gene alone with tissue prioritisation, where each population keeps one model per
gene), never by database order or model number. Differences from pyfocus, on purpose: pyfocus matches
genes by its integer model id and then pairs the populations' rows by position after separate tx_start
sorts (wrong genes paired when the orders differ); it merges duplicated models of the same
gene/tissue/method/panel into one; its ``--intercept`` path raises NameError; a block with no GENCODE gene
aborts its whole run (we use prior 1e-3, the value its message announces); a block with one GENCODE gene
gets p = 1 and NaN PIPs (we use 1/2); a weight SNP monomorphic in the panel makes its V NaN.
"""
from __future__ import annotations

from math import erfc, sqrt

import numpy as np
import pandas as pd

from ..logs import get_logger
from ..ld.blocks import block_id
from ..schema import load
from .align import PopulationSpan
from .inputs import block_prior, load_population
from .model import focus_block

log = get_logger("focus")
MATCH_ON = ("gene", "tissue", "method", "ref_name")
NULL = {"model_id": "NULL.MODEL", "gene": "NULL.MODEL", "gene_name": "NULL", "gene_type": "NULL"}


def match_models(aligned: list[dict], spans: list[PopulationSpan], match_on) -> list[dict] | None:
    """Gene models shared by all populations, in population 1's order, and SNPs that still carry a weight.

    Parameters
    ----------
    aligned : list of dict
        Per population :meth:`PopulationSpan.block` output (z, W, V, models = model-table rows).
    spans : list of PopulationSpan
        The same populations, in the same order (their model tables identify the models).
    match_on : tuple of str
        Model-table columns that identify a model across populations.

    Returns
    -------
    list of dict or None
        The restricted z, W, V, models per population; None when no model is shared.
    """
    if len(aligned) == 1:
        d = aligned[0]
        keep = np.any(d["W"] != 0, axis=1)
        return [{"z": d["z"][keep], "W": d["W"][keep], "V": d["V"][np.ix_(keep, keep)], "models": d["models"]}]
    keys = []
    for d, sp in zip(aligned, spans):  # identity of a model; duplicates told apart by their rank
        k = sp.models.iloc[d["models"]][list(match_on)].astype(str).agg("\x1f".join, axis=1)
        keys.append(k + "\x1f" + k.groupby(k).cumcount().astype(str))
    common = pd.Index(keys[0])
    for k in keys[1:]:
        common = common[common.isin(set(k))]
    if not len(common):
        return None
    out = []
    for d, k in zip(aligned, keys):
        idx = pd.Index(k).get_indexer(common)
        W = d["W"][:, idx]
        keep = np.any(W != 0, axis=1)
        out.append({"z": d["z"][keep], "W": W[keep], "V": d["V"][np.ix_(keep, keep)], "models": d["models"][idx]})
    return out


def fit_block(spans: list[PopulationSpan], chrom: str, start: int, stop: int, *, prior_prob: float, ridge=0.1,
              max_genes=3, credible_level=0.9, intercept=False, p_threshold=5e-8, search="auto", tissue=None,
              strict_tissue=False):
    """Align, match and fine-map one block.

    Parameters
    ----------
    spans : list of PopulationSpan
        The unit's populations.
    chrom : str
        Chromosome of the block (no ``chr`` prefix).
    start, stop : int
        The block, 1-based half-open.
    prior_prob, ridge, max_genes, credible_level, intercept, search
        As :func:`locusflow.focus.model.focus_block`.
    p_threshold : float
        Skip the block unless a GWAS p is below it in some population.
    tissue, strict_tissue
        Tissue prioritisation (:func:`locusflow.focus.align.prioritise_tissue`).

    Returns
    -------
    tuple or None
        (aligned data per population, ldregion per population, kernel output), or None when the block is
        skipped (the reason is logged).
    """
    bid = block_id(chrom, start, stop)
    z2max = []
    for sp in spans:
        has, z2 = sp.has_gwas(start, stop)
        if not has:
            log.info("block %s: no GWAS data in %s, skipped", bid, sp.name)
            return None
        z2max.append(z2)
    if all(erfc(sqrt(z2 / 2)) >= p_threshold for z2 in z2max):  # chi2_1 tail of the largest z^2
        log.info("block %s: no GWAS p < %g, skipped", bid, p_threshold)
        return None
    aligned, regions = [], []
    for sp in spans:
        reg = sp.ldregion(chrom, start, stop)
        if reg is None:
            log.info("block %s: no panel SNPs, skipped", bid)
            return None
        d = sp.block(start, stop, ridge, tissue, strict_tissue)
        if d is None:
            log.info("block %s: %s has no usable gene model, skipped", bid, sp.name)
            return None
        aligned.append(d)
        regions.append(reg)
    aligned = match_models(aligned, spans, ("gene",) if tissue is not None else MATCH_ON)
    if aligned is None:
        log.info("block %s: no gene model common to all populations, skipped", bid)
        return None
    fit = focus_block([d["z"] for d in aligned], [d["W"] for d in aligned], [d["V"] for d in aligned],
                      prior_prob=prior_prob, max_genes=max_genes, credible_level=credible_level,
                      intercept=intercept, search=search)
    return aligned, regions, fit


class Rows:
    """``focus_results`` rows of a unit's blocks, kept as arrays and turned into one frame at the end
    (per block: each output's genes then NULL.MODEL, by decreasing PIP)."""

    def __init__(self, spans: list[PopulationSpan], chrom: str, trait: str):
        self.spans, self.chrom, self.trait = spans, chrom, trait
        self.n_out = 1 if len(spans) == 1 else len(spans) + 1
        self.parts = [[] for _ in range(self.n_out)]
        self.blocks = []

    def add(self, aligned, regions, fit, start, stop, prior_prob):
        b = len(self.blocks)
        self.blocks.append((block_id(self.chrom, start, stop), 1.0 / prior_prob, fit["search"]))
        for j in range(self.n_out):  # loop over populations (+ the joint result)
            i = min(j, len(self.spans) - 1)
            codes = np.append(aligned[i]["models"], len(self.spans[i].models))  # NULL.MODEL last
            n = len(codes) - 1
            pip = np.append(fit["pip"][j], fit["null"][j])
            me = j == len(self.spans)
            tz = np.full(n + 1, np.nan) if me else np.append(fit["twas_z"][j], 0.0)
            iz = np.append(np.full(n, np.nan if me else fit["inter_z"][j]), np.nan)
            o = np.argsort(-pip, kind="stable")
            self.parts[j].append((np.full(n + 1, b), codes[o], pip[o], fit["in_cred_set"][j][o], tz[o], iz[o],
                                  None if me else regions[j]))

    def frame(self) -> pd.DataFrame:
        if not self.blocks:
            return load("focus_results").empty()
        bid, bgenes, search = (np.array(x, dtype=object) for x in zip(*self.blocks))
        frames = []
        for j, parts in enumerate(self.parts):  # loop over outputs
            i = min(j, len(self.spans) - 1)
            blk, codes, pip, cred, tz, iz, reg = zip(*parts)
            blk, codes = np.concatenate(blk), np.concatenate(codes)
            md = pd.concat([self.spans[i].models, pd.DataFrame([NULL])], ignore_index=True).iloc[codes]
            name = "me" if j == len(self.spans) else self.spans[j].name
            frames.append(pd.DataFrame({
                "block_id": bid[blk], "population": name, "model_id": md["model_id"].to_numpy(),
                "ens_gene_id": md["gene"].to_numpy(), "ens_tx_id": md["ens_tx_id"].to_numpy(),
                "mol_name": md["gene_name"].to_numpy(), "tissue": md["tissue"].to_numpy(),
                "ref_name": md["ref_name"].to_numpy(), "type": md["gene_type"].to_numpy(), "chrom": self.chrom,
                "tx_start": md["tx_start"].to_numpy(), "tx_stop": md["tx_stop"].to_numpy(),
                "block_genes": bgenes[blk].astype(float), "trait": self.trait, "inference": md["method"].to_numpy(),
                "inter_z": np.concatenate(iz), "cv_r2": md["cv_r2"].to_numpy(), "cv_r2_pval": md["cv_pval"].to_numpy(),
                "ldregion": np.array(reg, dtype=object)[blk], "twas_z": np.concatenate(tz),
                "pip": np.concatenate(pip), "in_cred_set": np.concatenate(cred), "search": search[blk],
                "_b": blk, "_j": j}))
        out = pd.concat(frames, ignore_index=True)
        out = out.iloc[np.lexsort((out["_j"].to_numpy(), out["_b"].to_numpy()))]
        return out.drop(columns=["_b", "_j"]).reset_index(drop=True)


def focus_unit(unit: dict, *, pops: list, prior="gencode38", ridge: float = 0.1, max_genes: int = 3,
               credible_level: float = 0.9, intercept: bool = False, p_threshold: float = 5e-8,
               search: str = "auto", trait: str = "trait", tissue: str | None = None,
               strict_tissue: bool = False) -> pd.DataFrame:
    """Task of stage ``focus``: the blocks of one work unit -> ``focus_results`` rows.

    Parameters
    ----------
    unit : dict
        ``blocks``: list of [chrom, start, stop] (1-based half-open, one chromosome, sorted), or one block
        as ``chrom``, ``start``, ``stop``.
    pops : list of dict
        Per population: store, sumstats, weights paths, optional samples and name
        (:func:`locusflow.focus.inputs.load_population`).
    prior : str or float
        GENCODE map or probability (:func:`locusflow.focus.inputs.block_prior`).
    ridge, max_genes, credible_level, intercept, search
        As :func:`locusflow.focus.model.focus_block`.
    p_threshold : float
        Blocks with no GWAS p below it in any population are skipped.
    trait : str
        Trait label of the rows.
    tissue : str, optional
        Prioritise models of this tissue (pyfocus ``--tissue``; :func:`locusflow.focus.align.prioritise_tissue`).
    strict_tissue : bool
        Exact tissue-name matching.

    Returns
    -------
    pandas.DataFrame
        ``focus_results`` rows (empty when every block is skipped).

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675; pyfocus 0.802 ``focus finemap``.
    """
    blocks = unit.get("blocks") or [[unit["chrom"], unit["start"], unit["stop"]]]
    chrom = str(blocks[0][0])
    lo, hi = min(int(b[1]) for b in blocks), max(int(b[2]) for b in blocks)
    spans = [PopulationSpan(**load_population(p, chrom, lo, hi)) for p in pops]
    rows = Rows(spans, chrom, trait)
    for _, start, stop in blocks:  # loop over the unit's blocks
        start, stop = int(start), int(stop)
        prior_prob = block_prior(chrom, start, stop, prior)
        res = fit_block(spans, chrom, start, stop, prior_prob=prior_prob, ridge=ridge, max_genes=max_genes,
                        credible_level=credible_level, intercept=intercept, p_threshold=p_threshold,
                        search=search, tissue=tissue, strict_tissue=strict_tissue)
        if res is not None:
            rows.add(*res, start, stop, prior_prob)
    return rows.frame()


def block_details(pops: list, chrom: str, start: int, stop: int, *, prior="gencode38", ridge: float = 0.1,
                  max_genes: int = 3, credible_level: float = 0.9, intercept: bool = False,
                  p_threshold: float = 5e-8, search: str = "auto", trait: str = "trait",
                  tissue: str | None = None, strict_tissue: bool = False) -> list[dict]:
    """Per population, the model ids (matrix order) and predicted-expression correlation of one block.

    Parameters
    ----------
    pops : list of dict
        As :func:`focus_unit`.
    chrom, start, stop
        The block, 1-based half-open.
    prior, ridge, max_genes, credible_level, intercept, p_threshold, search, trait, tissue, strict_tissue
        As :func:`focus_unit` (``trait`` unused).

    Returns
    -------
    list of dict
        ``model_id`` (array) and ``wcor`` (Omega) per population; empty when the block is skipped.
    """
    spans = [PopulationSpan(**load_population(p, str(chrom), int(start), int(stop))) for p in pops]
    res = fit_block(spans, str(chrom), int(start), int(stop), prior_prob=block_prior(chrom, start, stop, prior),
                    ridge=ridge, max_genes=max_genes, credible_level=credible_level, intercept=intercept,
                    p_threshold=p_threshold, search=search, tissue=tissue, strict_tissue=strict_tissue)
    if res is None:
        return []
    aligned, _, fit = res
    return [{"model_id": sp.models["model_id"].to_numpy(object)[d["models"]], "wcor": w}
            for sp, d, w in zip(spans, aligned, fit["wcor"])]
