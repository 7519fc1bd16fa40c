"""EHH-based selection scans on phased haplotypes: iHS, nSL, XP-EHH, standardised within frequency bins.

h is a (variants, haplotypes) 0/1 array (phased; no missing alleles), pos 1-based positions.

- iHH of an allele at a core variant: the integral over distance, backwards and forwards, of its EHH
  (fraction of pairs of haplotypes carrying it that are identical from the core to there), by the
  trapezoid rule, stopped where EHH first falls to ``min_ehh`` (Sabeti et al. 2002; Voight et al. 2006).
  Gaps longer than ``gap_scale`` bp count as ``gap_scale`` (a core whose integration crosses a gap
  over ``max_gap`` gets NaN); scikit-allel's defaults.
- iHS = log(iHH_alt / iHH_ref) (unstandardised; Voight et al. 2006).
- nSL = log(nSL_alt / nSL_ref) with nSL the mean number of variants shared by pairs carrying the allele
  (Ferrer-Admetlla et al. 2014).
- XP-EHH = log(iHH_pop1 / iHH_pop2) with iHH over all pairs of haplotypes (Sabeti et al. 2007).
- Standardisation: iHS and nSL within bins of alt allele count ((x - mean) / sd per bin); XP-EHH over
  all variants.

Distributed (``run_selection_scan(..., write_to=DIR)``): the bins and their means and sds are
genome-wide statistics, so the scan is two distributed passes and the driver never holds a score.
Pass 1: one task per chromosome scans it, writes the unstandardised rows as its fragment of a hidden
``DIR/_unstd`` dataset and returns, per alt allele count, the count, sum and sum of squared deviations
(about the task's own mean) of its non-NaN iHS and nSL, and the same three numbers of its XP-EHH
(:func:`scan_stats`; at most 2 x (haplotypes + 1) x 3 numbers per chromosome). The driver merges them
(Chan et al.'s pairwise update, :func:`merge_moments`) into the bin edges of
:func:`similar_sized_bins` (from the allele-count histogram) and each bin's mean and population sd,
exactly the statistics :func:`standardize_by_allele_count` computes over all rows (up to rounding).
Pass 2: one task per chromosome reads its pass-1 fragment, standardises with those numbers
(:func:`standardize_kernel`) and writes the final fragment into ``DIR``; ``_unstd`` is then removed.

The scans are compiled PBWT passes (`ehh_kernels.scan`), O(haplotypes) per variant.

References
----------
Voight BF et al. (2006) PLoS Biol 4:e72; Sabeti PC et al. (2007) Nature 449:913; Ferrer-Admetlla A
et al. (2014) Mol Biol Evol 31:1275. Peer: scikit-allel 1.3 ``allel.ihs``, ``allel.nsl``,
``allel.xpehh``, ``allel.standardize_by_allele_count``.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .ehh_kernels import scan


def _haplotypes(h, name="haplotypes") -> np.ndarray:
    h = np.ascontiguousarray(np.asarray(h, dtype=np.int8))
    if h.ndim != 2:
        raise InputError(name, "a (variants, haplotypes) array")
    if (h < 0).any() or (h > 1).any():
        bad = np.argwhere((h < 0) | (h > 1))[0]
        raise InputError(name, "phased biallelic alleles 0/1 without missing calls (split multi-allelic "
                         "sites first)", row=int(bad[0]) + 1, column=f"haplotype {int(bad[1])}",
                         value=int(h[tuple(bad)]))
    return h


def ihh_gaps(pos, map_pos=None, gap_scale: float | None = 20000, max_gap: float | None = 200000,
             is_accessible=None) -> np.ndarray:
    """Integration gaps between consecutive variants (scikit-allel ``compute_ihh_gaps``); -1 = too long.

    Parameters
    ----------
    pos : array-like of int, shape (m,)
        1-based positions, sorted.
    map_pos : array-like of float, shape (m,), optional
        Genetic positions to integrate over instead of bp.
    gap_scale : float, optional
        Physical gaps longer than this are scaled down to it (None or <= 0: no scaling; ignored when
        ``is_accessible`` is given).
    max_gap : float, optional
        Physical gaps longer than this stop integration (NaN); None or <= 0: no limit.
    is_accessible : array-like of bool, optional
        Accessibility per base (index 1-based pos - 1); scales gaps by their accessible fraction.

    Returns
    -------
    ndarray of float64, shape (m - 1,)
        Gaps; -1 where integration must stop.

    References
    ----------
    Peer: scikit-allel ``compute_ihh_gaps``.
    """
    pos = np.asarray(pos)
    physical = np.diff(pos)
    gaps = np.diff(pos if map_pos is None else np.asarray(map_pos)).astype("f8")
    if is_accessible is not None:
        cum = np.concatenate([[0], np.cumsum(np.asarray(is_accessible, dtype=np.int64))])
        access = cum[pos[1:] - 1] - cum[pos[:-1] - 1]
        gaps = gaps * (access / physical)
    elif gap_scale is not None and gap_scale > 0:
        big = physical > gap_scale
        gaps[big] = gaps[big] * (gap_scale / physical[big])
    if max_gap is not None and max_gap > 0:
        gaps[physical > max_gap] = -1
    return gaps


def _both_ways(h, gaps, mode, min_ehh, min_maf, include_edges):
    f0, f1 = scan(h, gaps, mode, float(min_ehh), float(min_maf), bool(include_edges))
    r0, r1 = scan(np.ascontiguousarray(h[::-1]), np.ascontiguousarray(gaps[::-1]), mode, float(min_ehh),
                  float(min_maf), bool(include_edges))
    return f0 + r0[::-1], f1 + r1[::-1]


def ihs(h, pos, map_pos=None, min_ehh: float = 0.05, min_maf: float = 0.05, include_edges: bool = False,
        gap_scale=20000, max_gap=200000, is_accessible=None) -> np.ndarray:
    """Unstandardised iHS = log(iHH_1 / iHH_0) per variant (NaN where undefined).

    Parameters
    ----------
    h : array-like of int, shape (m, n)
        Phased 0/1 haplotypes (variants x haplotypes, no missing alleles).
    pos : array-like of int, shape (m,)
        1-based positions, sorted.
    map_pos, gap_scale, max_gap, is_accessible
        See :func:`ihh_gaps`.
    min_ehh : float
        Integration stops where EHH falls to this.
    min_maf : float
        Variants with a rarer minor allele get NaN.
    include_edges : bool
        Report cores whose EHH never decays before the contig end (else NaN).

    Returns
    -------
    ndarray of float64, shape (m,)
        log(iHH_1 / iHH_0) per variant, NaN where undefined.

    Raises
    ------
    InputError
        When ``h`` is not 2-D or holds a value other than 0 and 1.

    References
    ----------
    Voight et al. (2006) PLoS Biol 4:e72. Peer: ``allel.ihs`` (same parameters and defaults).
    """
    h = _haplotypes(h)
    i0, i1 = _both_ways(h, ihh_gaps(pos, map_pos, gap_scale, max_gap, is_accessible), 0, min_ehh, min_maf,
                        include_edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(i1 / i0)


def nsl(h) -> np.ndarray:
    """Unstandardised nSL = log(nSL_1 / nSL_0) per variant (Ferrer-Admetlla et al. 2014; ``allel.nsl``).

    Parameters
    ----------
    h : array-like of int, shape (m, n)
        As :func:`ihs`.

    Returns
    -------
    ndarray of float64, shape (m,)
        log(nSL_1 / nSL_0) per variant, NaN where undefined; bad haplotypes raise as in :func:`ihs`.

    References
    ----------
    Ferrer-Admetlla et al. (2014) Mol Biol Evol 31:1275. Peer: ``allel.nsl``.
    """
    h = _haplotypes(h)
    gaps = np.zeros(max(0, h.shape[0] - 1))
    s0, s1 = _both_ways(h, gaps, 2, 0.0, 0.0, False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(s1 / s0)


def xpehh(h1, h2, pos, map_pos=None, min_ehh: float = 0.05, include_edges: bool = False, gap_scale=20000,
          max_gap=200000, is_accessible=None) -> np.ndarray:
    """Unstandardised XP-EHH = log(iHH_pop1 / iHH_pop2) per variant (Sabeti et al. 2007; ``allel.xpehh``).

    Parameters
    ----------
    h1, h2 : array-like of int, shapes (m, n1) and (m, n2)
        Phased 0/1 haplotypes of the two populations at the same variants.
    pos, map_pos, min_ehh, include_edges, gap_scale, max_gap, is_accessible
        As in :func:`ihs`.

    Returns
    -------
    ndarray of float64, shape (m,)
        log(iHH_pop1 / iHH_pop2) per variant (iHH over all pairs of haplotypes), NaN where undefined.

    Raises
    ------
    InputError
        When ``h1`` or ``h2`` is not 2-D or holds a value other than 0 and 1.

    References
    ----------
    Sabeti et al. (2007) Nature 449:913. Peer: ``allel.xpehh``.
    """
    h1, h2 = _haplotypes(h1, "haplotypes of population 1"), _haplotypes(h2, "haplotypes of population 2")
    gaps = ihh_gaps(pos, map_pos, gap_scale, max_gap, is_accessible)
    a, _ = _both_ways(h1, gaps, 1, min_ehh, 0.0, include_edges)
    b, _ = _both_ways(h2, gaps, 1, min_ehh, 0.0, include_edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a / b)


def similar_sized_bins(x, n_bins: int) -> np.ndarray:
    """Bin edges holding about equal numbers of values (scikit-allel ``make_similar_sized_bins``).

    Parameters
    ----------
    x : array-like
        Values (alt allele counts); non-empty.
    n_bins : int
        Number of bins wanted.

    Returns
    -------
    ndarray
        Bin edges, increasing, from min(x) to max(x) (dtype of ``x``); every ``len(x) // n_bins``-th
        sorted value, duplicates merged, so there may be fewer than ``n_bins`` bins.

    References
    ----------
    Peer: scikit-allel ``make_similar_sized_bins``.
    """
    y = np.sort(np.asarray(x).ravel())
    step = max(1, len(y) // n_bins)
    edges = np.unique(np.concatenate([[y[0]], y[step::step]]))
    edges[-1] = y[-1]
    return edges


def standardize(score) -> np.ndarray:
    """(score - mean) / sd over the non-NaN values (XP-EHH).

    Parameters
    ----------
    score : array-like of float, shape (m,)
        Scores (unstandardised XP-EHH); NaN ignored.

    Returns
    -------
    ndarray of float64, shape (m,)
        (score - mean) / sd with the population sd (ddof 0); NaN stays NaN.

    References
    ----------
    Sabeti et al. (2007). Peer: ``allel.standardize``.
    """
    score = np.asarray(score, dtype=np.float64)
    return (score - np.nanmean(score)) / np.nanstd(score)


def standardize_by_allele_count(score, aac, bins=None, n_bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standardise within alt-allele-count bins: (score - bin mean) / bin sd (population sd).

    Parameters
    ----------
    score : array-like of float, shape (m,)
        Unstandardised iHS or nSL.
    aac : array-like of int, shape (m,)
        Alt allele counts.
    bins : array-like, optional
        Bin edges; default :func:`similar_sized_bins` of the non-NaN variants' counts into ``n_bins``
        (default max(aac) // 2) bins.
    n_bins : int, optional
        Number of bins when ``bins`` is not given.

    Returns
    -------
    standardised : ndarray of float64, shape (m,)
        (score - bin mean) / bin sd; bin statistics over [b_i, b_i+1) with the last bin closed; a count
        below the first edge uses the first bin, one above the last edge the last bin.
    bins : ndarray
        The bin edges used.

    References
    ----------
    Voight et al. (2006). Peer: ``allel.standardize_by_allele_count``.
    """
    score = np.asarray(score, dtype=np.float64)
    aac = np.asarray(aac)
    ok = ~np.isnan(score)
    if bins is None:
        bins = similar_sized_bins(aac[ok], int(n_bins if n_bins is not None else np.max(aac) // 2))
    bins = np.asarray(bins)
    nb = len(bins) - 1
    # statistics over [b_i, b_i+1) with the last bin closed (scipy binned_statistic)
    k = np.searchsorted(bins, aac[ok], side="right") - 1
    k[aac[ok] == bins[-1]] = nb - 1
    inside = (k >= 0) & (k < nb)
    ks, xs = k[inside], score[ok][inside]
    cnt = np.bincount(ks, minlength=nb).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ks, xs, minlength=nb) / cnt
        sd = np.sqrt(np.bincount(ks, (xs - mean[ks]) ** 2, minlength=nb) / cnt)
    # application: the first bin takes everything below its top edge, the last everything from its bottom
    j = np.clip(np.searchsorted(bins, aac, side="right") - 1, 0, nb - 1)
    return (score - mean[j]) / sd[j], bins


def scan_kernel(unit: dict, store: str, hap_index, ref_index=None, params: dict | None = None,
                names=("", None)):
    """Work unit: one chromosome (rows start:stop) of a store of phased haplotypes; unstandardised scans.

    ``hap_index`` / ``ref_index``: store sample positions of the population and of the reference.

    Parameters
    ----------
    unit : dict
        One chromosome: ``start``, ``stop`` rows of the store (stop exclusive).
    store : str
        Genotype store path.
    hap_index, ref_index : array-like of int
        Store sample positions of the population and of the reference (``ref_index`` None: no XP-EHH).
    params : dict, optional
        :func:`ihs` / :func:`xpehh` parameters (min_ehh, min_maf, include_edges, gap_scale, max_gap).
    names : tuple of (str, str or None)
        (population, reference), written to the ``population`` and ``reference`` columns.

    Returns
    -------
    pandas.DataFrame
        Schema selection_scan rows, unstandardised: ``ihs_unstd``, ``nsl_unstd``, ``xpehh_unstd`` (NaN
        without a reference), ``alt_count``; ``ihs``, ``nsl`` and ``xpehh`` are NaN.

    References
    ----------
    Peer: scikit-allel ``ihs``, ``nsl``, ``xpehh``.
    """
    import pandas as pd

    from ..io.genotypes import GenotypeStore

    p = params or {}
    g = GenotypeStore(store)
    v = g.variant_rows(unit["start"], unit["stop"])
    pos = v["pos"].to_numpy()
    h = g.haplotypes(unit["start"], unit["stop"], samples=hap_index)
    kw = {k: p[k] for k in ("min_ehh", "include_edges", "gap_scale", "max_gap") if k in p}
    out = pd.DataFrame({"population": names[0], "reference": names[1], "variant_id": v["variant_id"].to_numpy(), "chrom": v["chrom"].to_numpy(), "pos": pos,
                        "alt_count": h.sum(1).astype(np.int64),
                        "ihs_unstd": ihs(h, pos, min_maf=p.get("min_maf", 0.05), **kw), "nsl_unstd": nsl(h),
                        "xpehh_unstd": np.nan, "ihs": np.nan, "nsl": np.nan, "xpehh": np.nan})
    if ref_index is not None:
        out["xpehh_unstd"] = xpehh(h, g.haplotypes(unit["start"], unit["stop"], samples=ref_index), pos, **kw)
    return out


def run_selection_scan(store, populations, population: str, reference: str | None = None, *,
                       n_bins: int | None = None, engine: str = "local", spark=None, progress: bool = False,
                       write_to=None, **params):
    """iHS, nSL (and XP-EHH against ``reference``) of one population over a store of phased haplotypes.

    Parameters
    ----------
    store : str or Path
        Genotype store ingested from a phased VCF (multi-allelic records split at ingest).
    populations : pandas.Series
        Population label per sample id (index); store samples without one are in no population.
    population : str
        The population scanned.
    reference : str, optional
        The XP-EHH reference population (no XP-EHH without it).
    n_bins : int, optional
        Alt-count bins for standardising iHS and nSL (default scikit-allel's max(count) // 2).
    engine : {"local", "dask", "spark"}
        Work-list runner (:func:`locusflow.engine.runner.run_worklist`); one unit per chromosome (the
        scans run along a whole chromosome).
    spark : SparkSession, optional
        The session used when ``engine`` is ``"spark"``.
    progress : bool
        A progress bar for the local loop.
    write_to : str or Path, optional
        Dataset directory the tasks write the rows into, in two passes (see the module docstring); the
        caller commits it (:func:`locusflow.io.dataset.finish_fragments` with the returned index).
    **params
        min_ehh, min_maf, include_edges, gap_scale, max_gap (see :func:`ihs`).

    Returns
    -------
    pandas.DataFrame
        Schema ``selection_scan``: unstandardised and standardised iHS, nSL (within alt-count bins over
        the whole store) and XP-EHH (over all variants; NaN without ``reference``). With ``write_to``, the
        fragment index of the written rows (one row per chromosome) instead, with ``attrs["standardise"]``:
        the bin edges, means and sds used, and per score the ``stat_<score>_scored`` and
        ``stat_<score>_abs_over_2`` counts.

    Raises
    ------
    InputError
        When ``population`` (or ``reference``) has fewer than 2 samples in the store, or the haplotypes
        are not phased 0/1.

    References
    ----------
    Voight et al. (2006); Ferrer-Admetlla et al. (2014); Sabeti et al. (2007). Peer: scikit-allel 1.3.
    """
    import pandas as pd

    from ..engine.runner import run_worklist
    from ..io.genotypes import GenotypeStore

    g = GenotypeStore(store)
    lab = pd.Series(populations).reindex(g.samples).to_numpy()
    idx = np.flatnonzero(lab == population)
    ref = None if reference is None else np.flatnonzero(lab == reference)
    for name, ix in ((population, idx), (reference, ref)):
        if ix is not None and len(ix) < 2:
            raise InputError("populations", f"at least 2 samples of population '{name}' in the store",
                             value=int(len(ix)))
    chrom = g.variant_rows(0, int(g.meta["n_variants"]))["chrom"].to_numpy()
    cuts = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(chrom)]
    units = [{"unit_id": str(chrom[s]), "start": int(s), "stop": int(e), "cost": float(e - s)}
             for s, e in zip(starts, stops)]
    kw = {"store": str(g.path), "hap_index": idx, "ref_index": ref, "params": params, "names": (population, reference)}
    if write_to is not None:
        return _scan_distributed(units, kw, write_to, n_bins, reference, engine=engine, spark=spark,
                                 progress=progress)
    res = run_worklist(units, scan_kernel, "selection_scan", engine=engine, spark=spark, progress=progress,
                       kwargs=kw)      # the in-memory API: the caller asked for the rows
    res["ihs"], _ = standardize_by_allele_count(res["ihs_unstd"], res["alt_count"], n_bins=n_bins)
    res["nsl"], _ = standardize_by_allele_count(res["nsl_unstd"], res["alt_count"], n_bins=n_bins)
    res["xpehh"] = standardize(res["xpehh_unstd"]) if reference is not None else np.nan
    from ..schema import load
    return load("selection_scan").conform(res)


