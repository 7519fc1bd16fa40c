"""One motif analysis of a DNA LM over a set of regions: importance, seqlets, motifs, database matches,
logos, as tables of the schemas ``motifs``, ``motif_matches`` and ``seqlets`` (stage ``dnalm_motifs``).

Regions come from a BED (:func:`locusflow.dnalm.annotate.read_bed`) or are promoter windows of ``length``
bp centred on each gene's TSS (:func:`tss_regions`; the bundled GENCODE map by default). See
:mod:`locusflow.dnalm.motifs` for the method and :mod:`locusflow.dnalm.tomtom` for the comparison.

References
----------
Shrikumar A et al. (2018) TF-MoDISco v0.5.6.5. arXiv:1811.00416.
Gupta S et al. (2007) Quantifying similarity between motifs. Genome Biology 8:R24.
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .motif_db import Motif, bundled, read_motifs
from .motifs import as_motifs, contributions, discover_motifs, motif_site_importance, region_importance
from .tomtom import bh_qvalues, compare_motifs

BASES = np.array(list("ACGTN"))


def tss_regions(genes: pd.DataFrame, length: int, *, contigs=None) -> pd.DataFrame:
    """Windows of ``length`` bp centred on each TSS (one per distinct chrom:TSS).

    Parameters
    ----------
    genes : pandas.DataFrame
        ``gene``, ``gene_name``, ``chrom``, ``tss`` (:func:`locusflow.dnalm.features.gene_tss`).
    length : int
        Window length (bp); odd lengths are centred exactly.
    contigs : dict, optional
        Contig -> length: windows beyond an end are dropped.

    Returns
    -------
    pandas.DataFrame
        ``chrom``, ``start``, ``end`` (1-based inclusive), ``name`` (gene name), sorted by chrom and start.
    """
    g = genes.drop_duplicates(["chrom", "tss"])
    start = g["tss"].to_numpy(np.int64) - length // 2
    out = pd.DataFrame({"chrom": g["chrom"].astype(str).to_numpy(), "start": start, "end": start + length - 1,
                        "name": g["gene_name"].astype(str).to_numpy()})
    out = out[out["start"] >= 1]
    if contigs is not None:
        out = out[out["end"].to_numpy() <= out["chrom"].map(contigs).fillna(0).to_numpy()]
    return out.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)


def motif_tables(imp: dict, regions: pd.DataFrame, seqlets: pd.DataFrame, motifs: list, matches: pd.DataFrame,
                 *, importance: str, width: int, logos: dict | None = None) -> dict:
    """The three output tables (schemas ``motifs``, ``motif_matches``, ``seqlets``).

    Parameters
    ----------
    imp : dict
        :func:`locusflow.dnalm.motifs.region_importance` output (``chrom``, ``pos``, ``ref``).
    regions : pandas.DataFrame
        The regions (``name``).
    seqlets : pandas.DataFrame
        :func:`locusflow.dnalm.motifs.discover_motifs` seqlets.
    motifs : list of dict
        Its motifs.
    matches : pandas.DataFrame
        :func:`locusflow.dnalm.tomtom.compare_motifs` of the motifs with the database.
    importance : str
    width : int
        Seqlet width.
    logos : dict, optional
        motif_id -> logo file name.

    Returns
    -------
    dict of pandas.DataFrame
        ``motifs``, ``motif_matches``, ``seqlets``.
    """
    rank = {m["motif_id"]: k + 1 for k, m in enumerate(motifs)}
    best = matches[matches["rank"] == 1].set_index("query_id") if len(matches) else pd.DataFrame()
    mrows = []
    for m in motifs:
        b = best.loc[m["motif_id"]] if m["motif_id"] in best.index else None
        mrows.append({"motif_id": m["motif_id"], "motif_rank": rank[m["motif_id"]], "importance": importance,
                      "n_seqlets": m["n_seqlets"], "width": len(m["pwm"]),
                      "consensus": Motif(m["motif_id"], "", m["pwm"]).consensus(),
                      "pwm": m["pwm"].ravel().tolist(), "cwm": m["cwm"].ravel().tolist(),
                      "best_match": None if b is None else b["target_id"],
                      "best_match_name": None if b is None else b["target_name"],
                      "best_strand": None if b is None else b["strand"],
                      "best_offset": None if b is None else int(b["offset"]),
                      "best_p": None if b is None else float(b["p_value"]),
                      "best_q": None if b is None else float(b["q_value"]),
                      "logo": (logos or {}).get(m["motif_id"])})
    mt = pd.DataFrame(mrows, columns=["motif_id", "motif_rank", "importance", "n_seqlets", "width", "consensus",
                                      "pwm", "cwm", "best_match", "best_match_name", "best_strand", "best_offset",
                                      "best_p", "best_q", "logo"])
    mt["best_offset"] = mt["best_offset"].astype("Int64")
    mm = matches.rename(columns={"query_id": "motif_id"}).copy()
    mm.insert(1, "motif_rank", mm["motif_id"].map(rank).astype(np.int64))
    s0 = seqlets["start"].to_numpy(np.int64)
    idx = s0[:, None] + np.arange(width)[None, :]
    seq = ["".join(r) for r in BASES[np.minimum(imp["ref"][idx], 4)]] if len(s0) else []
    mid = np.array([m["motif_id"] for m in motifs] + [None], dtype=object)
    st = pd.DataFrame({"seqlet_id": np.arange(len(seqlets), dtype=np.int64),
                       "region": regions["name"].astype(str).to_numpy()[seqlets["region"].to_numpy(np.int64)],
                       "chrom": imp["chrom"][s0].astype(str), "start": imp["pos"][s0],
                       "end": imp["pos"][s0] + width - 1, "score": seqlets["score"].to_numpy(float),
                       "threshold": seqlets["threshold"].to_numpy(float), "sequence": seq,
                       "motif_id": mid[seqlets["motif"].to_numpy(np.int64)],
                       "motif_strand": seqlets["motif_strand"].astype(str).to_numpy(),
                       "motif_offset": seqlets["motif_offset"].to_numpy(np.int64)})
    return {"motifs": mt, "motif_matches": mm, "seqlets": st}


def dnalm_motifs(model, genome, regions: pd.DataFrame, *, window: int = 128, batch_size: int = 256, **kw) -> dict:
    """Motifs a DNA LM learned in a set of regions, matched to a motif database, with logos.

    Parameters
    ----------
    model : transformers model
        As :func:`locusflow.dnalm.motifs.region_importance`.
    genome : locusflow.io.fasta.Genome
        Reference genome of the regions.
    regions : pandas.DataFrame
        ``chrom``, ``start``, ``end`` (1-based inclusive), ``name`` (:func:`tss_regions` or a BED).
    window, batch_size : int
        Model window and windows per forward pass.
    **kw
        Options of :func:`motifs_from_importance` (``motif_db``, ``importance``, ``fdr``, ``logo_dir`` ...).

    Returns
    -------
    dict
        As :func:`motifs_from_importance`.

    References
    ----------
    Shrikumar A et al. (2018) arXiv:1811.00416 (TF-MoDISco).
    Gupta S et al. (2007) Genome Biology 8:R24 (Tomtom).
    Benegas G et al. (2023) PNAS 120:e2311219120 (GPN).
    """
    if not len(regions):
        raise InputError("regions", "at least one region inside the FASTA")
    imp = region_importance(model, genome, regions, window=window, batch_size=batch_size)
    return motifs_from_importance(imp, regions, **kw)


def motifs_from_importance(imp: dict, regions: pd.DataFrame, *, motif_db=None, importance: str = "ic",
                           seqlet_window: int = 15, flank: int = 5, fdr: float = 0.05, max_seqlets: int = 1000,
                           max_shift: int = 5, min_similarity: float = 0.5, min_seqlets: int = 10,
                           min_overlap: int = 5, logo_dir=None, logo_formats=("png", "svg"), seed: int = 0) -> dict:
    """Seqlets, motifs, database matches, site importance and logos from per-position importance.

    Parameters
    ----------
    imp : dict
        :func:`locusflow.dnalm.motifs.region_importance` arrays (or
        :func:`locusflow.dnalm.motifs_task.importance_arrays` of the stage's dataset).
    regions : pandas.DataFrame
        The regions (``name``), in the order of ``imp["region"]``.
    motif_db : str or Path or list of Motif, optional
        MEME or JASPAR file [the bundled JASPAR CORE vertebrates subset].
    importance : {"ic", "ism"}
        Importance track (:mod:`locusflow.dnalm.motifs`).
    seqlet_window, flank, fdr, max_seqlets, max_shift, min_similarity, min_seqlets :
        As :func:`locusflow.dnalm.motifs.discover_motifs`.
    min_overlap : int
        As :func:`locusflow.dnalm.tomtom.compare_motifs`.
    logo_dir : str or Path, optional
        Write ``<motif_id>.<fmt>`` logos here (:func:`locusflow.dnalm.logos.write_motif_logos`).
    logo_formats : tuple of str
    seed : int

    Returns
    -------
    dict
        ``motifs``, ``motif_matches``, ``seqlets``, ``motif_sites`` (tables of their schemas: the last is
        :func:`~locusflow.dnalm.motifs.motif_site_importance` with BH q-values), ``importance`` (``imp``),
        ``logos`` (files written), ``database``.

    References
    ----------
    Shrikumar A et al. (2018) arXiv:1811.00416 (TF-MoDISco).
    Gupta S et al. (2007) Genome Biology 8:R24 (Tomtom).
    """
    db = motif_db if isinstance(motif_db, list) else read_motifs(motif_db or bundled("meme"))
    track, contrib = contributions(imp, importance)
    seqlets, motifs = discover_motifs(track, contrib, imp["ref"], imp["region"], window=seqlet_window, flank=flank,
                                      fdr=fdr, max_seqlets=max_seqlets, max_shift=max_shift,
                                      min_similarity=min_similarity, min_seqlets=min_seqlets, seed=seed)
    matches = compare_motifs(as_motifs(motifs), db, min_overlap=min_overlap)
    files, names = [], {}
    if logo_dir is not None and motifs:
        from .logos import write_motif_logos
        files = write_motif_logos(motifs, matches, db, logo_dir, formats=tuple(logo_formats))
        names = {m["motif_id"]: f"{m['motif_id']}.{logo_formats[0]}" for m in motifs}
    out = motif_tables(imp, regions, seqlets, motifs, matches, importance=importance,
                       width=seqlet_window + 2 * flank, logos=names)
    sites = motif_site_importance(track, imp["ref"], imp["region"], db)
    ok = sites["p_value"].notna().to_numpy()
    sites.insert(0, "importance", importance)
    sites["q_value"] = np.nan
    sites.loc[ok, "q_value"] = bh_qvalues(sites.loc[ok, "p_value"].to_numpy())
    return out | {"motif_sites": sites, "importance": imp, "logos": [Path(f) for f in files], "database": db}


def motif_report(stage_dir, fmt: str = "png") -> pd.DataFrame:
    """The discovered motifs of a ``dnalm_motifs`` run with their logo files, for the run report.

    Parameters
    ----------
    stage_dir : str or Path
        ``<out>/dnalm_motifs`` (the published stage directory).
    fmt : str
        Logo format to point at.

    Returns
    -------
    pandas.DataFrame
        One row per motif in rank order: ``motif_id``, ``n_seqlets``, ``width``, ``consensus``,
        ``best_match``, ``best_match_name``, ``best_strand``, ``best_q``, ``importance`` and ``logo_path``
        (the file, or None when it was not drawn); empty when the stage has not run.
    """
    from ..io.dataset import read_dataset
    d = Path(stage_dir)
    cols = ["motif_id", "n_seqlets", "width", "consensus", "best_match", "best_match_name", "best_strand",
            "best_q", "importance", "logo_path"]
    if not (d / "motifs").exists():
        return pd.DataFrame(columns=cols)
    mt = read_dataset(d / "motifs", "motifs").sort_values("motif_rank")
    logo = [d / "logos" / f"{m}.{fmt}" for m in mt["motif_id"]]
    mt["logo_path"] = [str(p) if p.exists() else None for p in logo]
    return mt[cols].reset_index(drop=True)
