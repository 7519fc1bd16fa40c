"""Work units of the ``dnalm_features`` stage: genes in chunks, a DNA LM loaded once per process.

Each unit is ``{unit_id, cost, chrom, gene, gene_name, tss}`` (the gene lists of one chromosome's
chunk); :func:`reference_unit` returns its ``tss_features`` rows, :func:`personal_unit` its
``personal_features`` rows (:mod:`locusflow.dnalm.features`).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..io.fasta import Genome
from .features import personal_windows, window_embeddings
from .windows import windows


@functools.lru_cache(maxsize=2)
def _model(path):
    from .model import load_model
    return load_model(path or None)


@functools.lru_cache(maxsize=2)
def _genome(path):
    return Genome(path)


@functools.lru_cache(maxsize=2)
def _store(path):
    from ..io.genotypes import GenotypeStore
    return GenotypeStore(path)


def gene_units(genes: pd.DataFrame, per_unit: int) -> list[dict]:
    """Chunks of ``per_unit`` genes of one chromosome each (cost: genes).

    Parameters
    ----------
    genes : pandas.DataFrame
        gene, gene_name, chrom, tss (:func:`locusflow.dnalm.features.gene_tss`).
    per_unit : int
        Genes per unit.

    Returns
    -------
    list of dict
    """
    units = []
    for chrom, g in genes.sort_values(["chrom", "tss"]).groupby("chrom", sort=False):
        for s in range(0, len(g), per_unit):
            part = g.iloc[s:s + per_unit]
            units.append({"unit_id": f"{chrom}:{s}", "cost": float(len(part)), "chrom": str(chrom),
                          "gene": part["gene"].tolist(), "gene_name": part["gene_name"].tolist(),
                          "tss": part["tss"].astype(int).tolist()})
    return units


def reference_unit(unit: dict, fasta: str, model: str | None, length: int, batch_size: int = 64) -> pd.DataFrame:
    """``tss_features`` rows of one unit's genes (reference windows).

    Parameters
    ----------
    unit : dict
        From :func:`gene_units`.
    fasta, model : str
        Indexed FASTA; model directory (None: the shipped one).
    length, batch_size : int
        Window length; windows per forward pass.

    Returns
    -------
    pandas.DataFrame
    """
    tok = windows(_genome(fasta), unit["chrom"], np.asarray(unit["tss"]), length)
    emb = window_embeddings(_model(model), tok, batch_size=batch_size)
    return pd.DataFrame({"gene": unit["gene"], "gene_name": unit["gene_name"], "chrom": unit["chrom"],
                         "tss": unit["tss"], "features": list(emb)})


def personal_unit(unit: dict, fasta: str, model: str | None, store: str, length: int,
                  batch_size: int = 64) -> pd.DataFrame:
    """``personal_features`` rows of one unit's genes: distinct haplotype windows of the store's samples.

    Parameters
    ----------
    unit : dict
        From :func:`gene_units`.
    fasta, model, store : str
        Indexed FASTA; model directory (None: shipped); genotype store.
    length, batch_size : int
        Window length; windows per forward pass.

    Returns
    -------
    pandas.DataFrame
    """
    st = _store(store)
    var = st.variants
    on = var["chrom"].astype(str).to_numpy() == unit["chrom"]
    pos = var["pos"].to_numpy()
    rows = []
    for gene, tss in zip(unit["gene"], unit["tss"]):            # loop over the unit's genes
        seq = np.flatnonzero(on & (np.abs(pos - tss) <= length // 2))
        hap = (st.haplotypes(int(seq.min()), int(seq.max()) + 1)[seq - seq.min()] if len(seq)
               else np.zeros((0, 2 * st.n_samples), np.int8))
        tok, index, rep = personal_windows(_genome(fasta), unit["chrom"], tss, length, var.iloc[seq], hap)
        emb = window_embeddings(_model(model), tok, batch_size=batch_size)
        slots = index.ravel()
        order = np.argsort(slots, kind="stable")
        bounds = np.searchsorted(slots[order], np.arange(len(tok) + 1))
        rows.append(pd.DataFrame({"gene": gene, "chrom": unit["chrom"], "tss": tss, "haplotype": np.arange(len(tok)),
                                  "n_substituted": rep["substituted"], "features": list(emb),
                                  "carriers": [order[bounds[k]:bounds[k + 1]] for k in range(len(tok))]}))
    return pd.concat(rows, ignore_index=True)
