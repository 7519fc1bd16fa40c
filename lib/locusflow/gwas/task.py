"""GWAS over a genotype store: one work unit = one variant chunk, every trait at once.

`prepare_gwas` reads and aligns the phenotype and covariate tables and projects the covariates out
once; `gwas_kernel` loads a chunk of dosages by index range and runs the linear kernel for every
quantitative trait (one set of GEMMs) and the logistic kernel for each binary trait; `run_gwas`
shards the chunks with `run_worklist` (local, dask or spark).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numcodecs
import numpy as np
import pandas as pd

from ..errors import InputError
from ..logs import get_logger
from ..engine.runner import run_worklist
from ..io.genotypes import GenotypeStore, decode_dosages
from ..ld.matrix import open_store
from .linear import LinearModel, linear_assoc_calls, prepare_linear
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
    n_store: int | None = None


def prepare_gwas(samples: GwasSamples, firth_fallback: bool = True, n_store: int | None = None) -> GwasModel:
    """Project covariates out of the quantitative traits once (`prepare_linear`).

    Parameters
    ----------
    samples : GwasSamples from `align_samples`
    firth_fallback : Firth regression where plain logistic fails
    n_store : samples in the store (when all are analysed, in order, chunks are used without a gather)

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
    return GwasModel(samples=samples, linear=lin, quantitative=q, binary=b, firth_fallback=firth_fallback,
                     n_store=n_store)


MODELS = ["linear", "logistic", "firth"]
VARIANT_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "rsid")


def gwas_chunk(calls, gm: GwasModel, *, start: int = 0) -> pd.DataFrame:
    """Association numbers of a chunk of store variants with every trait.

    Parameters
    ----------
    calls : (v, N, ploidy) int8 allele indices of every store sample (< 0 = missing), or an iterable of
        (first store row, such an array) blocks covering the chunk in order (`GenotypeStore.iter_calls`:
        each block is used before the next is read); the model's samples are columns
        ``gm.samples.store_index``
    gm : GwasModel from `prepare_gwas`
    start : store row of the chunk's first variant

    Returns
    -------
    pandas.DataFrame (schema ``gwas_chunk``), trait by trait: trait_index, store_index, z, beta, se, p,
    n, af, model

    References
    ----------
    Peer: plink2 ``--glm`` (hide-covar, firth-fallback).
    """
    s = gm.samples
    blocks = [(start, calls)] if isinstance(calls, np.ndarray) else calls
    if gm.binary:  # logistic fits need the whole chunk's dosages: keep the blocks
        blocks = [(lo, np.array(c)) for lo, c in blocks]
    everyone = len(s.store_index) == gm.n_store and bool((np.diff(s.store_index) == 1).all())
    r = linear_assoc_calls(blocks, None if everyone else s.store_index, gm.linear) if gm.linear else None
    if gm.binary:
        dos = [decode_dosages(c, np.float64, samples=s.store_index) for _, c in blocks]
        dosage = dos[0] if len(dos) == 1 else np.concatenate(dos)
    v = len(r["beta"]) if r is not None else len(dosage)
    nt = len(s.traits)
    out = {k: np.full((nt, v), np.nan) for k in ("z", "beta", "se", "p", "n", "af")}
    model = np.zeros((nt, v), np.int8)
    if r is not None:
        q = gm.quantitative
        with np.errstate(invalid="ignore", divide="ignore"):
            out["af"][q] = (r["sum_g"] / (2.0 * r["n"])).T
        for k in ("beta", "se", "p", "n"):
            out[k][q] = r[k].T
        out["z"][q] = r["t"].T
    if gm.binary:
        obs = ~np.isnan(dosage)
        used = ~np.isnan(s.pheno[:, gm.binary])
        with np.errstate(invalid="ignore", divide="ignore"):
            out["af"][gm.binary] = ((np.where(obs, dosage, 0.0) @ used) / (2.0 * (obs.astype(np.float64) @ used))).T
        for j in gm.binary:  # loop over binary traits: each is one batched IRLS over the chunk
            r = logistic_assoc(dosage, s.pheno[:, j], s.covar, firth_fallback=gm.firth_fallback)
            for k in ("z", "beta", "se", "p", "n"):
                out[k][j] = r[k]
            model[j] = np.where(r["firth"], 2, 1)
    return pd.DataFrame({"trait_index": np.repeat(np.arange(nt, dtype=np.int32), v),
                         "store_index": np.tile(np.arange(start, start + v, dtype=np.int64), nt),
                         **{k: a.ravel() for k, a in out.items()}, "model": model.ravel()}, copy=False)


