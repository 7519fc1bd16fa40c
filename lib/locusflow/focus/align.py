"""FOCUS inputs of one population over a span of blocks, aligned once and sliced per block.

Alignment follows pyfocus 0.802 ``fine_map``/``align_data`` (``focus finemap``), with the allele
matching of :func:`locusflow.io.harmonise.harmonise` (equal, swapped, strand-flipped or both; z and
weights flipped to the panel's alt allele):

- panel SNPs must be unambiguous ACGT SNPs, first of duplicated positions kept;
- GWAS z join the panel by chrom:pos and alleles (pyfocus joins GWAS, panel and weights by rsid; we by
  position and alleles, DESIGN's join key, so inputs whose rsids disagree at one position can differ);
- a gene model takes part in a block when one of its weight SNPs is a GWAS SNP of the block (pyfocus
  queries its database by the block's GWAS SNPs); its weights join the aligned SNPs the same way; models
  with no aligned SNP or only (near-)zero weights are dropped;
- V = corr(G_ref) + ridge * I over the SNPs with a weight (missing calls mean-imputed); weight SNPs
  monomorphic in the panel are dropped (pyfocus gets NaN in V and loses the block);
- genes sorted by tx_start (ties: by model id).

Tissue prioritisation (pyfocus ``--tissue``, ``get_tissue_prioritized_genes``): among a block's
candidate models of a gene, the one from a tissue whose name contains ``tissue`` (case-insensitive)
with the largest cv_r2, else the proxy-tissue model with the largest cv_r2; ties go to the first model
in (gene, tissue, method, panel) order; models without cv_r2 are left out. Difference: pyfocus's
``--strict-tissue`` adds exact matching to the substring test (so it never narrows it); here
``strict=True`` means exact matching only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.harmonise import harmonise, load_reference

VALID = {("A", "C"), ("A", "G"), ("C", "A"), ("C", "T"), ("G", "A"), ("G", "T"), ("T", "C"), ("T", "G")}


def valid_snp(a, b) -> np.ndarray:
    """Unambiguous ACGT SNPs: both alleles known, different, not complementary.

    Parameters
    ----------
    a, b : array-like of str
        The two alleles of each variant.

    Returns
    -------
    numpy.ndarray of bool

    References
    ----------
    pyfocus 0.802 ``VALID_SNPS`` / ``check_valid_snp``.
    """
    pair = pd.Series(np.asarray(a, dtype=object)).astype(str) + pd.Series(np.asarray(b, dtype=object)).astype(str)
    return pair.isin({x + y for x, y in VALID}).to_numpy()


def panel_ld(dosage: np.ndarray, ridge: float) -> np.ndarray:
    """Correlation of the variants (rows), missing calls mean-imputed, float64, plus ridge * I.

    Parameters
    ----------
    dosage : numpy.ndarray, shape (p, n)
        Alt dosages, NaN = missing.
    ridge : float
        Added to the diagonal (pyfocus ``--ridge-term``, 0.1).

    Returns
    -------
    numpy.ndarray, shape (p, p)

    References
    ----------
    pyfocus 0.802 ``LDRefPanel.estimate_ld`` + ``fine_map`` (ridge).
    """
    x = np.asarray(dosage, dtype=np.float64)
    mean = np.nanmean(x, axis=1, keepdims=True)
    x = np.where(np.isnan(x), mean, x) - mean
    c = x @ x.T
    d = 1.0 / np.sqrt(np.diag(c))
    return c * d[:, None] * d[None, :] + ridge * np.eye(len(c))


def prioritise_tissue(models: pd.DataFrame, tissue: str, strict: bool = False) -> np.ndarray:
    """One model per gene, preferring ``tissue`` (pyfocus ``--tissue``; rule in the module docstring).

    Parameters
    ----------
    models : pandas.DataFrame
        Candidate models: gene, tissue, method, ref_name, cv_r2.
    tissue : str
        Relevant tissue: a case-insensitive substring (regular expression) of the model's tissue, or its
        exact name when ``strict``.
    strict : bool
        Exact matching.

    Returns
    -------
    numpy.ndarray of bool
        Mask of the chosen models (rows of ``models``).

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675; pyfocus 0.802 ``bin/focus`` ``get_tissue_prioritized_genes``.
    """
    t = models["tissue"].astype(str)
    match = (t == tissue) if strict else t.str.contains(tissue, case=False, regex=True)
    r2 = models["cv_r2"].to_numpy(float)
    ok = ~np.isnan(r2)
    key = [models[c].astype(str).to_numpy() for c in ("ref_name", "method", "tissue")]
    order = np.lexsort((*key, -np.where(ok, r2, -np.inf), ~match.to_numpy(), models["gene"].astype(str).to_numpy()))
    order = order[ok[order]]
    gene = models["gene"].astype(str).to_numpy()[order]
    first = np.r_[True, gene[1:] != gene[:-1]] if len(order) else np.zeros(0, bool)
    keep = np.zeros(len(models), bool)
    keep[order[first]] = True
    return keep


class PopulationSpan:
    """One population's GWAS, panel and weights over a span of one chromosome, aligned once.

    Parameters
    ----------
    gwas : pandas.DataFrame
        Sumstats rows of the span (chrom, pos, ref, alt, z), sorted by pos.
    panel : pandas.DataFrame
        Panel variants of the span (chrom, pos, ref, alt, store_index), sorted by pos.
    weights : pandas.DataFrame
        Weight rows of the chromosome (model_id, pos, effect_allele, other_allele, weight).
    models : pandas.DataFrame
        One row per model_id: gene, gene_name, tissue, method, ref_name, gene_type, ens_tx_id,
        tx_start, tx_stop, cv_r2, cv_pval.
    geno : callable
        ``geno(store_index) -> (variants, samples)`` alt dosages.
    name : str
        Population name.
    """

    def __init__(self, gwas, panel, weights, models, geno, name="pop1"):
        self.name = name
        self.models = models.reset_index(drop=True)
        self.graw_pos = gwas["pos"].to_numpy(np.int64)
        self.graw_z2 = gwas["z"].to_numpy(float) ** 2
        panel = panel[valid_snp(panel["alt"], panel["ref"])].drop_duplicates("pos")
        self.ppos = panel["pos"].to_numpy(np.int64)
        cols = ["chrom", "pos", "ref", "alt", "variant_id"]
        ref = panel[cols] if "variant_id" in panel else load_reference(panel[cols[:4]])
        g = pd.DataFrame({"chrom": gwas["chrom"].to_numpy(), "pos": self.graw_pos, "a1": gwas["alt"].to_numpy(),
                          "a2": gwas["ref"].to_numpy(), "z": gwas["z"].to_numpy(float)})
        kept = harmonise(g, ref)[0]
        spos, first = np.unique(kept["pos"].to_numpy(np.int64), return_index=True)
        self.spos, self.sz = spos, kept["z"].to_numpy(float)[first]
        self.ssidx = panel["store_index"].to_numpy()[np.searchsorted(self.ppos, spos)]
        sref = ref.iloc[np.searchsorted(self.ppos, spos)].reset_index(drop=True)
        mcode = (weights["model_code"].to_numpy() if "model_code" in weights
                 else pd.Index(self.models["model_id"]).get_indexer(weights["model_id"]))
        wpos = weights["pos"].to_numpy(np.int64)
        in_gwas = np.isin(wpos, self.graw_pos) & (mcode >= 0)
        order = np.argsort(wpos[in_gwas], kind="stable")
        self.cand_pos, self.cand_model = wpos[in_gwas][order], mcode[in_gwas][order]
        wg = pd.DataFrame({"chrom": sref["chrom"].iloc[0] if len(sref) else "", "pos": wpos[in_gwas],
                           "a1": weights["effect_allele"].to_numpy()[in_gwas],
                           "a2": weights["other_allele"].to_numpy()[in_gwas],
                           "z": weights["weight"].to_numpy(float)[in_gwas], "row": mcode[in_gwas]})
        wk = harmonise(wg, sref)[0] if len(wg) and len(sref) else wg.iloc[:0]
        wsnp = np.searchsorted(spos, wk["pos"].to_numpy(np.int64))
        order = np.argsort(wsnp, kind="stable")
        self.w_snp, self.w_model = wsnp[order], wk["row"].to_numpy(np.int64)[order]
        self.w_val = wk["z"].to_numpy(float)[order]
        self.w_pos = spos[self.w_snp] if len(spos) else np.zeros(0, np.int64)
        need = np.unique(self.w_snp)
        self.dos_snp = need
        dos = np.asarray(geno(self.ssidx[need]), dtype=np.float32) if len(need) else np.zeros((0, 0), np.float32)
        self.dosage = dos
        self.poly = np.nanvar(dos, axis=1) > 0 if len(need) else np.zeros(0, bool)

    def has_gwas(self, start, stop) -> tuple[bool, float]:
        """(any GWAS SNP in [start, stop), largest z^2 there)."""
        lo, hi = np.searchsorted(self.graw_pos, [start, stop])
        return hi > lo, float(self.graw_z2[lo:hi].max()) if hi > lo else 0.0

    def ldregion(self, chrom, start, stop):
        """pyfocus's ldregion: first and last usable panel SNP of the block, or None without any."""
        lo, hi = np.searchsorted(self.ppos, [start, stop])
        return f"{chrom}:{int(self.ppos[lo])}-{chrom}:{int(self.ppos[hi - 1])}" if hi > lo else None

    def block(self, start, stop, ridge: float, tissue=None, strict_tissue=False):
        """Aligned data of the block [start, stop): dict(z, W, V, models: row codes) or None."""
        lo, hi = np.searchsorted(self.w_pos, [start, stop])
        snp, model, val = self.w_snp[lo:hi], self.w_model[lo:hi], self.w_val[lo:hi]
        if tissue is not None:
            clo, chi = np.searchsorted(self.cand_pos, [start, stop])
            cand = np.unique(self.cand_model[clo:chi])
            chosen = cand[prioritise_tissue(self.models.iloc[cand], tissue, strict_tissue)]
            keep = np.isin(model, chosen)
            snp, model, val = snp[keep], model[keep], val[keep]
        nz = ~np.isclose(val, 0)
        has_nz = np.unique(model[nz])
        keep = np.isin(model, has_nz)
        snp, model, val = snp[keep], model[keep], val[keep]
        if not len(val):
            return None
        d = np.searchsorted(self.dos_snp, snp)
        poly = self.poly[d]
        snp, model, val, d = snp[poly], model[poly], val[poly], d[poly]
        if not len(val):
            return None
        md = np.unique(model)
        tx = self.models["tx_start"].to_numpy()[md]
        mid = self.models["model_id"].to_numpy(object)[md]
        md = md[np.lexsort((mid, tx))]
        used, row = np.unique(snp, return_inverse=True)
        col = np.searchsorted(np.sort(md), model)
        col = np.argsort(md)[col]
        W = np.zeros((len(used), len(md)))
        np.add.at(W, (row, col), val)
        V = panel_ld(self.dosage[np.searchsorted(self.dos_snp, used)], ridge)
        return {"z": self.sz[used], "W": W, "V": V, "models": md}
