"""Stage `pca`: principal components of the run's genotype store (plink2 ``--pca``), LD-pruned, with
projection of further samples and, given population labels, how well the PCs separate them.

Config section ``pca`` (``locusflow config --explain`` prints every key)::

    pca:
      k: 10                     # components
      method: auto              # exact (n x n Gram, n <= ~10,000) | randomized (dask svd_compressed) | auto
      ld_prune: true            # LD-prune first (r2 / window below), as plink --indep-pairwise
      r2: 0.2
      window: 50                # variants
      min_maf: 0.01             # minor allele frequency floor of the variants used
      samples: fit.txt          # sample ids (first column) to fit on [every store sample]; the others are projected
      project: other.vcz        # another genotype store whose samples are projected (variants matched by id)
      populations: pops.tsv     # sample id + population columns: separation reported in the summary

Writes ``<out>/pca/scores`` (dataset pca_scores: one row per sample and component; plink2 .eigenvec
scale, projected samples on the same scale), ``<out>/pca/eigenvalues`` (pca_eigenvalues, plink2
.eigenval) and ``<out>/pca/loadings`` (pca_loadings: per variant, alt frequency and the vector that
projects a sample). CLI: ``locusflow pca --out ROOT [--k 10] [--project STORE] [--populations FILE]``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..layout import section_store
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("pca")
CONFIG = {
    "k": Key("int", 10, "principal components", min=1),
    "method": Key("str", "auto", "exact (n x n Gram matrix), randomized (dask svd_compressed) or auto "
                  "(exact up to 5,000 samples)", choices=("auto", "exact", "randomized")),
    "ld_prune": Key("bool", True, "LD-prune the variants first (plink --indep-pairwise window r2)"),
    "r2": Key("float", 0.2, "LD pruning r^2 threshold", min=0.0, max=1.0),
    "window": Key("int", 50, "LD pruning window in variants", min=2),
    "min_maf": Key("float", 0.01, "minor allele frequency floor of the variants used", min=0.0, max=0.5),
    "samples": Key("file", None, "sample ids (first column, header row) to fit on [every store sample]; "
                   "the store's other samples are projected"),
    "project": Key("path", None, "another genotype store whose samples are projected onto the PCs"),
    "populations": Key("file", None, "table with a header: sample id column (IID or first) and a "
                       "'population' column (or the second); separation of the fitted samples reported"),
    "seed": Key("int", 0, "random seed of the randomized SVD"),
    "chunk": Key("int", None, "variants per block [the store's chunk]", min=1),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
}


def read_labels(path) -> pd.Series:
    """Population label per sample id: the IID (or sample_id, or first) column and the population (or second).

    Parameters
    ----------
    path : str or Path
        Delimited table with a header (tab, whitespace or comma).

    Returns
    -------
    pandas.Series
        Population (str) per sample id (index, str).

    Raises
    ------
    InputError
        With fewer than two columns.

    References
    ----------
    HapMap3 ``relationships_w_pops`` layout (FID IID dad mom sex pheno population).
    """
    t = pd.read_csv(path, sep=None, engine="python", dtype=str)
    if t.shape[1] < 2:
        raise InputError(path, "two columns: sample id, population", row=0, value=list(t.columns))
    idc = next((c for c in ("IID", "#IID", "sample_id", "iid") if c in t.columns), t.columns[0])
    popc = next((c for c in ("population", "pop", "Population", "POP") if c in t.columns),
                next(c for c in t.columns if c != idc))
    return pd.Series(t[popc].to_numpy(), index=t[idc].astype(str).to_numpy())


def _store(cfg) -> Path:
    return Path(section_store(cfg, "pca"))


def _long(ids, scores, fitted: bool, source: str) -> pd.DataFrame:
    n, k = scores.shape
    return pd.DataFrame({"sample_id": np.repeat(np.asarray(ids, dtype=object), k),
                         "pc": np.tile(np.arange(1, k + 1, dtype=np.int32), n), "score": scores.ravel(),
                         "fitted": fitted, "source": source})


def _run(ctx: Context) -> dict:
    from ..io.dataset import write_dataset
    from ..io.genotypes import GenotypeStore
    from .pca import population_separation, project_store, prune_store, read_rows, store_pca

    sec = ctx.section("pca")
    store = _store(ctx.cfg)
    g = GenotypeStore(store)
    ids = np.asarray(g.samples, dtype=str)
    fit_idx = np.arange(len(ids))
    if sec.get("samples"):
        want = pd.read_csv(sec["samples"], sep=None, engine="python", dtype=str).iloc[:, 0].to_numpy()
        fit_idx = np.sort(g.sample_index(want))
    rest = np.setdiff1d(np.arange(len(ids)), fit_idx)
    sub = None if len(fit_idx) == len(ids) else fit_idx
    maf = float(sec.get("min_maf", 0.01))
    if sec.get("ld_prune", True):
        keep = prune_store(store, r2=float(sec.get("r2", 0.2)), window=int(sec.get("window", 50)), min_maf=maf,
                           samples=sub, chunk=sec.get("chunk"))
    else:
        keep = prune_store(store, r2=1.0, window=2, min_maf=maf, samples=sub, chunk=sec.get("chunk"))
    k = int(sec.get("k", 10))
    if len(keep) < k or len(fit_idx) <= k:
        raise InputError(store, f"more variants ({len(keep)} kept) and samples ({len(fit_idx)}) than "
                         f"components (k = {k})")
    res = store_pca(store, k, samples=sub, variant_index=keep, method=sec.get("method", "auto"),
                    seed=int(sec.get("seed", 0)), chunk=sec.get("chunk"))
    vids = g.variants["variant_id"].to_numpy()[keep]
    scores = [_long(ids[fit_idx], res.components_, True, "store")]
    if len(rest):
        d = read_rows(g, keep, rest)
        scores.append(_long(ids[rest], res.project(d), False, "store"))
    report = {"samples_fitted": int(len(fit_idx)), "samples_projected": int(len(rest)),
              "variants": int(len(keep)), "variants_in_store": int(g.meta["n_variants"])}
    if sec.get("project"):
        other = GenotypeStore(sec["project"])
        sc, rep = project_store(res, pd.DataFrame({"variant_id": vids}), sec["project"])
        scores.append(_long(np.asarray(other.samples, dtype=str), sc, False, str(sec["project"])))
        report["project"] = {"samples": int(other.n_samples), **rep}
    write_dataset(pd.concat(scores, ignore_index=True), ctx.path("pca_scores"), "pca_scores", mode="overwrite")
    write_dataset(pd.DataFrame({"pc": np.arange(1, k + 1, dtype=np.int32), "eigenvalue": res.eigenvalues_}),
                  ctx.path("pca_eigenvalues"), "pca_eigenvalues", mode="overwrite")
    write_dataset(pd.DataFrame({"variant_id": vids, "store_index": keep, "alt_freq": res.freq_,
                                "projection": list(res.loadings_ / res.singular_values_)}),
                  ctx.path("pca_loadings"), "pca_loadings", mode="overwrite")
    report["eigenvalues"] = [round(float(x), 4) for x in res.eigenvalues_]
    if sec.get("populations"):
        lab = read_labels(sec["populations"]).reindex(ids[fit_idx]).to_numpy()
        if pd.notna(lab).sum() >= 2:
            top = min(k, 4)
            sep = population_separation(res.components_[:, :top], lab).iloc[0]
            report["separation"] = {"pcs": top, "populations": int(sep["populations"]),
                                    "labelled_samples": int(pd.notna(lab).sum()),
                                    "nearest_centroid_accuracy": round(float(sep["nearest_centroid_accuracy"]), 4),
                                    "between_within_ratio": round(float(sep["between_within_ratio"]), 3)}
    log.info("pca: %d components from %d variants x %d samples; %d projected", k, len(keep), len(fit_idx),
             len(rest) + report.get("project", {}).get("samples", 0))
    return report


register(Stage("pca", _run, inputs=lambda cfg: [_store(cfg)], config=CONFIG))
