"""Tomtom-style comparison of query motifs with a motif database (pure numpy).

Each query (a probability matrix, width m) is aligned with each target (width n) at every offset with at
least ``min_overlap`` aligned columns, on both strands (the query's reverse complement for ``-``). The
score of an alignment is the sum over its aligned columns of the Pearson correlation of the two columns'
A, C, G, T probabilities (Tomtom's ``-dist pearson`` with ``-incomplete-scores``: unaligned columns add
nothing).

P-values follow Tomtom: the null of one query column's score is the empirical distribution of its
correlations with every column of every target in the database (so, columns drawn independently: a null of
shuffled database columns). A sum over aligned columns ``a..b`` is then the convolution of those columns'
distributions (scores discretised to 1/``bins`` of a correlation unit), which gives the p-value of each
offset exactly under the null. The best offset (smallest p) is corrected for the number of alignments tried,
``p = 1 - (1 - p_min) ** n_alignments`` (both strands), the E-value is ``p x number of targets`` and q-values
are Benjamini-Hochberg over the targets of each query (as Tomtom reports them).

Offsets: at offset ``o`` query column ``i`` (of the query, or of its reverse complement when ``strand`` is
``-``) faces target column ``i + o``; a motif compared with itself has offset 0 and strand ``+``.

References
----------
Gupta S, Stamatoyannopoulos JA, Bailey TL, Noble WS (2007) Quantifying similarity between motifs. Genome
Biology 8:R24 (Tomtom).
Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate. J R Stat Soc B 57:289.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MATCH_COLUMNS = ["query_id", "target_id", "target_name", "strand", "offset", "overlap", "score", "mean_pcc",
                 "p_value", "e_value", "q_value", "rank"]


def reverse_complement_pwm(pwm: np.ndarray) -> np.ndarray:
    """Reverse complement of a (width, 4) A C G T matrix.

    Parameters
    ----------
    pwm : numpy.ndarray, (w, 4)

    Returns
    -------
    numpy.ndarray, (w, 4)
        Rows reversed, columns A<->T and C<->G swapped.
    """
    return np.asarray(pwm)[::-1, ::-1].copy()


def column_pcc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` with every column of ``b`` (0 where one is flat).

    Parameters
    ----------
    a : numpy.ndarray, (m, 4)
    b : numpy.ndarray, (n, 4)

    Returns
    -------
    numpy.ndarray, (m, n)
    """
    ac = a - a.mean(1, keepdims=True)
    bc = b - b.mean(1, keepdims=True)
    den = np.linalg.norm(ac, axis=1)[:, None] * np.linalg.norm(bc, axis=1)[None, :]
    num = ac @ bc.T
    return np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 0.0)


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (step-up, monotone).

    Parameters
    ----------
    p : array-like of float

    Returns
    -------
    numpy.ndarray
        Same order as ``p``.

    References
    ----------
    Benjamini Y, Hochberg Y (1995) J R Stat Soc B 57:289.
    """
    from scipy.stats import false_discovery_control
    p = np.asarray(p, dtype=float)
    return false_discovery_control(p, method="bh") if len(p) else p


class _ColumnNull:
    """Survival functions of sums of the query's column scores over column ranges a..b (cached)."""

    def __init__(self, null_scores: np.ndarray, bins: int):
        # null_scores: (m, N) integer-discretised scores of each query column against the database columns
        self.bins = bins
        self.pmf1 = [np.bincount(s + bins, minlength=2 * bins + 1) / len(s) for s in null_scores]
        self.cache: dict = {}

    def pmf(self, a: int, b: int) -> np.ndarray:
        if (a, b) in self.cache:
            return self.cache[(a, b)]
        if a == b:
            out = self.pmf1[a]
        elif (a + 1, b) in self.cache:
            out = np.convolve(self.cache[(a + 1, b)], self.pmf1[a])
        else:
            out = np.convolve(self.pmf(a, b - 1), self.pmf1[b])
        self.cache[(a, b)] = out
        return out

    def sf(self, a: int, b: int, score: int) -> float:
        """P(sum of columns a..b >= score) under the null (score in bin units)."""
        key = ("sf", a, b)
        if key not in self.cache:
            p = self.pmf(a, b)
            self.cache[key] = np.cumsum(p[::-1])[::-1]          # sf[k] = P(S >= k - (b-a+1)*bins)
        sf = self.cache[key]
        k = int(score) + (b - a + 1) * self.bins
        return float(sf[min(max(k, 0), len(sf) - 1)]) if k < len(sf) else 0.0


