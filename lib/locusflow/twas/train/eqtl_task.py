"""Work units of the ``eqtl`` stage: blocks of neighbouring genes of one chromosome and the SNPs of their
cis windows, read once per unit from the genotype store.

:func:`eqtl_units` cuts the genes; :func:`pairs_unit` maps a unit's nominal pairs (``eqtl_pairs``) and
:func:`genes_unit` its gene-level permutation pass (``eqtl_genes``). Expression and covariates come from
``.npy`` files the stage writes once (paths, never data, in the unit).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .eqtl import cis_nominal, cis_permutations

GENE_COLUMNS = ("gene", "chrom", "tss", "num_var", "variant_id", "beta", "se", "pval_nominal", "pval_perm",
                "beta_shape1", "beta_shape2", "true_df", "pval_true_df", "pval_beta", "qval")


def eqtl_units(genes: pd.DataFrame, variants: pd.DataFrame, *, window: int, genes_per_unit: int = 200) -> list[dict]:
    """Units of up to ``genes_per_unit`` neighbouring genes with the store rows of their cis SNPs.

    Parameters
    ----------
    genes : pandas.DataFrame
        gene, chrom, tss, row (row of the expression matrix).
    variants : pandas.DataFrame
        The store's variants (chrom, pos; rows in store order).
    window : int
        cis window (bp).
    genes_per_unit : int
        Genes per unit.

    Returns
    -------
    list of dict
        unit_id, cost (pairs, roughly), chrom, rows (expression rows), gene, tss, snps (store rows).
    """
    chrom = variants["chrom"].astype(str).to_numpy()
    pos = variants["pos"].to_numpy()
    units = []
    for c, g in genes.sort_values(["chrom", "tss"]).groupby("chrom", sort=False):
        on = np.flatnonzero(chrom == str(c))
        for s in range(0, len(g), genes_per_unit):
            part = g.iloc[s:s + genes_per_unit]
            lo, hi = part["tss"].min() - window, part["tss"].max() + window
            snps = on[(pos[on] >= lo) & (pos[on] <= hi)]
            units.append({"unit_id": f"{c}:{s}", "cost": float(len(part) * max(len(snps), 1)), "chrom": str(c),
                          "rows": part["row"].astype(int).tolist(), "gene": part["gene"].tolist(),
                          "tss": part["tss"].astype(int).tolist(), "snps": snps.astype(int).tolist()})
    return units


def _load(unit, store, expression, covariates, samples):
    from ...io.genotypes import GenotypeStore
    st = GenotypeStore(store)
    y = np.asarray(np.load(expression, mmap_mode="r")[unit["rows"]]).T
    cov = np.load(covariates) if covariates else None
    snps = np.asarray(unit["snps"], dtype=np.int64)
    var = st.variants.iloc[snps]
    d = st.dosages(index=snps, samples=np.asarray(samples)).T if len(snps) else np.zeros((len(y), 0))
    return y, cov, var, d, var["pos"].to_numpy(), np.asarray(unit["tss"]), np.asarray(unit["gene"], dtype=object)


def pairs_unit(unit: dict, *, store: str, expression: str, covariates: str | None, samples: list,
               window: int) -> pd.DataFrame:
    """One unit's nominal SNP-gene pairs (schema eqtl_pairs; ``qval`` filled by the stage over all pairs).

    Parameters
    ----------
    unit : dict
        From :func:`eqtl_units`.
    store : str
        Genotype store.
    expression, covariates : str
        ``.npy`` of the expression [genes, samples] and the covariate design [samples, k] (or None).
    samples : list of int
        Store positions of the samples (columns of ``expression``).
    window : int
        cis window (bp).

    Returns
    -------
    pandas.DataFrame
    """
    y, cov, var, d, pos, tss, genes = _load(unit, store, expression, covariates, samples)
    nom = cis_nominal(d, pos, y, tss, window=window, covariates=cov)
    af = np.nanmean(d, axis=0) / 2 if d.shape[1] else np.zeros(0)
    return pd.DataFrame({"gene": genes[nom["gene"]], "variant_id": var["variant_id"].to_numpy()[nom["snp"]],
                         "chrom": unit["chrom"], "pos": pos[nom["snp"]], "distance": nom["distance"].to_numpy(),
                         "af": af[nom["snp"]], **{k: nom[k].to_numpy() for k in ("beta", "se", "t", "pval")},
                         "qval": np.nan})


def genes_unit(unit: dict, *, store: str, expression: str, covariates: str | None, samples: list, window: int,
               n_perm: int, seed: int) -> pd.DataFrame:
    """One unit's gene-level rows (schema eqtl_genes; ``qval`` filled by the stage over all genes).

    Parameters
    ----------
    unit, store, expression, covariates, samples, window
        As :func:`pairs_unit`.
    n_perm, seed : int
        Permutations and their seed (:func:`locusflow.twas.train.eqtl.cis_permutations`).

    Returns
    -------
    pandas.DataFrame
    """
    y, cov, var, d, pos, tss, genes = _load(unit, store, expression, covariates, samples)
    g = cis_permutations(d, pos, y, tss, window=window, covariates=cov, n_perm=n_perm, seed=seed)
    if not len(g):
        return pd.DataFrame(columns=list(GENE_COLUMNS))
    return pd.DataFrame({"gene": genes[g["gene"]], "chrom": unit["chrom"], "tss": tss[g["gene"]],
                         "num_var": g["num_var"].to_numpy(), "variant_id": var["variant_id"].to_numpy()[g["snp"]],
                         **{k: g[k].to_numpy() for k in GENE_COLUMNS[5:-1]}, "qval": np.nan})
