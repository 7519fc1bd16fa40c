"""Genotype PCA: randomised SVD of the standardised genotype matrix (dask.array), projection of new samples.

Each variant is standardised as plink2 ``--pca`` does: x = (g - 2p) / sqrt(2p(1 - p)), with p the alt
frequency over the called samples and missing calls set to 0 (the mean). With X the (variants x
samples) standardised matrix, X = U S V'; the sample principal components are the columns of V (unit
norm, plink2's ``.eigenvec``) and the eigenvalues of the genomic relationship matrix X'X / m are
S^2 / m (``.eigenval``). The SVD is dask's randomised ``svd_compressed`` (Halko, Martinsson & Tropp
2011) with power iterations over variant chunks read from the Zarr store, so memory is bounded by a
chunk plus the (samples x (k + oversamples)) sketch.

A new sample with standardised genotypes x (same variants, same alt alleles, the reference p) has
scores x' U S^-1: a reference sample projects onto its own row of V.

References
----------
Patterson N, Price AL & Reich D (2006) PLoS Genet 2:e190. Halko N, Martinsson PG & Tropp JA (2011)
SIAM Rev 53:217. Peer: plink2 ``--pca`` (Chang et al. 2015); flashpca (Abraham & Inouye 2014).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def standardise_counts(dosage: np.ndarray, freq: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """plink2 --pca scaling of a (v, n) dosage chunk; returns (x float64 with missing = 0, alt freq p).

    Monomorphic variants (p in {0, 1}) become rows of zeros.

    Parameters
    ----------
    dosage : (v, n) alt dosages, NaN = missing
    freq : (v,) alt frequencies to use (default: from the called samples)

    Returns
    -------
    (x, p): (v, n) float64 standardised genotypes, (v,) frequencies

    References
    ----------
    Patterson, Price & Reich (2006). Peer: plink2 ``--pca`` variance standardisation.
    """
    g = np.asarray(dosage, dtype=np.float64)
    obs = ~np.isnan(g)
    if freq is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            freq = np.where(obs, g, 0).sum(1) / (2.0 * obs.sum(1))
    p = np.asarray(freq, dtype=np.float64)
    sd = np.sqrt(2 * p * (1 - p))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (g - 2 * p[:, None]) / sd[:, None]
    x[~obs] = 0.0
    x[~(sd > 0)] = 0.0
    return x, p


def ld_prune(dosage: np.ndarray, r2: float = 0.2, window: int = 50) -> np.ndarray:
    """Variants of a chunk kept after LD pruning (boolean mask), vectorised.

    Within every run of ``window`` consecutive variants, each pair with r^2 > ``r2`` drops its later
    member (one GEMM per chunk; all pairs at once, so a chain A-B-C loses B and C where plink's
    sequential ``--indep-pairwise`` would keep C: this prunes a little more than plink).

    Parameters
    ----------
    dosage : (v, n) alt dosages of consecutive variants
    r2 : r^2 threshold
    window : variants per window

    Returns
    -------
    (v,) bool, True = kept

    References
    ----------
    Peer: plink ``--indep-pairwise`` (sequential; this one prunes all pairs at once).
    """
    x, _ = standardise_counts(dosage)
    n = max(1, x.shape[1])
    r = (x @ x.T) / n
    v = len(r)
    i, j = np.triu_indices(v, 1)
    near = (j - i) < window
    hit = near & (r[i, j] ** 2 > r2)
    drop = np.zeros(v, bool)
    drop[j[hit]] = True
    return ~drop


@dataclass
class PCA:
    """Fitted PCA: components_ (n_samples, k) unit-norm sample PCs, eigenvalues_ (k,) of X'X / m,
    loadings_ (m, k) variant singular vectors U, singular_values_ (k,), freq_ (m,) alt frequencies
    and variant_index_ (m,) store rows used."""

    components_: np.ndarray
    eigenvalues_: np.ndarray
    loadings_: np.ndarray
    singular_values_: np.ndarray
    freq_: np.ndarray
    variant_index_: np.ndarray

    def project(self, dosage: np.ndarray) -> np.ndarray:
        """Scores (n_new, k) of new samples from their (m, n_new) dosages at ``variant_index_``."""
        x, _ = standardise_counts(dosage, self.freq_)
        return x.T @ self.loadings_ / self.singular_values_


def pca(dosage_chunks, k: int = 10, *, method: str = "auto", n_oversamples: int = 60, n_power_iter: int = 8,
        seed: int = 0) -> PCA:
    """PCA of standardised genotypes given as a list of (v_i, n) dask or numpy chunks.

    Parameters
    ----------
    dosage_chunks : list of (v_i, n) dosage arrays (numpy or dask), NaN = missing
    k : number of components
    method : "randomized" (dask svd_compressed), "exact" (the n x n matrix X'X summed over chunks, then
        eigh: one pass, exact; n up to ~10,000) or "auto" (exact when n <= 5,000, as plink2 does)
    n_oversamples, n_power_iter : randomised SVD sketch size and power iterations (dask svd_compressed)
    seed : random seed of the sketch

    Returns
    -------
    PCA

    References
    ----------
    Halko, Martinsson & Tropp (2011). Peer: plink2 ``--pca`` (|corr| >= 0.9995 for PCs 1-10 on HapMap3).
    """
    import dask
    import dask.array as da

    xs, ps = [], []
    for c in dosage_chunks:  # loop over chunks (work units), each a lazy block
        c = c if isinstance(c, da.Array) else da.from_array(np.asarray(c), chunks=c.shape)
        blk = c.map_blocks(lambda b: standardise_counts(b)[0], dtype=np.float64)
        fr = c.map_blocks(lambda b: standardise_counts(b)[1][:, None], dtype=np.float64, chunks=(c.chunks[0], (1,)))
        xs.append(blk)
        ps.append(fr)
    x = da.concatenate(xs, axis=0).rechunk({1: -1})
    m, n = x.shape
    if method == "exact" or (method == "auto" and n <= 5000):
        gram, p = dask.compute((x.T @ x), da.concatenate(ps, axis=0), scheduler="threads")
        w, vec = np.linalg.eigh(gram)
        top = np.argsort(w)[::-1][:k]
        s, vt = np.sqrt(np.maximum(w[top], 0)), vec[:, top].T
        u, _ = dask.compute(x @ (vt.T / s), None, scheduler="threads")
    else:
        u, s, vt = da.linalg.svd_compressed(x, k, iterator="QR", n_power_iter=n_power_iter,
                                            n_oversamples=n_oversamples,
                                            seed=seed, compute=False)
        u, s, vt, p = dask.compute(u, s, vt, da.concatenate(ps, axis=0), scheduler="threads")
    return PCA(components_=vt.T, eigenvalues_=s ** 2 / m, loadings_=u, singular_values_=s,
               freq_=p[:, 0], variant_index_=np.arange(m))


def store_pca(store, k: int = 10, *, samples=None, variant_index=None, chunk: int | None = None,
              **kwargs) -> PCA:
    """PCA over a genotype store: variant chunks read lazily (dask.delayed) from the Zarr arrays.

    Parameters
    ----------
    store : genotype store path
    k : components
    samples : store sample positions to use (default all)
    variant_index : store rows to use (e.g. after `ld_prune`; default all)
    chunk : variants per block (default the store's chunk)
    kwargs : passed to `pca`

    Returns
    -------
    PCA (``variant_index_`` = the store rows used)

    References
    ----------
    Peer: plink2 ``--pca``.
    """
    import dask
    import dask.array as da

    from ..io.genotypes import GenotypeStore

    g = GenotypeStore(store)
    idx = np.arange(g.meta["n_variants"]) if variant_index is None else np.asarray(variant_index)
    n = g.n_samples if samples is None else len(samples)
    step = int(chunk or g.meta.get("variants_chunk", 1000))
    load = dask.delayed(lambda i: GenotypeStore(store).dosages(index=i, samples=samples), pure=True)
    chunks = [da.from_delayed(load(idx[s:s + step]), shape=(len(idx[s:s + step]), n), dtype=np.float32)
              for s in range(0, len(idx), step)]
    out = pca(chunks, k, **kwargs)
    out.variant_index_ = idx
    return out


def prune_store(store, *, r2: float = 0.2, window: int = 50, min_maf: float = 0.0, samples=None,
                chunk: int | None = None) -> np.ndarray:
    """Store rows kept by LD pruning (and a minor-allele-frequency floor), chunk by chunk on dask threads.

    Each chunk of consecutive variants (the store's Zarr chunk unless ``chunk``) is pruned by `ld_prune`
    (pairs within ``window`` variants of each other and within the chunk); variants with minor allele
    frequency below ``min_maf`` (and monomorphic ones) are dropped first.

    Parameters
    ----------
    store : genotype store path
    r2, window : `ld_prune` threshold and window (variants)
    min_maf : minor allele frequency floor over the samples used
    samples : store sample positions to use (default all)
    chunk : variants per block

    Returns
    -------
    (m,) int64 store rows kept, ascending

    References
    ----------
    Peer: plink ``--indep-pairwise`` (window in variants, r^2 threshold) and ``--maf``.
    """
    import dask

    from ..io.genotypes import GenotypeStore

    g = GenotypeStore(store)
    m = int(g.meta["n_variants"])
    step = int(chunk or g.meta.get("variants_chunk", 1000))

    def keep(lo):
        d = GenotypeStore(store).dosages(lo, min(m, lo + step), samples=samples)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.nanmean(d, 1) / 2
            ok = (np.minimum(f, 1 - f) >= min_maf) & (np.nanmax(d, 1, initial=-1) > np.nanmin(d, 1, initial=3))
        rows = np.flatnonzero(ok)
        return lo + rows[ld_prune(d[rows], r2=r2, window=window)] if len(rows) else rows
    parts = dask.compute(*[dask.delayed(keep)(lo) for lo in range(0, m, step)], scheduler="threads")
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)


def read_rows(store, rows, samples=None, block: int = 2000) -> np.ndarray:
    """float32 dosages of store rows in any order, read in blocks of nearby rows (never the whole span).

    Parameters
    ----------
    store : GenotypeStore
    rows : (m,) store rows
    samples : store sample positions (default all)
    block : rows per read

    Returns
    -------
    (m, n) float32, NaN = missing, in the order of ``rows``
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), store.n_samples if samples is None else len(samples)), np.float32)
    order = np.argsort(rows, kind="stable")
    for s in range(0, len(order), block):  # blocks of the store in row order: each read stays local
        o = order[s:s + block]
        out[o] = store.dosages(index=rows[o], samples=samples)
    return out


