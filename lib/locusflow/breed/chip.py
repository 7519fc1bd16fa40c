"""SNP-chip design: greedy LD tagging with forced variants, MAF and spacing constraints.

Tagging (Carlson et al. 2004): a chip SNP t tags variant j when r^2(t, j) >= ``r2``. Within each LD
block the greedy step adds the candidate that tags the most variants not yet tagged; its marginal
gains are non-increasing, so merging the blocks' gain sequences in decreasing order is the global
greedy choice, cut at the target size. Forced variants (prioritised causal variants) are put on the
chip first and what they tag counts as tagged. Candidates must have MAF >= ``min_maf`` in every line
given and lie at least ``min_spacing`` bp from the chip SNPs already chosen in their block.

Quality: coverage = fraction of panel variants with r^2 >= 0.8 to some chip SNP (in their block);
imputation accuracy of the non-chip variants, leave-samples-out: a multi-output ridge regression of a
block's non-chip dosages on its chip dosages, fitted on the reference samples and applied to held-out
samples, scored by the squared correlation of imputed and true dosage (mean over variants).

The uniform design of the same size (:func:`uniform_design`) takes, in equal windows of variants, the
highest-MAF SNP: the baseline a designed chip must beat.

References
----------
Carlson C.S. et al. (2004) Selecting a maximally informative set of single-nucleotide polymorphisms
for association analyses using linkage disequilibrium. Am J Hum Genet 74:106-120.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError


def _standardise(dos: np.ndarray) -> np.ndarray:
    x = dos - dos.mean(0)
    sd = np.sqrt((x * x).mean(0))
    return np.divide(x, sd, out=np.zeros_like(x), where=sd > 0)


def _block_picks(r2_ok: np.ndarray, eligible: np.ndarray, forced: np.ndarray, pos: np.ndarray,
                 min_spacing: float) -> tuple[list, list, np.ndarray]:
    """Greedy picks of one block: (chosen indices, their gains, tagged mask after forced)."""
    tagged = r2_ok[forced].any(0) if forced.size else np.zeros(r2_ok.shape[0], bool)
    gain = r2_ok[:, ~tagged].sum(1).astype(np.int64)
    ok = eligible.copy()
    ok[forced] = False
    for f in forced:
        ok &= np.abs(pos - pos[f]) >= min_spacing
    picks, gains = [], []
    while True:     # one iteration per chip SNP chosen (greedy set cover is sequential)
        cand = np.where(ok & (gain > 0), gain, -1)
        j = int(np.argmax(cand))
        if cand[j] <= 0:
            break
        picks.append(j)
        gains.append(int(gain[j]))
        new = r2_ok[j] & ~tagged
        tagged |= new
        gain -= r2_ok[:, new].sum(1)
        ok[j] = False
        if min_spacing > 0:
            ok &= np.abs(pos - pos[j]) >= min_spacing
    return picks, gains, tagged


def design_chip(dosages, blocks, size: int, *, forced=None, lines=None, r2: float = 0.8,
                min_maf: float = 0.05, min_spacing: float = 0.0, pos=None) -> np.ndarray:
    """Choose chip SNPs by greedy LD tagging.

    Parameters
    ----------
    dosages : array-like
        [n samples, m variants] allele counts of the reference panel.
    blocks : array-like
        [m] LD block label per variant (tagging is counted within blocks).
    size : int
        Chip size (forced variants included).
    forced : array-like of int, optional
        Variant indices that must be on the chip.
    lines : array-like, optional
        [n] line/breed label per sample; MAF must reach ``min_maf`` in each line.
    r2 : float
        Tagging threshold.
    min_maf : float
    min_spacing : float
        Minimum bp distance between chip SNPs of a block (needs ``pos``).
    pos : array-like, optional
        [m] positions.

    Returns
    -------
    numpy.ndarray
        Sorted indices of the chip's variants: forced first, then the greedy picks; when every
        taggable variant is tagged before ``size`` is reached, eligible SNPs evenly spread fill it.

    References
    ----------
    Greedy r^2 tagging as in ldSelect (Carlson et al. 2004, Am J Hum Genet 74:106) and Tagger (de Bakker
    et al. 2005, Nat Genet 37:1217), within LD blocks, with per-line MAF filters as used in livestock
    chip design (e.g. Matukumalli et al. 2009, PLoS ONE 4:e5350).
    """
    d = np.asarray(dosages, dtype=np.float64)
    n, m = d.shape
    blocks = np.asarray(blocks)
    forced = np.unique(np.asarray([] if forced is None else forced, dtype=np.int64))
    if forced.size and (forced.min() < 0 or forced.max() >= m):
        raise InputError("chip.forced", f"variant indices in 0..{m - 1}", value=int(forced.max()))
    if forced.size > size:
        raise InputError("chip.size", f"at least the {forced.size} forced variants", value=size)
    pos = np.arange(m, dtype=np.float64) if pos is None else np.asarray(pos, dtype=np.float64)
    groups = np.zeros(n, int) if lines is None else pd.factorize(np.asarray(lines))[0]
    maf = np.stack([np.minimum(f, 1 - f) for f in
                    (d[groups == g].mean(0) / 2 for g in np.unique(groups))]).min(0)
    eligible = maf >= min_maf
    seq = []                                                   # (gain, block order, index)
    for b in pd.unique(blocks):      # loop over LD blocks
        idx = np.flatnonzero(blocks == b)
        x = _standardise(d[:, idx])
        r2_ok = (x.T @ x / n) ** 2 >= r2
        f_local = np.flatnonzero(np.isin(idx, forced))
        picks, gains, _ = _block_picks(r2_ok, eligible[idx], f_local, pos[idx], min_spacing)
        seq += [(g, len(seq), idx[p]) for p, g in zip(picks, gains)]
    seq.sort(key=lambda t: (-t[0], t[1]))
    chosen = np.concatenate([forced, np.asarray([i for _, _, i in seq[: max(size - forced.size, 0)]], np.int64)])
    if chosen.size < size:      # every taggable variant tagged: fill evenly with eligible SNPs
        rest = np.setdiff1d(np.flatnonzero(eligible), chosen)
        if min_spacing > 0 and rest.size:   # fillers keep the spacing from the chosen SNPs of their block
            far = np.ones(rest.size, bool)
            for b in pd.unique(blocks[chosen]):      # loop over blocks
                cp = np.sort(pos[chosen[blocks[chosen] == b]])
                inb = blocks[rest] == b
                k = np.searchsorted(cp, pos[rest[inb]])
                gap = np.minimum(np.abs(pos[rest[inb]] - cp[np.clip(k - 1, 0, cp.size - 1)]),
                                 np.abs(cp[np.clip(k, 0, cp.size - 1)] - pos[rest[inb]]))
                far[inb] = gap >= min_spacing
            rest = rest[far]
        if rest.size:
            take = rest[np.unique(np.linspace(0, rest.size - 1, min(size - chosen.size, rest.size)).astype(int))]
            chosen = np.concatenate([chosen, take])
    return np.sort(chosen)


def uniform_design(dosages, size: int, *, min_maf: float = 0.05) -> np.ndarray:
    """The baseline chip: ``size`` equal windows of variants, the highest-MAF SNP of each.

    Parameters
    ----------
    dosages : array-like
        [n, m] allele counts (variants in genome order).
    size : int
    min_maf : float
        Windows without a SNP at this MAF contribute none.

    Returns
    -------
    numpy.ndarray
        Sorted indices (``size`` of them when enough SNPs reach ``min_maf``).
    """
    d = np.asarray(dosages, dtype=np.float64)
    f = d.mean(0) / 2
    maf = np.minimum(f, 1 - f)
    edges = np.linspace(0, d.shape[1], size + 1).astype(int)
    win = np.repeat(np.arange(size), np.diff(edges))
    order = np.lexsort((-maf, win))
    first = order[np.r_[True, win[order][1:] != win[order][:-1]]]
    first = first[maf[first] >= min_maf]
    if first.size < size:       # windows without a common SNP: the most common SNPs left instead
        rest = np.setdiff1d(np.flatnonzero(maf >= min_maf), first)
        first = np.concatenate([first, rest[np.argsort(-maf[rest], kind="stable")][: size - first.size]])
    return np.sort(first)


def chip_quality(dosages, blocks, chip, *, test_fraction: float = 0.2, ridge: float = 1.0,
                 seed: int = 0) -> dict:
    """Coverage (r^2 >= 0.8 to a chip SNP) and leave-samples-out imputation accuracy of a chip.

    Parameters
    ----------
    dosages : array-like
        [n, m] reference panel allele counts.
    blocks : array-like
        [m] LD block labels.
    chip : array-like of int
        Chip variant indices.
    test_fraction : float
        Samples held out for imputation.
    ridge : float
        Ridge penalty of the imputer (on standardised chip dosages).
    seed : int

    Returns
    -------
    dict
        coverage, imputation_r2 (mean over non-chip variants), n_chip.
    """
    d = np.asarray(dosages, dtype=np.float64)
    n, m = d.shape
    blocks = np.asarray(blocks)
    on = np.zeros(m, bool)
    on[np.asarray(chip, dtype=np.int64)] = True
    test = np.random.default_rng(seed).permutation(n) < int(round(test_fraction * n))
    covered = on.copy()
    r2_sum, r2_n = 0.0, 0
    for b in pd.unique(blocks):      # loop over LD blocks
        idx = np.flatnonzero(blocks == b)
        c, o = idx[on[idx]], idx[~on[idx]]
        if not o.size:
            continue
        if not c.size:
            r2_n += o.size
            continue
        x = _standardise(d[:, idx])
        r = x.T @ x / n
        covered[idx] |= ((r[np.ix_(on[idx], np.ones(idx.size, bool))] ** 2) >= 0.8).any(0)
        tr = ~test
        cm, om = d[tr][:, c].mean(0), d[tr][:, o].mean(0)
        csd = d[tr][:, c].std(0)
        csd[csd == 0] = 1.0
        C = (d[tr][:, c] - cm) / csd
        B = np.linalg.solve(C.T @ C + ridge * np.eye(c.size), C.T @ (d[tr][:, o] - om))
        imp = ((d[test][:, c] - cm) / csd) @ B + om
        truth = d[test][:, o]
        tc, ic = truth - truth.mean(0), imp - imp.mean(0)
        den = np.sqrt((tc * tc).sum(0) * (ic * ic).sum(0))
        r2v = np.divide((tc * ic).sum(0), den, out=np.zeros(o.size), where=den > 0) ** 2
        r2_sum += float(r2v.sum())
        r2_n += o.size
    return {"coverage": float(covered.mean()), "imputation_r2": r2_sum / max(r2_n, 1), "n_chip": int(on.sum())}


def chip_manifest(variants: pd.DataFrame, chip, forced=None) -> pd.DataFrame:
    """A vendor-style manifest of the chip (Illumina-like columns).

    Parameters
    ----------
    variants : pandas.DataFrame
        variant_id, chrom, pos, ref, alt (and rsid when known) of the panel.
    chip : array-like of int
    forced : array-like of int, optional
        Marked ``forced`` in the ``Source`` column.

    Returns
    -------
    pandas.DataFrame
        Name, Chr, MapInfo, SNP ([ref/alt]), Source (forced | tagging), one row per chip SNP.
    """
    v = variants.iloc[np.asarray(chip, dtype=np.int64)]
    forced_set = set(np.asarray([] if forced is None else forced, dtype=np.int64).tolist())
    names = v["rsid"] if "rsid" in v else v["variant_id"]
    return pd.DataFrame({"Name": names.to_numpy(), "Chr": v["chrom"].to_numpy(), "MapInfo": v["pos"].to_numpy(),
                         "SNP": ("[" + v["ref"].astype(str) + "/" + v["alt"].astype(str) + "]").to_numpy(),
                         "Source": ["forced" if i in forced_set else "tagging" for i in np.asarray(chip)]})
