"""k-mer logistic regression: the baseline that a fine-tuned DNA language model has to beat.

Features: counts of every k-mer (``k`` in ``ks``, default 4, 5, 6: 4^4 + 4^5 + 4^6 = 5,376 features) in a
window plus its reverse complement (strand-symmetric; k-mers holding N are not counted), as
``log(1 + count)`` standardised with the training mean and SD. Classification: multinomial logistic
regression (binary: the two-class case, reported as the logit of class 1), L2 penalty ``lam * |W|^2 / 2``
on the mean log-loss, fitted by L-BFGS; regression: ridge. ``lam`` is chosen on the validation split from
a grid (validation log-loss or squared error), then refitted on the training split.

References
----------
Ghandi M et al. (2014) Enhanced regulatory sequence prediction using gapped k-mer features. PLoS Comput
Biol 10:e1003711 (k-mer models of regulatory sequence).
Zhou Z et al. (2024) DNABERT-2. ICLR (GUE benchmark; k-mer baselines of promoter prediction).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from .windows import N_TOKEN, reverse_complement

LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def kmer_counts(tokens: np.ndarray, ks=(4, 5, 6)) -> np.ndarray:
    """Counts of each k-mer on both strands of each window.

    Parameters
    ----------
    tokens : ndarray of int, (n, L)
        Token windows (A C G T N = 0..4).
    ks : sequence of int
        k-mer lengths.

    Returns
    -------
    ndarray of float32, (n, sum_k 4^k)
        Column ``offset_k + code`` with ``code = sum_j base_j 4^(k-1-j)``, ks in the order given.
    """
    tokens = np.asarray(tokens)
    n, length = tokens.shape
    blocks = []
    for k in ks:
        c = np.zeros((n, 4 ** k), np.float32)
        for t in (tokens, reverse_complement(tokens)):
            m = length - k + 1
            code = np.zeros((n, m), np.int64)
            ok = np.ones((n, m), bool)
            for j in range(k):
                b = t[:, j:j + m]
                ok &= b < N_TOKEN
                code = code * 4 + np.minimum(b, 3)
            rows = np.broadcast_to(np.arange(n)[:, None], (n, m))
            c += np.bincount(rows[ok] * 4 ** k + code[ok], minlength=n * 4 ** k).reshape(n, 4 ** k)
        blocks.append(c)
    return np.concatenate(blocks, axis=1)


class KmerLogistic:
    """k-mer logistic (or ridge) regression, module docstring.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    ks : sequence of int
        k-mer lengths.
    lambdas : sequence of float
        L2 penalties tried on the validation split.
    """

    def __init__(self, task: str = "binary", ks=(4, 5, 6), lambdas=LAMBDAS):
        self.task, self.ks, self.lambdas = task, tuple(ks), tuple(lambdas)

    def _features(self, tokens):
        x = np.log1p(kmer_counts(tokens, self.ks)).astype(np.float64)
        return (x - self.mean_) / self.sd_

    def _fit_one(self, x, y, lam):
        n, p = x.shape
        if self.task == "regression":
            xa = np.c_[x, np.ones(n)]
            pen = lam * n * np.eye(p + 1)
            pen[-1, -1] = 0
            return np.linalg.solve(xa.T @ xa + pen, xa.T @ y)[:, None]
        k = self.n_classes_
        onehot = np.eye(k)[y.astype(int)]

        def loss(wf):
            w = wf.reshape(p + 1, k)
            z = x @ w[:-1] + w[-1]
            lp = log_softmax(z, axis=1)
            g = x.T @ (softmax(z, axis=1) - onehot) / n
            gb = (softmax(z, axis=1) - onehot).mean(0)
            f = -(onehot * lp).sum() / n + lam / 2 * (w[:-1] ** 2).sum()
            return f, np.r_[g + lam * w[:-1], gb[None, :]].ravel()

        res = minimize(loss, np.zeros((p + 1) * k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
        return res.x.reshape(p + 1, k)

    def _raw(self, x, w):
        return x @ w[:-1] + w[-1]

    def _loss(self, x, y, w):
        z = self._raw(x, w)
        if self.task == "regression":
            return float(((z[:, 0] - y) ** 2).mean())
        return float(-log_softmax(z, axis=1)[np.arange(len(y)), y.astype(int)].mean())

    def fit(self, tokens_train, y_train, tokens_valid, y_valid):
        """Choose the penalty on the validation split and fit on the training split.

        Parameters
        ----------
        tokens_train, tokens_valid : ndarray of int, (n, L)
            Token windows.
        y_train, y_valid : array-like
            Class indices 0..K-1 or values (regression).

        Returns
        -------
        KmerLogistic
            ``self`` with ``lam_``, ``coef_`` ((p + 1, K); last row the intercepts), ``valid_loss_``.
        """
        raw = np.log1p(kmer_counts(tokens_train, self.ks)).astype(np.float64)
        self.mean_, self.sd_ = raw.mean(0), raw.std(0) + 1e-6
        x, xv = (raw - self.mean_) / self.sd_, self._features(tokens_valid)
        y, yv = np.asarray(y_train, float), np.asarray(y_valid, float)
        self.n_classes_ = 1 if self.task == "regression" else int(max(y.max(), yv.max())) + 1
        fits = {lam: self._fit_one(x, y, lam) for lam in self.lambdas}
        self.valid_loss_ = {lam: self._loss(xv, yv, w) for lam, w in fits.items()}
        self.lam_ = min(self.valid_loss_, key=self.valid_loss_.get)
        self.coef_ = fits[self.lam_]
        return self

    def predict(self, tokens) -> np.ndarray:
        """Outputs in the fine-tuned models' convention.

        Parameters
        ----------
        tokens : ndarray of int, (n, L)

        Returns
        -------
        ndarray, (n, 1) or (n, K)
            Binary: the logit of class 1; multiclass: logits; regression: predicted values.
        """
        z = self._raw(self._features(tokens), self.coef_)
        return z[:, 1:2] - z[:, 0:1] if self.task == "binary" else z