@functools.lru_cache(maxsize=4)
def _variant_table(path: str, stamp: float):
    import pyarrow as pa

    from ..io.dataset import read_arrow

    tab = read_arrow(Path(path) / "variants.parquet", "variants", columns=["store_index", *VARIANT_COLUMNS,
                     "genome_build"], dictionary=("ref", "alt", "genome_build")).unify_dictionaries().combine_chunks()
    order = np.argsort(tab["store_index"].to_numpy(), kind="stable")
    return tab.take(pa.array(order)).combine_chunks()


def variant_table(store):
    """The variant columns of a store's variants table as one Arrow table in store order (row i = store row i).

    Read once per process and store version (a work unit of the gwas stage reads its rows from it).

    Parameters
    ----------
    store : genotype store path

    Returns
    -------
    pyarrow.Table: store_index, variant_id, chrom, pos, ref, alt, rsid, genome_build
    """
    meta = Path(store) / "locusflow.json"
    return _variant_table(str(store), meta.stat().st_mtime if meta.exists() else 0.0)


variant_table.cache_clear = _variant_table.cache_clear    # e.g. a benchmark timing runs as if each were the first


def annotate(chunks: pd.DataFrame, table, traits) -> pd.DataFrame:
    """Dataset gwas_assoc from `gwas_chunk` rows: the variant columns taken from the store's variants table.

    Columns of few distinct strings are categoricals (Arrow dictionary-encodes the column once; rows get
    codes); variant_id and rsid are Arrow strings taken by row.

    Parameters
    ----------
    chunks : frame of schema gwas_chunk
    table : `variant_table` of the store
    traits : trait names, by trait_index

    Returns
    -------
    pandas.DataFrame (schema gwas_assoc)

    References
    ----------
    Peer: plink2 ``--glm`` output columns (CHROM POS ID REF ALT ... BETA SE T_STAT P).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    idx = chunks["store_index"].to_numpy()
    take = pa.array(idx)

    def column(name):
        if name in ("variant_id", "rsid"):  # (nearly) one string per variant: Arrow strings, taken per row
            return pd.array(pc.take(table[name], take), dtype=pd.StringDtype("pyarrow"))
        col = table[name].chunk(0)                        # few distinct values: categorical
        enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
        cats = pd.Index(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        return pd.Categorical.from_codes(enc.indices.to_numpy(zero_copy_only=False)[idx], categories=cats)

    out = {"trait": pd.Categorical.from_codes(chunks["trait_index"].to_numpy(), categories=list(traits))}
    for c in VARIANT_COLUMNS:
        out[c] = table[c].to_numpy()[idx] if c == "pos" else column(c)
    out.update({k: chunks[k].to_numpy() for k in ("z", "beta", "se", "p", "n", "af")})
    out["info"] = np.full(len(idx), np.nan)
    out["genome_build"] = column("genome_build")
    out["model"] = pd.Categorical.from_codes(chunks["model"].to_numpy(), MODELS)
    return pd.DataFrame(out, copy=False)       # the columns are this function's own arrays


def split_downstream(frame: pd.DataFrame, trait: str) -> dict:
    """A unit's gwas_assoc rows, and the downstream trait's rows with a statistic as its sumstats rows.

    Parameters
    ----------
    frame : rows of schema gwas_assoc
    trait : the trait written as the sumstats dataset

    Returns
    -------
    {"gwas_assoc": frame, "gwas_sumstats": rows of ``trait`` whose z is not NaN}
    """
    one = frame[(frame["trait"] == trait).to_numpy() & frame["z"].notna().to_numpy()]
    return {"gwas_assoc": frame, "gwas_sumstats": one}


def unit_stats(frames: dict) -> dict:
    """Counts a gwas task reports with its fragments: Firth fits and tests without a result."""
    f = frames["gwas_assoc"]
    return {"firth": int((f["model"] == "firth").sum()), "no_result": int(f["z"].isna().sum())}


def gwas_kernel(unit: dict, store: str, model: GwasModel, annotated: bool = False) -> pd.DataFrame:
    """Work unit: rows ``unit['start']:unit['stop']`` of the store at ``store``.

    Parameters
    ----------
    unit : work unit with start, stop
    store : genotype store path
    model : GwasModel
    annotated : attach the variant columns (`annotate`: schema gwas_assoc, what the gwas stage's tasks
        write) instead of returning the numbers only (schema gwas_chunk)

    Returns
    -------
    pandas.DataFrame (schema gwas_chunk, or gwas_assoc when ``annotated``)

    References
    ----------
    Peer: plink2 ``--glm``.
    """
    numcodecs.blosc.use_threads = False  # one thread per task (engines parallelise over tasks)
    res = gwas_chunk(open_store(store).iter_calls(unit["start"], unit["stop"]), model, start=int(unit["start"]))
    return annotate(res, variant_table(store), model.samples.traits) if annotated else res


def run_gwas(store, pheno, covar=None, *, traits=None, covariates=None, binary="auto",
             firth_fallback: bool = True, engine: str = "local", spark=None, chunk: int | None = None,
             progress: bool = False, write_to: dict | None = None,
             downstream: str | None = None) -> tuple[pd.DataFrame, dict]:
    """GWAS of every trait of a phenotype table over a genotype store.

    Parameters
    ----------
    store : genotype store path (locusflow ingest)
    pheno, covar : phenotype and covariate table paths (`read_table` format)
    traits, covariates : columns to use (default: all)
    binary : "auto", True, False or a list of binary trait names
    engine : local, dask or spark
    chunk : variants per work unit (default: up to 32 Zarr chunks and 4e8 genotypes per unit; with binary
        traits up to 8 and 2.5e7)
    write_to : {"gwas_assoc": (dir, schema), "gwas_sumstats": (dir, schema)}: each task writes its unit's
        rows there (`locusflow.engine.runner.run_worklist` ``write_to``) and the fragment index comes back
        instead of the rows; the caller commits (`locusflow.io.dataset.finish_fragments`)
    downstream : trait of the gwas_sumstats rows (default the first); an unknown name is an InputError

    Returns
    -------
    (pandas.DataFrame of schema gwas_assoc, or the fragment index with ``write_to``; report of samples
    kept and dropped, with "traits" and "downstream_trait")

    References
    ----------
    Peer: plink2 ``--glm`` (hide-covar; firth-fallback for binary traits).
    """
    g = GenotypeStore(store)
    ph = read_table(pheno, missing_code=-9, columns=traits)
    cv = None if covar is None else read_table(covar, columns=covariates)
    s = align_samples(g.samples, ph, cv, pheno_path=pheno, covar_path=covar, binary=binary)
    gm = prepare_gwas(s, firth_fallback=firth_fallback, n_store=g.n_samples)
    if chunk is None:
        # several Zarr chunks per unit: linear traits stream the chunks (memory is the unit's results),
        # logistic ones hold the unit's float64 dosages (kept under ~200 MB)
        base, n = int(g.meta.get("variants_chunk", 1000)), max(1, len(s.store_index))
        chunk = base * int(np.clip((2.5e7 if gm.binary else 4e8) // (n * base), 1, 8 if gm.binary else 32))
    down = downstream or s.traits[0]
    if down not in s.traits:
        raise InputError(pheno, f"a trait column named '{down}' (the downstream trait)", value=s.traits)
    report = {**s.report, "traits": list(s.traits), "downstream_trait": down}
    kw = {"store": str(g.path), "model": gm}
    if write_to is not None:
        frags = run_worklist(g.variant_chunks(chunk), gwas_kernel, "gwas_assoc", engine=engine, spark=spark,
                             kwargs={**kw, "annotated": True}, progress=progress, write_to=write_to,
                             split=functools.partial(split_downstream, trait=down), stats=unit_stats)
        return frags, report
    # the in-memory API: the caller asked for the rows (the gwas stage passes write_to)
    res = run_worklist(g.variant_chunks(chunk), gwas_kernel, "gwas_chunk", engine=engine, spark=spark,
                       kwargs=kw, progress=progress)
    return annotate(res, variant_table(g.path), s.traits), report