SCORES = ("ihs", "nsl")


def scan_stats(frames: dict) -> dict:
    """One chromosome's share of the standardisation statistics, computed in the task that scanned it.

    Parameters
    ----------
    frames : dict
        ``{"": rows of schema selection_scan}`` (unstandardised; the runner's ``stats`` argument).

    Returns
    -------
    dict
        ``max_count`` (largest alt allele count); for iHS and nSL per alt allele count ``a`` of the
        non-NaN scores ``<score>_n.<a>``, ``<score>_s.<a>`` (sum) and ``<score>_m.<a>`` (sum of squared
        deviations from their mean); ``xpehh_n``, ``xpehh_s``, ``xpehh_m`` over the non-NaN XP-EHH.

    References
    ----------
    Chan T.F., Golub G.H., LeVeque R.J. (1979) Updating formulae and a pairwise algorithm for computing
    sample variances. Technical report STAN-CS-79-773, Stanford University.
    """
    f = frames[""]
    aac = f["alt_count"].to_numpy(np.int64)
    out = {"max_count": int(aac.max()) if len(aac) else 0}
    for score in SCORES:
        x = f[f"{score}_unstd"].to_numpy(np.float64)
        ok = ~np.isnan(x)
        a, x = aac[ok], x[ok]
        n = np.bincount(a).astype(np.float64) if len(a) else np.zeros(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(a, x, minlength=len(n)) / n
        m2 = np.bincount(a, (x - mean[a]) ** 2, minlength=len(n))
        s = np.bincount(a, x, minlength=len(n))
        for v in np.flatnonzero(n):
            out.update({f"{score}_n.{v}": float(n[v]), f"{score}_s.{v}": float(s[v]), f"{score}_m.{v}": float(m2[v])})
    x = f["xpehh_unstd"].to_numpy(np.float64)
    x = x[~np.isnan(x)]
    out.update({"xpehh_n": float(len(x)), "xpehh_s": float(x.sum()),
                "xpehh_m": float(((x - x.mean()) ** 2).sum()) if len(x) else 0.0})
    return out


def merge_moments(n, s, m2, group, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and population sd per group from parts' counts, sums and squared deviations.

    Parameters
    ----------
    n, s, m2 : array-like of float, shape (k,)
        Per part: count, sum and sum of squared deviations from the part's mean (parts with n = 0 are
        ignored).
    group : array-like of int, shape (k,)
        Group of each part (outside 0..n_groups-1: ignored).
    n_groups : int

    Returns
    -------
    count, mean, sd : ndarray of float64, shape (n_groups,)
        sd with ddof 0 (NaN for an empty group).

    References
    ----------
    Chan, Golub & LeVeque (1979): M2 = sum of M2_i + sum n_i (mean_i - mean)^2.
    """
    n, s, m2, group = (np.asarray(a) for a in (n, s, m2, group))
    keep = (n > 0) & (group >= 0) & (group < n_groups)
    n, s, m2, group = n[keep].astype(np.float64), s[keep], m2[keep], group[keep]
    cnt = np.bincount(group, n, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(group, s, minlength=n_groups) / cnt
        dev = np.bincount(group, m2 + n * (s / n - mean[group]) ** 2, minlength=n_groups)
        return cnt, mean, np.sqrt(dev / cnt)


def _stat_parts(index, score: str) -> tuple[np.ndarray, ...]:
    """(alt count, n, sum, M2) of every (chromosome, alt count) part in the index's ``stat_<score>_*`` columns."""
    pre = f"stat_{score}_n."
    counts = sorted(int(c[len(pre):]) for c in index.columns if c.startswith(pre))
    col = lambda w, a: index[f"stat_{score}_{w}.{a}"].fillna(0).to_numpy(np.float64)  # noqa: E731
    a = np.repeat(np.asarray(counts, dtype=np.int64), len(index))
    n, s, m2 = (np.concatenate([col(w, v) for v in counts]) if counts else np.zeros(0) for w in ("n", "s", "m"))
    return a, n, s, m2


def standardisation(index, n_bins: int | None = None) -> dict:
    """The genome-wide standardisation of a scan from the per-chromosome :func:`scan_stats` of its index.

    Parameters
    ----------
    index : pandas.DataFrame
        Fragment index of the scan's first pass (``stat_*`` columns of :func:`scan_stats`).
    n_bins : int, optional
        As :func:`standardize_by_allele_count` (default max(alt count) // 2).

    Returns
    -------
    dict
        ``ihs`` and ``nsl``: {"bins", "mean", "sd"} per alt-count bin (the bins of
        :func:`similar_sized_bins` over the non-NaN scores' counts); ``xpehh``: {"mean", "sd"}.

    References
    ----------
    Voight et al. (2006); scikit-allel ``standardize_by_allele_count``.
    """
    top = int(index["stat_max_count"].max()) if "stat_max_count" in index.columns and len(index) else 0
    out = {}
    for score in SCORES:
        a, n, s, m2 = _stat_parts(index, score)
        keep = n > 0
        a, n, s, m2 = a[keep], n[keep], s[keep], m2[keep]
        if not len(a):
            out[score] = {"bins": [0, 0], "mean": [np.nan], "sd": [np.nan]}
            continue
        counts = np.unique(a)
        hist = np.bincount(np.searchsorted(counts, a), n).astype(np.int64)
        bins = _similar_sized_bins_of_counts(counts, hist, int(n_bins if n_bins is not None else top // 2))
        nb = len(bins) - 1
        k = np.searchsorted(bins, a, side="right") - 1
        k[a == bins[-1]] = nb - 1
        _, mean, sd = merge_moments(n, s, m2, k, nb)        # every (chromosome, count) part into its bin
        out[score] = {"bins": bins.tolist(), "mean": mean.tolist(), "sd": sd.tolist()}
    x = [index[f"stat_xpehh_{w}"].fillna(0).to_numpy() if f"stat_xpehh_{w}" in index.columns else np.zeros(len(index))
         for w in ("n", "s", "m")]
    _, xmean, xsd = merge_moments(*x, np.zeros(len(index), dtype=np.int64), 1)
    out["xpehh"] = {"mean": float(xmean[0]), "sd": float(xsd[0])}
    return out


def _similar_sized_bins_of_counts(values, counts, n_bins: int) -> np.ndarray:
    """:func:`similar_sized_bins` of the sorted sample that holds ``counts[i]`` copies of ``values[i]``."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    step = max(1, total // n_bins)
    at = np.r_[0, np.arange(step, total, step)]               # the sorted positions similar_sized_bins takes
    edges = np.unique(np.asarray(values)[np.searchsorted(np.cumsum(counts), at, side="right")])
    edges[-1] = values[-1]
    return edges


def standardize_kernel(unit: dict, unstd_dir: str, standardise: dict, reference=None):
    """Work unit of the scan's second pass: one chromosome's unstandardised fragment, standardised.

    Parameters
    ----------
    unit : dict
        ``files``: the chromosome's fragment files of ``unstd_dir``.
    unstd_dir : str
        The first pass's dataset.
    standardise : dict
        :func:`standardisation` of the whole scan.
    reference : str, optional
        The XP-EHH reference (None: XP-EHH stays NaN).

    Returns
    -------
    pandas.DataFrame
        Schema selection_scan rows with ``ihs``, ``nsl`` (and ``xpehh``) standardised.

    References
    ----------
    Voight et al. (2006); Sabeti et al. (2007).
    """
    from ..io.dataset import read_fragments
    res = read_fragments(unstd_dir, "selection_scan", unit["files"])
    aac = res["alt_count"].to_numpy()
    for score in SCORES:
        st = standardise[score]
        bins, mean, sd = np.asarray(st["bins"]), np.asarray(st["mean"], float), np.asarray(st["sd"], float)
        j = np.clip(np.searchsorted(bins, aac, side="right") - 1, 0, len(bins) - 2)
        res[score] = (res[f"{score}_unstd"].to_numpy(np.float64) - mean[j]) / sd[j]
    x = standardise["xpehh"]
    res["xpehh"] = (res["xpehh_unstd"].to_numpy(np.float64) - x["mean"]) / x["sd"] if reference is not None else np.nan
    return res


def _extreme(frames: dict) -> dict:
    """Per score: variants with a standardised value and those with |value| > 2 (the usual outliers)."""
    f = frames[""]
    out = {}
    for c in ("ihs", "nsl", "xpehh"):
        x = f[c].to_numpy(np.float64)
        out.update({f"{c}_scored": int(np.isfinite(x).sum()), f"{c}_abs_over_2": int((np.abs(x) > 2).sum())})
    return out


def _scan_distributed(units, kw, write_to, n_bins, reference, *, engine, spark, progress):
    """The two passes of :func:`run_selection_scan` with ``write_to`` (see the module docstring)."""
    from .. import storage
    from ..engine.runner import run_worklist
    unstd = storage.join(str(write_to), "_unstd")
    storage.remove(unstd)
    first = run_worklist(units, scan_kernel, "selection_scan", engine=engine, spark=spark, progress=progress,
                         kwargs=kw, write_to=unstd, stats=scan_stats)
    st = standardisation(first, n_bins)
    again = [{"unit_id": u, "chrom": u, "files": f, "cost": float(r)}
             for u, f, r in zip(first["unit_id"], first["files"], first["rows"])]
    index = run_worklist(again, standardize_kernel, "selection_scan", engine=engine, spark=spark, progress=progress,
                         kwargs={"unstd_dir": unstd, "standardise": st, "reference": reference}, write_to=str(write_to),
                         stats=_extreme)
    storage.remove(unstd)
    index.attrs["standardise"] = st
    return index
