"""Fst between populations per variant and in windows: Hudson (Bhatia et al. 2013) and Weir-Cockerham.

Per population i and variant: n_i non-missing samples, p_i alt frequency, h_i observed heterozygosity.

Hudson (Bhatia, Patterson, Sankararaman & Price 2013, eq. 10), with allele counts m_i = 2 n_i::

    num = (p1 - p2)^2 - p1 (1 - p1) / (m1 - 1) - p2 (1 - p2) / (m2 - 1)
    den = p1 (1 - p2) + p2 (1 - p1)

Weir & Cockerham (1984, eqs. 2-4) for r populations::

    nbar = sum n_i / r,  nc = (r nbar - sum n_i^2 / (r nbar)) / (r - 1),  pbar = sum n_i p_i / (r nbar)
    s2 = sum n_i (p_i - pbar)^2 / ((r - 1) nbar),  hbar = sum n_i h_i / (r nbar)
    a = nbar / nc * (s2 - (pbar (1 - pbar) - (r - 1) s2 / r - hbar / 4) / (nbar - 1))
    b = nbar / (nbar - 1) * (pbar (1 - pbar) - (r - 1) s2 / r - (2 nbar - 1) hbar / (4 nbar))
    c = hbar / 2;   num = a, den = a + b + c

Per-variant Fst = num / den; over a window or the genome, the ratio of sums (sum num / sum den), as
plink2 reports its genome-wide value.

Distributed (the popgen stage, ``write_to``): each task writes its chunk's rows as its own fragment and
returns the chunk's per-pair sums of the numerators and denominators (:func:`fst_stats`), so the
genome-wide Fst is a sum over the fragment index (:func:`genome_fst_from_index`), not over rows held by
the driver. Windows are a second pass (:func:`run_window_fst`): one task per chromosome reads that
chromosome's fragments (:func:`locusflow.io.dataset.read_fragments`) in work-list order, restores the
kernel's pair-major order and writes the chromosome's windows, so they equal :func:`window_fst` of the
whole per-variant table.

References
----------
Bhatia G et al. (2013) Genome Res 23:1514. Weir BS & Cockerham CC (1984) Evolution 38:1358.
Peer: plink2 ``--fst <pheno> method=hudson|wc report-variants``.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..schema import load as load_schema


def population_counts(dosage: np.ndarray, pop: np.ndarray, n_pops: int) -> dict:
    """Per-population sample, alt-allele and heterozygote counts: three GEMMs with a one-hot matrix.

    Parameters
    ----------
    dosage : ndarray of float, shape (v, n)
        Alt dosages (0-2) of v variants by n samples, NaN = missing.
    pop : ndarray of int, shape (n,)
        Population index 0..n_pops-1 of each sample, -1 = in no population.
    n_pops : int
        Number of populations.

    Returns
    -------
    dict of str to ndarray of float64, shape (v, n_pops)
        ``n`` (samples called), ``alt`` (alt allele count, the sum of dosages) and ``het`` (calls with
        dosage exactly 1).

    References
    ----------
    Peer: plink2 ``--freq`` counts per population.
    """
    onehot = (np.asarray(pop)[:, None] == np.arange(n_pops)[None, :]).astype(np.float64)
    obs = ~np.isnan(dosage)
    g0 = np.where(obs, dosage, 0.0)
    return {"n": obs.astype(np.float64) @ onehot, "alt": g0 @ onehot, "het": (g0 == 1.0) @ onehot}


def population_frequencies(dosage: np.ndarray, pop: np.ndarray, names) -> pd.DataFrame:
    """Alt frequency, allele observations and observed heterozygosity per population (plink2 --freq).

    Parameters
    ----------
    dosage : ndarray of float, shape (v, n)
        Alt dosages (0-2) of v variants by n samples, NaN = missing.
    pop : ndarray of int, shape (n,)
        Population index of each sample into ``names`` (-1 = none).
    names : sequence of str
        Population names.

    Returns
    -------
    pandas.DataFrame
        Population-major, one row per (population, variant): population, row (0..v-1), alt_freq
        (alt / (2 n)), obs_ct (2 n), het_obs (het / n); NaN frequencies where no sample is called.

    References
    ----------
    Peer: plink2 ``--freq`` on each population's samples.
    """
    c = population_counts(dosage, pop, len(names))
    v, r = c["n"].shape
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({"population": np.repeat(np.asarray(names, dtype=object), v),
                             "row": np.tile(np.arange(v), r), "alt_freq": (c["alt"] / (2 * c["n"])).T.ravel(),
                             "obs_ct": (2 * c["n"]).T.ravel().astype(np.int64),
                             "het_obs": (c["het"] / c["n"]).T.ravel()})


def hudson(n1, p1, n2, p2) -> tuple[np.ndarray, np.ndarray]:
    """Hudson Fst numerator and denominator (Bhatia et al. 2013) from samples n and alt frequencies p.

    Parameters
    ----------
    n1, n2 : array-like of float
        Samples called in each population (allele counts are 2 n).
    p1, p2 : array-like of float
        Alt frequencies in each population (same shape as ``n1``, ``n2``).

    Returns
    -------
    num, den : ndarray of float
        (p1 - p2)^2 - p1 (1 - p1) / (2 n1 - 1) - p2 (1 - p2) / (2 n2 - 1) and p1 (1 - p2) + p2 (1 - p1);
        Fst = num / den per variant, sum num / sum den over loci.

    References
    ----------
    Bhatia et al. (2013) Genome Res 23:1514, eq. 10. Peer: plink2 ``--fst method=hudson``.
    """
    m1, m2 = 2.0 * n1, 2.0 * n2
    with np.errstate(invalid="ignore", divide="ignore"):
        num = (p1 - p2) ** 2 - p1 * (1 - p1) / (m1 - 1) - p2 * (1 - p2) / (m2 - 1)
    den = p1 * (1 - p2) + p2 * (1 - p1)
    return num, den


def weir_cockerham(n: np.ndarray, p: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weir-Cockerham numerator a and denominator a + b + c over r populations (last axis).

    Parameters
    ----------
    n, p, h : ndarray of float, shape (..., r)
        Samples called, alt frequency and observed heterozygosity per population (last axis).

    Returns
    -------
    a, abc : ndarray of float, shape (...)
        The numerator a and denominator a + b + c (module docstring, eqs. 2-4) over the leading axes.

    References
    ----------
    Weir & Cockerham (1984) Evolution 38:1358. Peer: plink2 ``--fst method=wc``.
    """
    r = n.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        nbar = n.sum(-1) / r
        nc = (r * nbar - (n ** 2).sum(-1) / (r * nbar)) / (r - 1)
        pbar = (n * p).sum(-1) / (r * nbar)
        s2 = (n * (p - pbar[..., None]) ** 2).sum(-1) / ((r - 1) * nbar)
        hbar = (n * h).sum(-1) / (r * nbar)
        pq = pbar * (1 - pbar)
        a = nbar / nc * (s2 - (pq - (r - 1) / r * s2 - hbar / 4) / (nbar - 1))
        b = nbar / (nbar - 1) * (pq - (r - 1) / r * s2 - (2 * nbar - 1) / (4 * nbar) * hbar)
    return a, a + b + hbar / 2


