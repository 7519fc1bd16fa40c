"""Credible sets and PIPs of a SuSiE fit, as susieR 0.12.35 ``susie_get_cs`` / ``susie_get_pip``.

Level-rho credible set of effect l: the fewest variables, by decreasing alpha_l, whose alphas sum to at
least rho (``n = #{cumsum(sort(alpha_l, decreasing)) < rho} + 1``). Effects with V_l <= 1e-9 are dropped,
then any set identical to an earlier effect's (susieR's ``dedup``; the earlier effect may itself have
been dropped), then sets whose purity, the minimum |r| over all pairs of its variables, is below
``min_abs_corr``; the rest are ordered by purity, highest first. A set holding the null column has
purity -9. susieR samples 100 variables of a larger set to estimate purity (``n_purity``); by default
we use every pair (``n_purity=None``), which only matters for sets of more than 100 variables.
PIP_j = 1 - prod_{l: V_l > prior_tol} (1 - alpha_lj), the null column excluded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCREEN = 64    # rows of a large set's correlation checked before all pairs


@dataclass
class CredibleSets:
    """Sets in susieR's order: ``cs`` (0-based variable indices, ascending), ``cs_index`` (0-based
    effect of each set; susieR names it L<cs_index+1>), ``coverage`` (sum of alpha in the set),
    ``purity`` rows (min, mean, median |r|)."""
    cs: list = field(default_factory=list)
    cs_index: list = field(default_factory=list)
    coverage: list = field(default_factory=list)
    purity: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    requested_coverage: float = 0.95

    def __len__(self):
        return len(self.cs)

    @property
    def names(self) -> list[str]:
        return [f"L{i + 1}" for i in self.cs_index]


TIE_TOL = 1e-12   # weights closer than this are ties, ordered by index


def descending(weights: np.ndarray, tol: float = TIE_TOL) -> np.ndarray:
    """Indices of ``weights`` by decreasing weight, ties (within ``tol``) by increasing index.

    Weights of duplicate SNPs (r = 1, equal z) can differ by rounding (~1e-17, from the order BLAS sums
    in); susieR's are bit-identical and R's ``order(decreasing = TRUE)`` keeps them in index order. A
    sorted run whose consecutive gaps are all <= ``tol`` is one tie group, put in index order, so such
    SNPs enter and leave credible sets in the same order in every run.

    Parameters
    ----------
    weights : numpy.ndarray, shape (p,)
        Posterior weights (alphas, conditional probabilities).
    tol : float
        Largest gap between consecutive sorted weights that counts as a tie.

    Returns
    -------
    numpy.ndarray of int64, shape (p,)
        The order.

    References
    ----------
    susieR 0.12.35 ``susie_get_cs`` (``order(alpha, decreasing = TRUE)``); FINEMAP's .cred files.
    """
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-w, kind="stable")
    ws = w[order]
    group = np.concatenate([[0], np.cumsum(ws[:-1] - ws[1:] > tol)]) if len(w) else np.zeros(0, np.int64)
    return order[np.lexsort((order, group))]


def n_in_cs(alpha_l: np.ndarray, coverage: float) -> int:
    """Size of one effect's level-``coverage`` credible set: ``#{cumsum(sort(alpha_l, decreasing)) < coverage} + 1``.

    Parameters
    ----------
    alpha_l : numpy.ndarray, shape (p,)
        Posterior inclusion weights (alpha) of one effect.
    coverage : float
        Requested coverage rho.

    Returns
    -------
    int
        The fewest variables, by decreasing alpha, whose alphas sum to at least ``coverage``.

    References
    ----------
    susieR 0.12.35 ``n_in_CS_x``.
    """
    return int(np.sum(np.cumsum(np.sort(alpha_l)[::-1]) < coverage)) + 1


def in_cs(alpha_l: np.ndarray, coverage: float) -> np.ndarray:
    """Variables of one effect's level-``coverage`` set, ascending (susieR ``in_CS_x``).

    Parameters
    ----------
    alpha_l, coverage
        As :func:`n_in_cs`.

    Returns
    -------
    numpy.ndarray of int64
        0-based indices of the first :func:`n_in_cs` variables in :func:`descending` order, sorted ascending.

    References
    ----------
    susieR 0.12.35 ``in_CS_x``.
    """
    return np.sort(descending(alpha_l)[: n_in_cs(alpha_l, coverage)])


def purity(corr: np.ndarray) -> tuple[float, float, float]:
    """(min, mean, median) |r| over the upper triangle of a set's correlation matrix.

    Parameters
    ----------
    corr : numpy.ndarray, shape (k, k)
        Correlations among the set's variables.

    Returns
    -------
    tuple of float
        (min, mean, median) of |r| over all pairs; (1, 1, 1) for a single variable.

    References
    ----------
    susieR 0.12.35 ``get_purity``.
    """
    if corr.shape[0] == 1:
        return 1.0, 1.0, 1.0
    v = np.abs(corr[np.triu_indices(corr.shape[0], 1)])
    return float(np.min(v)), float(np.sum(v) / v.size), float(np.median(v))


def credible_sets(alpha, V, corr_of, *, coverage: float = 0.95, min_abs_corr: float = 0.5,
                  null_index: int = -1, n_purity: int | None = None, seed: int = 0) -> CredibleSets:
    """susie_get_cs(res, Xcorr, coverage, min_abs_corr, dedup = TRUE).

    ``corr_of(rows, cols=None)`` -> Xcorr[rows, cols] (cols default rows). Sets larger than 64 variables
    are screened on their first 64 rows first: one |r| below ``min_abs_corr`` there already fails the
    set, so all pairs are computed only for sets that may be pure (same sets as computing them all).

    Parameters
    ----------
    alpha : numpy.ndarray, shape (L, p)
        Posterior inclusion weights of each effect.
    V : array_like, shape (L,)
        Prior variance of each effect; effects with V_l <= 1e-9 are dropped.
    corr_of : callable
        ``corr_of(rows, cols=None)`` returning the correlation block Xcorr[rows, cols].
    coverage : float
        Requested coverage of each set.
    min_abs_corr : float
        Sets whose purity (minimum |r|) is below this are dropped.
    null_index : int
        Column of the null variable (its set gets purity -9); -1 when there is none.
    n_purity : int or None
        Sample this many variables of a larger set to estimate purity (susieR uses 100); None uses all pairs.
    seed : int
        Seed of the sampling for ``n_purity``.

    Returns
    -------
    CredibleSets
        The pure, de-duplicated sets ordered by purity, highest first (empty when none qualify).

    References
    ----------
    susieR 0.12.35 ``susie_get_cs``; Wang et al. (2020) JRSSB 82:1273.
    """
    L = alpha.shape[0]
    sets = [in_cs(alpha[l], coverage) for l in range(L)]
    claimed = [float(alpha[l, s].sum()) for l, s in enumerate(sets)]
    include = np.asarray(V) > 1e-9
    seen: set = set()
    for l, s in enumerate(sets):                      # duplicated(cs) over all effects
        key = s.tobytes()
        if key in seen:
            include[l] = False
        seen.add(key)
    keep = np.flatnonzero(include)
    out = CredibleSets(requested_coverage=coverage)
    if keep.size == 0:
        return out
    rng = np.random.default_rng(seed)
    pur = np.empty((keep.size, 3))
    for i, l in enumerate(keep):
        s = sets[l]
        if null_index >= 0 and null_index in s:
            pur[i] = -9.0
            continue
        if n_purity is not None and s.size > n_purity:
            s = rng.choice(s, n_purity, replace=False)
        if s.size > SCREEN:   # a pair below the threshold among the first rows proves the set impure
            screen = float(np.min(np.abs(corr_of(s[:SCREEN], s))))
            if screen < min_abs_corr:
                pur[i] = (screen, np.nan, np.nan)
                continue
        pur[i] = purity(corr_of(s))
    with np.errstate(invalid="ignore"):
        pure = np.flatnonzero(pur[:, 0] >= min_abs_corr)
    if pure.size == 0:
        return out
    order = pure[np.argsort(-pur[pure, 0], kind="stable")]
    out.cs = [sets[keep[i]] for i in order]
    out.cs_index = [int(keep[i]) for i in order]
    out.coverage = [claimed[keep[i]] for i in order]
    out.purity = pur[order]
    return out


def pip_from_alpha(alpha, V, null_index: int = -1, prior_tol: float = 1e-9) -> np.ndarray:
    """susie_get_pip(prune_by_cs = FALSE).

    PIP_j = 1 - prod_{l: V_l > prior_tol} (1 - alpha_lj), the null column excluded.

    Parameters
    ----------
    alpha : numpy.ndarray, shape (L, p)
        Posterior inclusion weights of each effect.
    V : array_like, shape (L,)
        Prior variance of each effect.
    null_index : int
        Column of the null variable, removed before computing; -1 when there is none.
    prior_tol : float
        Only effects with V_l above this contribute.

    Returns
    -------
    numpy.ndarray, shape (p,)
        Posterior inclusion probabilities (all 0 when no effect passes ``prior_tol``).

    References
    ----------
    susieR 0.12.35 ``susie_get_pip``; Wang et al. (2020) JRSSB 82:1273.
    """
    a = np.delete(alpha, null_index, axis=1) if null_index >= 0 else alpha
    use = np.asarray(V) > prior_tol
    if not use.any():
        return np.zeros(a.shape[1])
    return 1.0 - np.prod(1.0 - a[use], axis=0)
