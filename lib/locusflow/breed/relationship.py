"""Genomic relationship matrices: VanRaden's G, optionally with per-marker weights, built blockwise.

VanRaden (2008) method 1: with M the [n animals, m markers] allele-count matrix (0, 1, 2) and p_j the
frequency of the counted allele, W = M - 2p and

    G = W D W' / sum_j d_j 2 p_j (1 - p_j)

with D = diag(d) the marker weights (d = 1: VanRaden's G). Markers coded 0/1 (inbred lines, DArT
presence/absence) are taken as 0/2 allele counts, so that p is the frequency of the 1 and G keeps the
same scale. A weighted G (``weights`` from fine-mapping PIPs, DNA-LM scores or GWAS p) puts more of
the genetic variance on the prioritised markers (Zhang et al. 2016, "weighted GBLUP").

G is accumulated over marker chunks (``G += W_b D_b W_b'``), so memory is n^2 plus one chunk of
markers: :func:`grm_from_store` reads the chunks from a genotype store one at a time.

References
----------
VanRaden P.M. (2008) Efficient methods to compute genomic predictions. J Dairy Sci 91:4414-4423.
Zhang X., Lourenco D., Aguilar I., Legarra A., Misztal I. (2016) Weighting strategies for single-step
genomic BLUP. Front Genet 7:151.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def allele_counts(markers) -> np.ndarray:
    """Markers as allele counts 0..2 (float64; NaN missing), 0/1 codings doubled.

    Parameters
    ----------
    markers : array-like
        [n, m] genotypes coded 0/1/2 (dosages) or 0/1 (inbred lines, presence/absence).

    Returns
    -------
    numpy.ndarray
        [n, m] float64 allele counts.
    """
    x = np.asarray(markers, dtype=np.float64)
    finite = x[np.isfinite(x)]
    if finite.size and (finite.min() < 0 or finite.max() > 2):
        raise InputError("markers", "genotypes coded 0/1/2 or 0/1", value=(float(finite.min()), float(finite.max())))
    if finite.size and finite.max() <= 1 and np.all(np.isin(finite, (0.0, 1.0))):
        x = 2.0 * x
    return x


def center(counts: np.ndarray, freq=None) -> tuple[np.ndarray, np.ndarray]:
    """W = M - 2p with missing calls set to the mean (W = 0 there).

    Parameters
    ----------
    counts : numpy.ndarray
        [n, m] allele counts (NaN missing).
    freq : array-like, optional
        Allele frequencies p (e.g. from the training animals only); default from ``counts``.

    Returns
    -------
    W : numpy.ndarray
        [n, m] centred counts.
    p : numpy.ndarray
        [m] frequencies used.
    """
    p = np.nanmean(counts, axis=0) / 2 if freq is None else np.asarray(freq, dtype=np.float64)
    w = counts - 2 * p
    w[np.isnan(w)] = 0.0
    return w, p


def vanraden_grm(markers, weights=None, *, freq=None, chunk: int = 4096) -> np.ndarray:
    """VanRaden's genomic relationship matrix, optionally marker-weighted.

    Parameters
    ----------
    markers : array-like
        [n, m] genotypes (0/1/2, or 0/1 for inbred lines).
    weights : array-like, optional
        [m] non-negative marker weights d_j (default 1).
    freq : array-like, optional
        Allele frequencies (default from ``markers``).
    chunk : int
        Markers per GEMM.

    Returns
    -------
    numpy.ndarray
        [n, n] G = W D W' / sum_j d_j 2 p_j (1 - p_j).

    References
    ----------
    VanRaden (2008) J Dairy Sci 91:4414; Zhang et al. (2016) Front Genet 7:151.
    """
    counts = allele_counts(markers)
    n, m = counts.shape
    d = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    if d.shape != (m,) or (d < 0).any() or not np.isfinite(d).all():
        raise InputError("weights", f"{m} finite non-negative marker weights", value=d.shape)
    g = np.zeros((n, n))
    scale = 0.0
    for a in range(0, m, chunk):    # loop over marker chunks (one GEMM each), not markers
        part, s = weighted_cross(counts[:, a:a + chunk], d[a:a + chunk],
                                 None if freq is None else np.asarray(freq)[a:a + chunk])
        g += part
        scale += s
    if scale <= 0:
        raise InputError("markers", "at least one polymorphic marker with positive weight")
    return g / scale


def weighted_cross(counts: np.ndarray, weights: np.ndarray, freq=None) -> tuple[np.ndarray, float]:
    """One chunk's share of G: W D W' and its scale sum_j d_j 2 p_j (1 - p_j).

    Parameters
    ----------
    counts : numpy.ndarray
        [n, chunk] allele counts (NaN missing).
    weights : numpy.ndarray
        [chunk] marker weights d.
    freq : array-like, optional
        As :func:`center`.

    Returns
    -------
    tuple
        ([n, n] W D W', float scale).
    """
    w, p = center(counts, freq)
    return (w * weights) @ w.T, float(np.sum(weights * 2 * p * (1 - p)))


def _chunk_cross(store_path: str, lo: int, hi: int, samples, weights) -> tuple[np.ndarray, float]:
    """:func:`weighted_cross` of one chunk of store variants (a task of :func:`grm_from_store`); the store is
    opened once per process (:func:`locusflow.ld.matrix.open_store`)."""
    from ..ld.matrix import open_store
    dos = open_store(store_path).dosages(lo, hi, samples=samples).astype(np.float64).T     # [n, chunk]
    return weighted_cross(dos, weights)


def grm_from_store(store, samples=None, weights=None, *, chunk: int = 2048, engine: str = "local",
                   dask_workers: int | None = None) -> np.ndarray:
    """VanRaden's G from a genotype store, one chunk of variants at a time.

    Parameters
    ----------
    store : str or locusflow.io.genotypes.GenotypeStore
        A VCF Zarr store written by ``locusflow ingest``.
    samples : array-like of int, optional
        Store sample indices (default all).
    weights : array-like, optional
        Per-variant weights in store order.
    chunk : int
        Variants per read.
    engine : {"local", "dask"}
        ``local`` accumulates in this process (memory n^2 plus one chunk); ``dask`` computes each chunk's
        cross-product as a task (threads) and sums them by a tree reduction.
    dask_workers : int, optional

    Returns
    -------
    numpy.ndarray
        [n, n] G.
    """
    from ..io.genotypes import GenotypeStore
    st = store if isinstance(store, GenotypeStore) else GenotypeStore(store)
    m = len(st.variants)
    d = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    spans = [(a, min(m, a + chunk)) for a in range(0, m, chunk)]
    if engine == "dask":
        import dask
        parts = [dask.delayed(_chunk_cross)(str(st.path), a, b, samples, d[a:b]) for a, b in spans]
        while len(parts) > 1:       # pairwise tree sum: at most two n x n partials per task
            parts = [dask.delayed(lambda x, y: (x[0] + y[0], x[1] + y[1]))(parts[i], parts[i + 1])
                     if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
        g, scale = dask.compute(parts[0], scheduler="threads", num_workers=dask_workers)[0]
        return g / scale
    if engine != "local":
        raise InputError("breed engine", "local or dask", value=engine)
    n = st.n_samples if samples is None else len(samples)
    g, scale = np.zeros((n, n)), 0.0
    for a, b in spans:    # loop over variant chunks of the store
        part, s = _chunk_cross(str(st.path), a, b, samples, d[a:b])
        g += part
        scale += s
    return g / scale