def project_store(fit: PCA, fit_variants: pd.DataFrame, store, samples=None) -> tuple[np.ndarray, dict]:
    """Scores of the samples of another genotype store on a fitted PCA, variants matched by id.

    A fitted variant is found in ``store`` by its variant_id (chrom:pos:ref:alt) or, with ref and alt
    swapped, by chrom:pos:alt:ref (its dosage then counts the fitted alt as 2 - g); one found in neither
    contributes 0 (the reference frequency's mean), as plink2 ``--score`` with mean imputation does.

    Parameters
    ----------
    fit : PCA from `store_pca`
    fit_variants : variant_id of each row of ``fit.loadings_`` (same order), column ``variant_id``
    store : the other store's path
    samples : its sample positions to project (default all)

    Returns
    -------
    (scores (n, k), report {"variants_matched", "variants_swapped", "variants_missing"})

    References
    ----------
    Patterson, Price & Reich (2006); plink2 ``--score`` (variance-standardised, mean-imputed).
    """
    from ..io.genotypes import GenotypeStore

    other = GenotypeStore(store)
    ids = pd.Index(other.variants["variant_id"].astype(str))
    want = fit_variants["variant_id"].astype(str)
    parts = want.str.split(":", n=3, expand=True)
    swapped = parts[0] + ":" + parts[1] + ":" + parts[3] + ":" + parts[2]
    row, srow = ids.get_indexer(want), ids.get_indexer(swapped)
    flip = (row < 0) & (srow >= 0)
    use = np.where(row >= 0, row, srow)
    n = other.n_samples if samples is None else len(samples)
    d = np.full((len(want), n), np.nan, np.float32)
    found = np.flatnonzero(use >= 0)
    d[found] = read_rows(other, other.variants["store_index"].to_numpy()[use[found]], samples)
    d[flip] = 2 - d[flip]
    return fit.project(d), {"variants_matched": int((row >= 0).sum()), "variants_swapped": int(flip.sum()),
                            "variants_missing": int((use < 0).sum())}


def population_separation(scores: np.ndarray, labels) -> pd.DataFrame:
    """Nearest-centroid accuracy and between/within variance ratio of labelled samples in PC space.

    Parameters
    ----------
    scores : (n, k) sample PCs
    labels : (n,) population labels (None = unlabelled)

    Returns
    -------
    one-row pandas.DataFrame: populations, nearest_centroid_accuracy, between_within_ratio

    References
    ----------
    Patterson, Price & Reich (2006).
    """
    lab = pd.Series(np.asarray(labels))
    cats = sorted(lab.dropna().unique())
    cen = np.stack([scores[(lab == c).to_numpy()].mean(0) for c in cats])
    d = ((scores[:, None, :] - cen[None]) ** 2).sum(-1)
    pred = np.asarray(cats)[d.argmin(1)]
    ok = lab.notna().to_numpy()
    within = np.mean([((scores[(lab == c).to_numpy()] - cen[i]) ** 2).sum(1).mean() for i, c in enumerate(cats)])
    between = ((cen - scores[ok].mean(0)) ** 2).sum(1).mean()
    return pd.DataFrame({"populations": [len(cats)], "nearest_centroid_accuracy": [(pred[ok] == lab[ok]).mean()],
                         "between_within_ratio": [between / within]})