def _alignments(c: np.ndarray, min_overlap: int):
    """Diagonal sums of a column-score matrix (m, n): offsets, overlaps, first/last query column, sums."""
    m, n = c.shape
    i, j = np.indices((m, n))
    d = (j - i).ravel() + (m - 1)                                  # offset o = j - i, shifted to >= 0
    sums = np.bincount(d, weights=c.ravel(), minlength=m + n - 1)
    off = np.arange(-(m - 1), n)
    first = np.maximum(0, -off)
    last = np.minimum(m, n - off) - 1
    overlap = last - first + 1
    keep = overlap >= min(min_overlap, m, n)
    return off[keep], overlap[keep], first[keep], last[keep], sums[keep]


def compare_motifs(queries, database, *, min_overlap: int = 5, bins: int = 100) -> pd.DataFrame:
    """Tomtom-style comparison of every query with every database motif (module docstring).

    Parameters
    ----------
    queries : list of Motif
        Query motifs (``id`` and ``pwm``; :class:`locusflow.dnalm.motif_db.Motif`).
    database : list of Motif
        Target motifs; their columns (both strands) are also the null of column scores.
    min_overlap : int
        Fewest aligned columns of an alignment (capped at the narrower motif's width).
    bins : int
        Discretisation of a column correlation (1/``bins``) for the exact null of sums.

    Returns
    -------
    pandas.DataFrame
        One row per query and target (:data:`MATCH_COLUMNS`): best ``strand`` and ``offset``, ``overlap``,
        ``score`` (sum of column correlations), ``mean_pcc``, ``p_value``, ``e_value``, ``q_value`` (BH over
        the query's targets), ``rank`` (1 = best p of the query), sorted by query then rank.

    References
    ----------
    Gupta S, Stamatoyannopoulos JA, Bailey TL, Noble WS (2007) Genome Biology 8:R24.
    """
    if not database:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    cols = np.concatenate([m.pwm for m in database])
    rows = []
    for q in queries:
        per = []
        for strand, qp in (("+", q.pwm), ("-", reverse_complement_pwm(q.pwm))):
            null = _ColumnNull(np.rint(column_pcc(qp, cols) * bins).astype(np.int64), bins)
            for t in database:
                c = np.rint(column_pcc(qp, t.pwm) * bins).astype(np.int64).astype(float)
                off, ov, a, b, s = _alignments(c, min_overlap)
                p = np.array([null.sf(ai, bi, si) for ai, bi, si in zip(a, b, s)])
                per.append((t, strand, off, ov, s, p))
        out = []
        for t in database:
            cand = [x for x in per if x[0] is t]
            n_align = sum(len(x[2]) for x in cand)
            best = None
            for _, strand, off, ov, s, p in cand:
                if len(p) == 0:
                    continue
                k = np.lexsort((-s, p))[0]                         # smallest p, then largest score
                if best is None or (p[k], -s[k]) < (best[4], -best[3]):
                    best = (strand, int(off[k]), int(ov[k]), float(s[k]) / bins, float(p[k]))
            if best is None:
                continue
            p_min = best[4]
            p_corr = float(-np.expm1(n_align * np.log1p(-min(p_min, 1 - 1e-16)))) if p_min > 0 else 0.0
            out.append({"query_id": q.id, "target_id": t.id, "target_name": t.name, "strand": best[0],
                        "offset": best[1], "overlap": best[2], "score": best[3], "mean_pcc": best[3] / best[2],
                        "p_value": p_corr, "offset_p": p_min})
        if out:
            df = pd.DataFrame(out)
            df["p_value"] = np.maximum(df["p_value"], df["offset_p"])
            df["e_value"] = df["p_value"] * len(database)
            df["q_value"] = bh_qvalues(df["p_value"].to_numpy())
            df = df.sort_values(["p_value", "score"], ascending=[True, False], kind="stable")
            df["rank"] = np.arange(1, len(df) + 1)
            rows.append(df.drop(columns="offset_p"))
    if not rows:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    return pd.concat(rows, ignore_index=True)[MATCH_COLUMNS]
