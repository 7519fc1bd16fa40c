"""Work units of the ``dnalm_motifs`` stage: the regions in chunks, the model's importance at every position.

A unit is ``{unit_id, cost, chrom, region, name, start, end}`` (lists: the regions of one chromosome's
chunk; ``region`` their indices in the stage's region table); :func:`importance_unit` returns its rows of
the ``motif_importance`` dataset (:func:`locusflow.dnalm.motifs.region_importance`), which the driver reads
back as arrays with :func:`importance_arrays`.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .windows import LUT

BASES = np.array(list("ACGTN"))


@functools.lru_cache(maxsize=2)
def _loaded(fasta: str, model):
    from ..io.fasta import Genome
    from .model import load_model
    return Genome(fasta), load_model(model or None)


def region_units(regions: pd.DataFrame, per_unit: int) -> list[dict]:
    """Chunks of ``per_unit`` regions of one chromosome each (cost: bases).

    Parameters
    ----------
    regions : pandas.DataFrame
        ``chrom``, ``start``, ``end`` (1-based inclusive), ``name``; row order = region index.
    per_unit : int

    Returns
    -------
    list of dict
    """
    units = []
    r = regions.reset_index(drop=True).assign(region=np.arange(len(regions)))
    for chrom, g in r.groupby("chrom", sort=False):
        for s in range(0, len(g), per_unit):
            part = g.iloc[s:s + per_unit]
            units.append({"unit_id": f"{chrom}:{s}", "cost": float((part["end"] - part["start"] + 1).sum()),
                          "chrom": str(chrom), "region": part["region"].astype(int).tolist(),
                          "name": part["name"].astype(str).tolist(), "start": part["start"].astype(int).tolist(),
                          "end": part["end"].astype(int).tolist()})
    return units


def importance_unit(unit: dict, fasta: str, model: str | None, window: int = 128, batch_size: int = 256) -> pd.DataFrame:
    """``motif_importance`` rows of one unit's regions: every position, masked in turn, both strands.

    Parameters
    ----------
    unit : dict
        A chunk of regions of one chromosome (:func:`region_units`).
    fasta : str
        Indexed FASTA.
    model : str or None
        Model directory (None: the shipped one); loaded once per process.
    window, batch_size : int
        Model window; windows per forward pass.

    Returns
    -------
    pandas.DataFrame
        Columns of the ``motif_importance`` schema.
    """
    from .motifs import region_importance
    genome, lm = _loaded(fasta, model)
    regs = pd.DataFrame({"chrom": unit["chrom"], "start": unit["start"], "end": unit["end"], "name": unit["name"]})
    imp = region_importance(lm, genome, regs, window=window, batch_size=batch_size)
    local = imp["region"]
    return pd.DataFrame({"region": np.asarray(unit["region"], dtype=np.int64)[local],
                         "region_name": np.asarray(unit["name"], dtype=object)[local], "chrom": unit["chrom"],
                         "pos": imp["pos"], "ref": BASES[np.minimum(imp["ref"], 4)],
                         "p_a": imp["prob"][:, 0], "p_c": imp["prob"][:, 1], "p_g": imp["prob"][:, 2],
                         "p_t": imp["prob"][:, 3], "ic": imp["ic"], "ism": imp["ism"]})


def importance_arrays(frame: pd.DataFrame) -> dict:
    """The arrays of :func:`locusflow.dnalm.motifs.region_importance` from ``motif_importance`` rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of the dataset (any order).

    Returns
    -------
    dict of numpy.ndarray
        ``region``, ``chrom``, ``pos``, ``ref`` (tokens), ``prob``, ``ic``, ``heights``, ``ism``, by region
        then position.
    """
    f = frame.sort_values(["region", "pos"], kind="stable")
    prob = f[["p_a", "p_c", "p_g", "p_t"]].to_numpy(float)
    ic = f["ic"].to_numpy(float)
    ref = LUT[np.frombuffer("".join(f["ref"].astype(str)).encode("ascii"), dtype=np.uint8)]
    return {"region": f["region"].to_numpy(np.int64), "chrom": f["chrom"].astype(str).to_numpy(dtype=object),
            "pos": f["pos"].to_numpy(np.int64), "ref": ref, "prob": prob, "ic": ic, "heights": prob * ic[:, None],
            "ism": f["ism"].to_numpy(float)}