def fst_pairs(dosage: np.ndarray, pop: np.ndarray, names) -> pd.DataFrame:
    """Hudson and Weir-Cockerham Fst of every population pair for a chunk of variants.

    Parameters
    ----------
    dosage, pop : numpy.ndarray
        As :func:`population_frequencies`.
    names : sequence of str
        Population names; pairs are (names[i], names[j]) with i < j.

    Returns
    -------
    pandas.DataFrame
        One row per (pair, variant) in pair-major order: pop1, pop2, row (0..v-1), n1, n2, alt_freq1,
        alt_freq2, hudson_num, hudson_den, hudson_fst, wc_num, wc_den, wc_fst.

    References
    ----------
    Bhatia et al. (2013); Weir & Cockerham (1984). Peer: plink2 ``--fst report-variants``.
    """
    c = population_counts(dosage, pop, len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = c["alt"] / (2 * c["n"])
        h = c["het"] / c["n"]
    i1, i2 = np.triu_indices(len(names), 1)
    v = dosage.shape[0]
    hn, hd = hudson(c["n"][:, i1], f[:, i1], c["n"][:, i2], f[:, i2])       # (v, pairs)
    stack = lambda a, b: np.stack([a, b], -1)  # noqa: E731
    wn, wd = weir_cockerham(stack(c["n"][:, i1], c["n"][:, i2]), stack(f[:, i1], f[:, i2]),
                            stack(h[:, i1], h[:, i2]))
    names = np.asarray(names, dtype=object)
    flat = lambda a: a.T.ravel()  # noqa: E731  (v, pairs) -> pair-major
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "pop1": np.repeat(names[i1], v), "pop2": np.repeat(names[i2], v), "row": np.tile(np.arange(v), len(i1)),
            "n1": flat(c["n"][:, i1]), "n2": flat(c["n"][:, i2]), "alt_freq1": flat(f[:, i1]),
            "alt_freq2": flat(f[:, i2]), "hudson_num": flat(hn), "hudson_den": flat(hd),
            "hudson_fst": flat(hn / hd), "wc_num": flat(wn), "wc_den": flat(wd), "wc_fst": flat(wn / wd)})


