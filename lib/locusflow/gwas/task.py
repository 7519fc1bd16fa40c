"""GWAS over a genotype store: one work unit = one variant chunk, every trait at once.

`prepare_gwas` reads and aligns the phenotype and covariate tables and projects the covariates out
once; `gwas_kernel` loads a chunk of dosages by index range and runs the linear kernel for every
quantitative trait (one set of GEMMs) and the logistic kernel for each binary trait; `run_gwas`
shards the chunks with `run_worklist` (local, dask or spark).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..logs import get_logger
from ..engine.runner import run_worklist
from ..io.genotypes import GenotypeStore
from .linear import LinearModel, linear_assoc, prepare_linear
from .logistic import logistic_assoc
from .phenotypes import GwasSamples, align_samples, read_table

log = get_logger("gwas")


@dataclass
class GwasModel:
    """Everything a chunk needs besides its dosages (small: phenotypes and covariate bases)."""

    samples: GwasSamples
    linear: LinearModel | None
    quantitative: list
    binary: list
    firth_fallback: bool = True


def prepare_gwas(samples: GwasSamples, firth_fallback: bool = True) -> GwasModel:
    """Project covariates out of the quantitative traits once (`prepare_linear`).

    Parameters
    ----------
    samples : GwasSamples from `align_samples`
    firth_fallback : Firth regression where plain logistic fails

    Returns
    -------
    GwasModel

    References
    ----------
    Peer: plink2 ``--glm``.
    """
    q = [j for j, b in enumerate(samples.binary) if not b]
    b = [j for j, x in enumerate(samples.binary) if x]
    lin = prepare_linear(samples.pheno[:, q], samples.covar) if q else None
    return GwasModel(samples=samples, linear=lin, quantitative=q, binary=b, firth_fallback=firth_fallback)


MODELS = ["linear", "logistic", "firth"]


def _labels(values) -> pd.Categorical:
    """Strings as a categorical (one str per distinct value): cheap to repeat per trait and to conform."""
    values = np.asarray(values, dtype=object)
    cats, codes = np.unique(values.astype(str), return_inverse=True)
    return pd.Categorical.from_codes(codes.ravel(), categories=cats)


def _frame(cols: dict, traits, which: list, res: dict, af: np.ndarray, model) -> pd.DataFrame:
    """Rows for traits ``which`` (trait-major): res arrays are (v, len(which)), cols are per variant."""
    v, t = af.shape
    rep = lambda a: pd.Categorical.from_codes(np.tile(a.codes, t), a.categories)  # noqa: E731
    flat = lambda a: np.asarray(a, dtype=np.float64).T.ravel()  # noqa: E731
    return pd.DataFrame({
        "trait": pd.Categorical.from_codes(np.repeat(np.asarray(which, np.int32), v), traits),
        **{k: (np.tile(a, t) if k == "pos" else rep(a)) for k, a in cols.items() if k != "_build"},
        "z": flat(res.get("t", res.get("z"))), "beta": flat(res["beta"]), "se": flat(res["se"]),
        "p": flat(res["p"]), "n": flat(res["n"]), "af": flat(af), "info": np.full(v * t, np.nan),
        "genome_build": rep(cols["_build"]),
        "model": pd.Categorical.from_codes(np.broadcast_to(np.asarray(model, np.int8).T, (t, v)).ravel(), MODELS)})


def gwas_assoc(dosage: np.ndarray, variants: pd.DataFrame, gm: GwasModel) -> pd.DataFrame:
    """Association of a chunk of variants (dosages over the model's samples) with every trait.

    Parameters
    ----------
    dosage : (v, n) alt dosages over ``gm.samples.store_index``, NaN = missing
    variants : the chunk's rows of the store's variants table
    gm : GwasModel from `prepare_gwas`

    Returns
    -------
    pandas.DataFrame (schema ``gwas_assoc``), trait by trait

    References
    ----------
    Peer: plink2 ``--glm`` (hide-covar, firth-fallback).
    """
    s = gm.samples
    g0 = np.array(dosage, dtype=np.float64)
    miss = np.isnan(g0)
    g0[miss] = 0.0
    obs = ~miss
    af = np.full((len(variants), len(s.traits)), np.nan)
    if gm.binary:
        used = ~np.isnan(s.pheno[:, gm.binary])
        with np.errstate(invalid="ignore", divide="ignore"):
            af[:, gm.binary] = (g0 @ used) / (2.0 * (obs.astype(np.float64) @ used))
    cols = {c: _labels(variants[c].to_numpy()) for c in ("variant_id", "chrom", "ref", "alt", "rsid")}
    cols["pos"] = variants["pos"].to_numpy()
    cols = {k: cols[k] for k in ("variant_id", "chrom", "pos", "ref", "alt", "rsid")}
    cols["_build"] = _labels(variants["genome_build"].to_numpy())
    out = []
    if gm.linear is not None:
        r = linear_assoc(dosage, gm.linear, g0=g0, miss=miss)
        with np.errstate(invalid="ignore", divide="ignore"):
            af[:, gm.quantitative] = r.pop("sum_g") / (2.0 * r["n"])
        out.append(_frame(cols, s.traits, gm.quantitative, r, af[:, gm.quantitative], 0))
    for j in gm.binary:  # loop over binary traits: each is one batched IRLS over the chunk
        r = logistic_assoc(dosage, s.pheno[:, j], s.covar, firth_fallback=gm.firth_fallback)
        r = {k: a[:, None] for k, a in r.items()}
        out.append(_frame(cols, s.traits, [j], r, af[:, [j]], np.where(r["firth"], 2, 1)))
    res = pd.concat(out, ignore_index=True)
    if gm.linear is not None and gm.binary:  # trait order of the phenotype table
        res = res.iloc[np.argsort(res["trait"].cat.codes.to_numpy(), kind="stable")].reset_index(drop=True)
    return res


def gwas_kernel(unit: dict, store: str, model: GwasModel) -> pd.DataFrame:
    """Work unit: rows ``unit['start']:unit['stop']`` of the store at ``store``.

    Parameters
    ----------
    unit : work unit with start, stop
    store : genotype store path
    model : GwasModel

    Returns
    -------
    pandas.DataFrame (schema gwas_assoc)

    References
    ----------
    Peer: plink2 ``--glm``.
    """
    g = GenotypeStore(store)
    idx = model.samples.store_index
    everyone = len(idx) == g.n_samples and bool((idx == np.arange(len(idx))).all())
    d = g.dosages(unit["start"], unit["stop"], samples=None if everyone else idx)
    return gwas_assoc(d, g.variant_rows(unit["start"], unit["stop"]), model)


def run_gwas(store, pheno, covar=None, *, traits=None, covariates=None, binary="auto",
             firth_fallback: bool = True, engine: str = "local", spark=None, chunk: int | None = None,
             progress: bool = False) -> tuple[pd.DataFrame, dict]:
    """GWAS of every trait of a phenotype table over a genotype store.

    Parameters
    ----------
    store : genotype store path (locusflow ingest)
    pheno, covar : phenotype and covariate table paths (`read_table` format)
    traits, covariates : columns to use (default: all)
    binary : "auto", True, False or a list of binary trait names
    engine : local, dask or spark
    chunk : variants per work unit (default: up to 8 Zarr chunks, at most ~2.5e7 dosages per unit)

    Returns
    -------
    (pandas.DataFrame of schema gwas_assoc, report of samples kept and dropped)

    References
    ----------
    Peer: plink2 ``--glm`` (hide-covar; firth-fallback for binary traits).
    """
    g = GenotypeStore(store)
    ph = read_table(pheno, missing_code=-9, columns=traits)
    cv = None if covar is None else read_table(covar, columns=covariates)
    s = align_samples(g.samples, ph, cv, pheno_path=pheno, covar_path=covar, binary=binary)
    gm = prepare_gwas(s, firth_fallback=firth_fallback)
    if chunk is None:  # several Zarr chunks per unit while a unit's float64 dosages stay under ~200 MB
        base = int(g.meta.get("variants_chunk", 1000))
        chunk = base * int(np.clip(2.5e7 // (max(1, len(s.store_index)) * base), 1, 8))
    res = run_worklist(g.variant_chunks(chunk), gwas_kernel, "gwas_assoc", engine=engine, spark=spark,
                       kwargs={"store": str(g.path), "model": gm}, progress=progress)
    for c in res.columns:  # chunks hand over categoricals (cheap to build and conform); one dtype on every engine
        if isinstance(res[c].dtype, pd.CategoricalDtype):
            res[c] = np.asarray(res[c].astype(object))
    return res, s.report
