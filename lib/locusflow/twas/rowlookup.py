"""Weight-row lookups of covariance rows for S-PrediXcan's string path (covariance entries given as
tissue, gene, rsid1, rsid2 strings; :mod:`locusflow.twas.covariance`): the weight row of each
(tissue-gene code, SNP code) pair, all rows at once."""
from __future__ import annotations

import numpy as np
import pandas as pd


class RowLookup:
    """Weight row of (tissue-gene code, SNP category) pairs; -1 when absent.

    Fast path: a SNP held by one weight row only is resolved by one gather per covariance row (its row,
    checked against the row's tissue-gene); SNPs in several models go through a sorted-key search.

    Parameters
    ----------
    tg, snp, rows : numpy.ndarray of int
        Tissue-gene code, SNP code and weight row of each weight row that can be looked up.
    n : int
        Number of weight rows (the lookup of an absent row).
    S : int
        Number of SNP codes.
    """

    def __init__(self, tg, snp, rows, n, S):
        self.tg_x = np.full(n + 1, -2, np.int32)
        self.tg_x[rows] = tg
        self.S = S                                         # number of SNP codes
        key = tg.astype(np.int64) * S + snp
        order = np.argsort(key, kind="stable")
        self.keys, self.krows = key[order], rows[order]
        cnt = np.bincount(snp, minlength=S)
        self.one = np.full(S, -1, np.int32)               # the row of a SNP held by one row
        single = cnt[snp] == 1
        self.one[snp[single]] = rows[single]
        self.multi = cnt > 1

    def find(self, cov_tg, s_cat, codes):
        """Weight row of each covariance row (-1: none).

        Parameters
        ----------
        cov_tg : numpy.ndarray of int
            Tissue-gene code of each covariance row (-1: none of the weights').
        s_cat : numpy.ndarray of int
            SNP code of each category of the covariance's rsid column (-1: not a weights SNP).
        codes : numpy.ndarray of int
            Category code of each covariance row's rsid.

        Returns
        -------
        numpy.ndarray of int
        """
        sc = np.append(s_cat, -1)
        one = np.append(np.where(sc[:-1] >= 0, self.one[np.clip(sc[:-1], 0, None)], -1), -1)
        multi = np.append(np.where(sc[:-1] >= 0, self.multi[np.clip(sc[:-1], 0, None)], False), False)
        i = one[codes]
        slow = np.flatnonzero(multi[codes]) if self.multi.any() else np.zeros(0, np.int64)
        i[self.tg_x[i] != cov_tg] = -1
        if len(slow):
            q = cov_tg[slow].astype(np.int64) * self.S + sc[codes[slow]]
            p = np.clip(np.searchsorted(self.keys, q), 0, len(self.keys) - 1)
            hit = (self.keys[p] == q) & (cov_tg[slow] >= 0)
            i[slow] = np.where(hit, self.krows[p], -1)
        return i


def unique_key_groups(w, key):
    """Row sets of ``w`` in which ``key`` (tissue, gene, rsid) is unique: one per method when a tissue-gene
    has several models, else all rows.

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows with ``method``.
    key : numpy.ndarray of int
        Integer (tissue-gene, SNP) key of each row.

    Returns
    -------
    list of numpy.ndarray
    """
    if not pd.Index(key).has_duplicates:
        return [np.arange(len(w))]
    return [np.flatnonzero((w["method"] == m).to_numpy()) for m in w["method"].unique()]