def window_fst(per_variant: pd.DataFrame, size: int, step: int | None = None) -> pd.DataFrame:
    """Ratio-of-sums Fst in windows of ``size`` bp (every ``step`` bp; default non-overlapping).

    Parameters
    ----------
    per_variant : pandas.DataFrame
        Rows of :func:`fst_pairs` with chrom and pos (schema ``fst_variants``); rows whose Hudson
        denominator is not finite and positive are left out.
    size : int
        Window length in bp.
    step : int, optional
        Stride in bp (default ``size``); windows are [1 + k step, 1 + k step + size).

    Returns
    -------
    pandas.DataFrame
        Schema ``fst_windows``: pop1, pop2, chrom, start, stop (exclusive), n_variants, hudson_fst,
        wc_fst (sum num / sum den over the window's variants); windows without variants are absent.

    References
    ----------
    Bhatia et al. (2013): ratio of averages over loci.
    """
    step = int(step or size)
    d = per_variant[np.isfinite(per_variant["hudson_den"]) & (per_variant["hudson_den"] > 0)]
    pos = d["pos"].to_numpy()
    first = np.maximum(0, (pos - 1 - size) // step + 1)            # windows [1 + k step, 1 + k step + size)
    last = (pos - 1) // step
    reps = (last - first + 1).astype(np.int64)
    idx = np.repeat(np.arange(len(d)), reps)
    k = np.repeat(first, reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
    w = pd.DataFrame({"pop1": d["pop1"].to_numpy()[idx], "pop2": d["pop2"].to_numpy()[idx],
                      "chrom": d["chrom"].to_numpy()[idx], "k": k, "one": 1,
                      "hn": d["hudson_num"].to_numpy()[idx], "hd": d["hudson_den"].to_numpy()[idx],
                      "wn": d["wc_num"].to_numpy()[idx], "wd": d["wc_den"].to_numpy()[idx]})
    s = w.groupby(["pop1", "pop2", "chrom", "k"], sort=False).sum().reset_index()
    return pd.DataFrame({"pop1": s["pop1"], "pop2": s["pop2"], "chrom": s["chrom"],
                         "start": 1 + s["k"] * step, "stop": 1 + s["k"] * step + size,
                         "n_variants": s["one"], "hudson_fst": s["hn"] / s["hd"], "wc_fst": s["wn"] / s["wd"]})


def fst_kernel(unit: dict, store: str, pop, names, what: str = "fst") -> pd.DataFrame:
    """Work unit: rows ``unit['start']:unit['stop']`` of the store; ``pop`` indexes store samples into ``names``.
    ``what``: "fst" (`fst_pairs`, schema fst_variants) or "freq" (`population_frequencies`, pop_allele_freq).

    Parameters
    ----------
    unit : dict
        Work unit with ``start``, ``stop`` (variant rows of the store, stop exclusive).
    store : str
        Genotype store path.
    pop : array-like of int, shape (n,)
        Population index per store sample into ``names`` (-1 = none).
    names : sequence of str
        Population names.
    what : {"fst", "freq"}
        Per-variant Fst of every pair, or allele frequencies per population.

    Returns
    -------
    pandas.DataFrame
        Schema fst_variants or pop_allele_freq rows, with variant_id, chrom and pos of each variant.

    References
    ----------
    Peer: plink2 ``--fst`` / ``--freq``.
    """
    from ..io.genotypes import GenotypeStore

    g = GenotypeStore(store)
    d = g.dosages(unit["start"], unit["stop"])
    v = g.variant_rows(unit["start"], unit["stop"])
    out = (fst_pairs if what == "fst" else population_frequencies)(d, np.asarray(pop), names)
    rows = out.pop("row").to_numpy()
    for col in ("pos", "chrom", "variant_id"):
        out.insert(2, col, v[col].to_numpy()[rows])
    return out


def genome_fst(per_variant: pd.DataFrame) -> pd.DataFrame:
    """Genome-wide (ratio of sums) Hudson and Weir-Cockerham Fst per population pair.

    Parameters
    ----------
    per_variant : pandas.DataFrame
        Rows of schema fst_variants (non-finite numerators and denominators count as 0).

    Returns
    -------
    pandas.DataFrame
        One row per pair: pop1, pop2, hudson_fst, wc_fst (sum num / sum den over all variants).

    References
    ----------
    Bhatia et al. (2013). Peer: plink2 ``.fst.summary``.
    """
    ok = lambda a: np.where(np.isfinite(a), a, 0.0)  # noqa: E731
    d = per_variant.assign(hn=ok(per_variant["hudson_num"]), hd=ok(per_variant["hudson_den"]),
                           wn=ok(per_variant["wc_num"]), wd=ok(per_variant["wc_den"]))
    s = d.groupby(["pop1", "pop2"], sort=False)[["hn", "hd", "wn", "wd"]].sum().reset_index()
    return pd.DataFrame({"pop1": s["pop1"], "pop2": s["pop2"], "hudson_fst": s["hn"] / s["hd"],
                         "wc_fst": s["wn"] / s["wd"]})


def _populations(g, populations, pops):
    """(population index per store sample into ``names`` (-1: none), names)."""
    lab = pd.Series(populations).reindex(g.samples)
    names = list(pops) if pops is not None else sorted(lab.dropna().unique())
    return lab.map({p: i for i, p in enumerate(names)}).fillna(-1).astype(int).to_numpy(), names


def run_fst(store, populations: pd.Series, *, pops=None, engine: str = "local", spark=None,
            chunk: int | None = None, progress: bool = False, what: str = "fst", write_to=None) -> pd.DataFrame:
    """Per-variant Fst of every pair of populations over a genotype store (schema ``fst_variants``), or
    with ``what="freq"`` allele frequencies per population (schema ``pop_allele_freq``).

    Parameters
    ----------
    store : str or Path
        Genotype store path.
    populations : pandas.Series
        Population label per sample id (index); store samples without one are ignored.
    pops : sequence of str, optional
        Populations to compare, in this order (default: every label present, sorted).
    engine : {"local", "dask", "spark"}
        Work-list runner (:func:`locusflow.engine.runner.run_worklist`).
    spark : SparkSession, optional
        The session used when ``engine`` is ``"spark"``.
    chunk : int, optional
        Variants per work unit (default: the store's Zarr chunk).
    progress : bool
        A progress bar for the local loop.
    what : {"fst", "freq"}
        Per-variant Fst (``fst_variants``) or per-population allele frequencies (``pop_allele_freq``).
    write_to : str or Path, optional
        Dataset directory each task writes its chunk's rows into (the caller commits it:
        :func:`locusflow.io.dataset.finish_fragments`); the fragment index is returned instead of the rows,
        with :func:`fst_stats` of each chunk and ``attrs["names"]`` (the populations compared).

    Returns
    -------
    pandas.DataFrame
        Schema ``fst_variants`` (pair-major within each chunk), or ``pop_allele_freq`` with
        ``what="freq"`` (population-major within each chunk); with ``write_to``, the fragment index.

    References
    ----------
    Peer: plink2 ``--fst`` (method=hudson, method=wc).
    """
    from ..engine.runner import run_worklist
    from ..io.genotypes import GenotypeStore

    g = GenotypeStore(store)
    pop, names = _populations(g, populations, pops)
    args = dict(engine=engine, spark=spark, progress=progress,
                kwargs={"store": str(g.path), "pop": pop, "names": names, "what": what})
    schema = "fst_variants" if what == "fst" else "pop_allele_freq"
    if write_to is None:        # the in-memory API: the caller asked for the rows
        return run_worklist(g.variant_chunks(chunk), fst_kernel, schema, **args)
    index = run_worklist(g.variant_chunks(chunk), fst_kernel, schema, write_to=str(write_to),
                         stats=functools.partial(fst_stats, names=names) if what == "fst" else None, **args)
    index.attrs["names"] = names
    return index


SUMS = ("hudson_num", "hudson_den", "wc_num", "wc_den")


def _pairs(names) -> list:
    i1, i2 = np.triu_indices(len(names), 1)
    return [(names[a], names[b]) for a, b in zip(i1, i2)]


def fst_stats(frames: dict, names) -> dict:
    """One chunk's contribution to the genome-wide Fst, computed in the task that wrote the chunk.

    Parameters
    ----------
    frames : dict
        ``{"": rows of schema fst_variants}`` (the runner's ``stats`` argument).
    names : sequence of str
        The populations compared (pairs numbered as :func:`fst_pairs` orders them).

    Returns
    -------
    dict
        ``variants`` (distinct variant ids of the chunk) and ``<column>.<pair number>``: the sum of each
        of hudson_num, hudson_den, wc_num, wc_den over the chunk (non-finite values count as 0).

    References
    ----------
    Bhatia et al. (2013): ratio of sums.
    """
    f = frames[""]
    number = {p: k for k, p in enumerate(_pairs(names))}
    out = {"variants": int(f["variant_id"].nunique())}
    if not len(f):
        return out
    ok = {c: np.where(np.isfinite(f[c].to_numpy(float)), f[c].to_numpy(float), 0.0) for c in SUMS}
    d = pd.DataFrame({"pop1": f["pop1"].to_numpy(), "pop2": f["pop2"].to_numpy(), **ok})
    for (a, b), r in d.groupby(["pop1", "pop2"], sort=False)[list(SUMS)].sum().iterrows():   # one row per pair
        out.update({f"{c}.{number[(a, b)]}": float(r[c]) for c in SUMS})
    return out


def genome_fst_from_index(index: pd.DataFrame, names) -> pd.DataFrame:
    """:func:`genome_fst` from the fragment index of :func:`run_fst` (``write_to``): per-chunk sums added up.

    Parameters
    ----------
    index : pandas.DataFrame
        Fragment index with the ``stat_*`` columns of :func:`fst_stats`.
    names : sequence of str
        The populations compared.

    Returns
    -------
    pandas.DataFrame
        One row per pair (pair order of :func:`fst_pairs`): pop1, pop2, hudson_fst, wc_fst.

    References
    ----------
    Bhatia et al. (2013). Peer: plink2 ``.fst.summary``.
    """
    def total(col):
        return float(index[col].fillna(0).sum()) if col in index.columns else 0.0
    rows = []
    for k, (a, b) in enumerate(_pairs(names)):
        s = {c: total(f"stat_{c}.{k}") for c in SUMS}
        if not any(f"stat_{c}.{k}" in index.columns for c in SUMS):
            continue            # a pair without rows (no variant in the store) has no genome-wide value
        with np.errstate(invalid="ignore", divide="ignore"):
            rows.append({"pop1": a, "pop2": b, "hudson_fst": np.float64(s["hudson_num"]) / s["hudson_den"],
                         "wc_fst": np.float64(s["wc_num"]) / s["wc_den"]})
    return pd.DataFrame(rows, columns=["pop1", "pop2", "hudson_fst", "wc_fst"])


def window_kernel(unit: dict, fst_dir: str, size: int, step: int | None, names) -> pd.DataFrame:
    """Work unit of the windows pass: one chromosome's per-variant fragments to its Fst windows.

    Parameters
    ----------
    unit : dict
        ``chrom`` and ``files``: the chromosome's fragment files of ``fst_dir``, in work-list order.
    fst_dir : str
        The fst_variants dataset the first pass wrote (committed or not).
    size, step : int
        As :func:`window_fst`.
    names : sequence of str
        The populations compared (the kernel's pair order).

    Returns
    -------
    pandas.DataFrame
        Schema ``fst_windows`` rows of the chromosome, equal to :func:`window_fst` of the whole table's rows
        of that chromosome.

    References
    ----------
    Bhatia et al. (2013): ratio of averages over loci.
    """
    from ..io.dataset import read_fragments
    rank = {p: k for k, p in enumerate(_pairs(names))}
    parts = []
    for f in unit["files"]:       # each fragment back to the kernel's pair-major order (stable: by position within)
        d = read_fragments(fst_dir, "fst_variants", [f])
        k = np.array([rank[p] for p in zip(d["pop1"], d["pop2"])], dtype=np.int64)
        parts.append(d.iloc[np.argsort(k, kind="stable")])
    per = pd.concat(parts, ignore_index=True) if parts else load_schema("fst_variants").empty()
    return window_fst(per, size, step)


def run_window_fst(fst_dir, index: pd.DataFrame, size: int, step: int | None = None, *, names, write_to,
                   engine: str = "local", spark=None, progress: bool = False) -> pd.DataFrame:
    """Windowed Fst as a second distributed pass over the fragments :func:`run_fst` wrote (one task per
    chromosome writes that chromosome's windows).

    Parameters
    ----------
    fst_dir : str or Path
        The fst_variants dataset of the first pass.
    index : pandas.DataFrame
        Its fragment index (``files`` per unit, in work-list order).
    size, step : int
        As :func:`window_fst`.
    names : sequence of str
        The populations compared.
    write_to : str or Path
        The fst_windows dataset directory (the caller commits it).
    engine, spark, progress
        As :func:`locusflow.engine.runner.run_worklist`.

    Returns
    -------
    pandas.DataFrame
        The fragment index of the windows (one row per chromosome).

    References
    ----------
    Bhatia et al. (2013): ratio of averages over loci.
    """
    from ..engine.runner import run_worklist
    files, rows = {}, {}
    for fs, n in zip(index["files"], index["rows"]):
        for f in fs:
            chrom = f.split("/", 1)[0].split("=", 1)[1]
            files.setdefault(chrom, []).append(f)
            rows[chrom] = rows.get(chrom, 0) + n / max(1, len(fs))
    units = [{"unit_id": f"windows-{c}", "chrom": c, "files": fl, "cost": float(rows[c])} for c, fl in files.items()]
    return run_worklist(units, window_kernel, "fst_windows", engine=engine, spark=spark, progress=progress,
                        write_to=str(write_to),
                        kwargs={"fst_dir": str(fst_dir), "size": int(size), "step": step, "names": list(names)})
