"""Read a run's results from disk for figures, the report and ``serve``: every table through its schema.

A run directory (``--out``) holds ``sumstats/``, ``ld/``, ``twas/results``, ``twas/weights``,
``finemap/{snp,cs,blocks}`` and ``focus/results`` (whichever stages ran). :class:`RunResults` opens them
lazily; a dataset that is absent reads as ``None``. Nothing here imports a stage's internals.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..io.dataset import read_dataset
from ..layout import dataset_path
from ..ld.matrix import read_block_ld, read_ld_index
from .common import z_to_p
from .genes import gene_map

DATASETS = {  # name -> (dataset of locusflow.layout, schema)
    "sumstats": ("sumstats", "sumstats"),
    "ld_blocks": ("ld_blocks", "ld_blocks"),
    "twas": ("twas_results", "twas_results"),
    "weights": ("twas_weights", "weights"),
    "finemap_snp": ("finemap_snp", "finemap_snp"),
    "finemap_cs": ("finemap_cs", "finemap_cs"),
    "finemap_blocks": ("finemap_blocks", "finemap_block"),
    "focus": ("focus_results", "focus_results"),
    "variant_scores": ("variant_scores", "variant_scores"),      # score_variants stage (DNA-LM LLRs, embeddings)
    "gpnxld": ("gpnxld_scores", "gpnxld"),                      # gpnxld stage
}


@dataclass(eq=False)
class RunResults:
    """The datasets of one run directory, read on first use and cached.

    Parameters
    ----------
    root : str or Path
        The run's results root (``out`` of the config).
    """
    root: Path
    build: str | None = None
    paths: dict | None = None

    def __post_init__(self):
        self.root = storage.as_path(self.root)
        if self.build is None:
            s = self.table("sumstats")
            self.build = str(s["genome_build"].iloc[0]) if s is not None and len(s) else "GRCh37"

    def path(self, name: str) -> Path:
        """Path of dataset ``name`` (a key of :data:`DATASETS`, or a dataset of :mod:`locusflow.layout`):
        ``paths.<dataset>`` of the run's config when given, else its place under the root."""
        return dataset_path({"out": str(self.root), "paths": self.paths or {}}, DATASETS.get(name, (name,))[0])

    @property
    def ld_dir(self) -> Path:
        """The LD stage's per-block matrices (Zarr groups and their ``index`` table)."""
        return self.path("ld_matrices")

    def has(self, name: str) -> bool:
        """Whether dataset ``name`` was written (its ``_SUCCESS`` marker exists) and this installation knows
        it (its stage in :data:`locusflow.layout.STAGES`, its schema in ``schemas/``)."""
        from ..layout import DATASETS as STAGE_DATASETS
        from ..schema import available
        ds, schema = DATASETS.get(name, (name, name))
        if ds not in STAGE_DATASETS or schema not in available():
            return False
        return (self.path(name) / "_SUCCESS").exists()

    @functools.cache
    def table(self, name: str) -> pd.DataFrame | None:
        """Dataset ``name`` as a frame with its schema's types, or None when absent."""
        if not self.has(name):
            return None
        df = read_dataset(self.path(name), DATASETS.get(name, (name, name))[1])
        for c in df.columns:
            if isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = df[c].astype(str)
        return df

    @functools.cache
    def dnalm(self) -> pd.DataFrame | None:
        """DNA-LM scores of the GWAS variants, or None when the run has neither scores nor GPNxLD.

        Returns
        -------
        DataFrame or None
            Indexed by the sumstats' variant_id: ``llr`` (variant_scores, natural log, in the genome's
            orientation: log P(alt) - log P(ref) of the FASTA's ref; a score stored under the swapped id
            ``chrom:pos:alt:ref`` is matched too) and ``gpnxld`` (gpnxld dataset, sum_k r_jk^2 a_k; NaN in blocks
            with no scored variant), NaN where a variant has none; only the columns whose dataset exists.
        """
        g = self.table("sumstats")
        if g is None or not (self.has("variant_scores") or self.has("gpnxld")):
            return None
        ids = g["variant_id"]
        swapped = g["chrom"].astype(str) + ":" + g["pos"].astype(str) + ":" + g["alt"] + ":" + g["ref"]
        out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="variant_id"))
        if self.has("variant_scores"):
            sc = self.table("variant_scores")
            sc = sc[sc["llr"].notna()].drop_duplicates("variant_id").set_index("variant_id")["llr"].astype(float)
            direct = sc.reindex(ids).to_numpy()
            out["llr"] = np.where(np.isnan(direct), sc.reindex(swapped).to_numpy(), direct)
        if self.has("gpnxld"):
            gx = self.table("gpnxld")
            if "scored" in gx:                  # a block with no scored variant has no GPNxLD (not 0)
                gx = gx[gx.groupby("block_id")["scored"].transform("any")]
            gx = gx.drop_duplicates("variant_id").set_index("variant_id")["gpnxld"].astype(float)
            out["gpnxld"] = gx.reindex(ids).to_numpy()
        return out

    @functools.cache
    def embeddings(self) -> tuple[pd.DataFrame, np.ndarray] | None:
        """DNA-LM variant embeddings (``emb_delta`` of variant_scores: mean over strands of e_alt - e_ref), or
        None when the run has none.

        Returns
        -------
        (DataFrame, ndarray) or None
            The scored rows (variant_id, chrom, pos, llr) and their vectors, one row each (n, d).
        """
        if not self.has("variant_scores"):
            return None
        sc = self.table("variant_scores")
        if "emb_delta" not in sc:
            return None
        sc = sc[sc["emb_delta"].map(lambda v: v is not None and len(v) > 0)].reset_index(drop=True)
        if not len(sc):
            return None
        x = np.stack(sc["emb_delta"].map(lambda v: np.asarray(v, dtype=float)).to_numpy())
        return sc.drop(columns=["emb_delta"]), x

    @functools.cache
    def twas_genes(self) -> pd.DataFrame | None:
        """TWAS results with a position per gene (model's gene start/stop from the weights) and p."""
        t = self.table("twas")
        if t is None:
            return None
        w = self.table("weights")
        t = t.copy()
        span = (w.groupby("model_id").agg(w_start=("tx_start", "min"), w_stop=("tx_stop", "max"),
                                          snp_min=("pos", "min"), snp_max=("pos", "max"))
                if w is not None and len(w) else pd.DataFrame(columns=["w_start", "w_stop", "snp_min", "snp_max"]))
        t = t.join(span.astype(float), on="model_id")
        gm = gene_map(self.build).drop_duplicates("gene_name").set_index("gene_name")
        t = t.join(gm[["start", "stop"]].astype(float), on="gene_name")
        # gene coordinates: the weights' own, else the bundled map by symbol, else the span of the model's SNPs
        t["tx_start"] = t["w_start"].fillna(t["start"]).fillna(t["snp_min"])
        t["tx_stop"] = t["w_stop"].fillna(t["stop"]).fillna(t["snp_max"])
        t["pos"] = (t["tx_start"] + t["tx_stop"]) / 2
        t = t.drop(columns=["w_start", "w_stop", "snp_min", "snp_max", "start", "stop"])
        t["p"] = t["pvalue"].astype(float)
        t["label"] = t["gene_name"].fillna(t["gene"])
        return t[np.isfinite(t["pos"].to_numpy(float))].reset_index(drop=True)

    def gwas(self) -> pd.DataFrame | None:
        """Sumstats with ``p`` filled from z where missing and ``label`` = rsid or variant_id."""
        s = self.table("sumstats")
        if s is None:
            return None
        s = s.copy()
        p = s["p"].astype(float)
        s["p"] = p.where(np.isfinite(p), pd.Series(z_to_p(s["z"]), index=s.index))
        s["label"] = s["rsid"].where(s["rsid"].notna() & (s["rsid"] != ""), s["variant_id"])
        return s

    def ld_r2_to(self, lead_variant: str, variant_ids) -> pd.Series:
        """r^2 of each of ``variant_ids`` with ``lead_variant`` from the stored LD block holding the lead.

        Variants not in that block's matrix (another block, or dropped by its MAF filter) get NaN.
        """
        ids = pd.Index(list(variant_ids))
        ld_dir = self.ld_dir
        if not (ld_dir / "index").exists():
            return pd.Series(np.nan, index=ids)
        chrom = str(lead_variant).split(":")[0]
        idx = read_ld_index(ld_dir, chrom)
        hit = idx[idx["variant_ids"].map(lambda v: lead_variant in set(v))]
        if not len(hit):
            return pd.Series(np.nan, index=ids)
        var, r = read_block_ld(ld_dir, hit["block_id"].iloc[0])
        pos = pd.Index(var["variant_id"]).get_indexer([lead_variant])[0]
        r2 = pd.Series(r[pos].astype(float) ** 2, index=var["variant_id"].to_numpy())
        return r2.reindex(ids)
