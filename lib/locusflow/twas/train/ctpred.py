"""ctPred: a multilayer perceptron across genes, from sequence-model features at the TSS to a cell type's expression.

scPrediXcan's step 1 (Zhou et al. 2025). Genes are the samples: each gene has a feature vector x_g (the
Enformer epigenomic tracks at its TSS, or the embedding of a DNA language model there) and a target y_g,
the percentile rank of its mean pseudobulk expression in the cell type
(:func:`locusflow.twas.train.expression.ctpred_targets`). The model (``Scripts/ctPred/ctPred_utils.py``):

    x -> standardise (mean and SD of the training genes; torch's SD, n - 1)
      -> [Linear(d, 64) ReLU Dropout(0.05)] -> 3 x [Linear(64, 64) ReLU Dropout(0.05)] -> Linear(64, 1)

loss MSE, Adam (lr 9e-5, weight decay 5e-4), minibatches of 1000 genes shuffled each epoch, 100 epochs,
seed 1024. Genes are split by chromosome: training on 1-4, 6, 8-10, 13, 15-19, 21, 22, X, Y, validation
on 7, 11, 14, test on 5, 12, 20 (``ctPred_train.json``). Early stopping: the weights kept are those of the
epoch with the smallest validation loss, and ``patience`` (None = scPrediXcan's: run every epoch) stops
the run after that many epochs without improvement.

Differences from the reference code, on purpose: the validation loss is measured after each epoch's
updates and paired with the weights it measured (scPrediXcan evaluates it before the epoch and saves
the weights after it, so the kept model is one epoch past the one that was best); features with zero SD
in the training genes are centred, not divided by 0.

References
----------
Zhou Y et al. (2025) scPrediXcan integrates deep learning methods and single-cell data into a
cell-type-specific transcriptome-wide association study framework. Cell Genomics 5:100875;
hakyimlab/scPrediXcan ``Scripts/ctPred/ctPred_utils.py``, ``ctPred_train.py``, ``ctPred_train.json``.
Avsec Z et al. (2021) Effective gene expression prediction from sequence by integrating long-range
interactions. Nat Methods 18:1196 (Enformer).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np

from ...errors import InputError

TRAIN_CHROMS = ("1", "10", "13", "15", "16", "17", "18", "19", "2", "21", "22", "3", "4", "6", "8", "9", "X", "Y")
VALID_CHROMS = ("11", "14", "7")
TEST_CHROMS = ("12", "20", "5")
DEFAULTS = {"n_layers": 4, "hidden": 64, "dropout": 0.05, "lr": 9e-5, "weight_decay": 5e-4, "batch_size": 1000,
            "max_epochs": 100, "patience": None, "seed": 1024}


def chromosome_split(chrom, train=TRAIN_CHROMS, valid=VALID_CHROMS, test=TEST_CHROMS) -> np.ndarray:
    """Split label of each gene by its chromosome (``chr`` prefix ignored).

    Parameters
    ----------
    chrom : array-like of str
        Chromosome of each gene.
    train, valid, test : sequence of str
        Chromosomes of each part [scPrediXcan's].

    Returns
    -------
    numpy.ndarray of str
        ``train``, ``valid``, ``test`` or ``none`` (a chromosome in no part) per gene.
    """
    c = np.array([str(x).removeprefix("chr") for x in np.asarray(chrom)], dtype=object)
    out = np.full(len(c), "none", dtype=object)
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        out[np.isin(c, [str(x).removeprefix("chr") for x in part])] = name
    return out


def _net(d: int, n_layers: int, hidden: int, dropout: float):
    from torch import nn
    layers = [nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout)]
    for _ in range(n_layers - 1):
        layers += [nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(hidden, 1))


class CtPred:
    """scPrediXcan's ctPred (module docstring); estimator with fitted attributes ending in ``_``.

    Parameters
    ----------
    n_layers, hidden, dropout
        Hidden layers (each Linear, ReLU, Dropout), their width, the dropout rate [4, 64, 0.05].
    lr, weight_decay
        Adam's learning rate and L2 weight decay [9e-5, 5e-4].
    batch_size, max_epochs, patience
        Genes per minibatch, epochs, epochs without a better validation loss before stopping
        [1000, 100, None].
    seed : int
        torch and shuffling seed [1024].

    Attributes
    ----------
    mean_, sd_ : numpy.ndarray
        Feature standardisation (training genes).
    history_ : dict
        ``train_loss`` and ``valid_loss`` per epoch.
    best_epoch_ : int
        Epoch (0-based) whose weights are kept.
    metrics_ : dict
        Pearson r and MSE on each part (``r_train``, ``r_valid``, ``r_test``, ...).

    References
    ----------
    Zhou Y et al. (2025) Cell Genomics 5:100875 (ctPred).
    """

    def __init__(self, **params):
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown ctPred parameter(s): {sorted(unknown)}")
        self.params = {**DEFAULTS, **params}

    def fit(self, features: np.ndarray, target: np.ndarray, split: np.ndarray) -> "CtPred":
        """Train on the ``train`` genes, keep the weights best on ``valid``; report ``test``.

        Parameters
        ----------
        features : numpy.ndarray
            [genes, d] features at each gene's TSS.
        target : numpy.ndarray
            [genes] expression (percentile ranks).
        split : numpy.ndarray of str
            :func:`chromosome_split` labels.

        Returns
        -------
        CtPred
            self.
        """
        import torch
        x, y, split = np.asarray(features, np.float32), np.asarray(target, np.float32), np.asarray(split)
        if x.ndim != 2 or len(x) != len(y) or len(y) != len(split):
            raise InputError("ctpred", "features [genes, d], target [genes] and split [genes] of one length",
                             value=(x.shape, y.shape, split.shape))
        if not np.isfinite(x).all() or not np.isfinite(y).all():
            raise InputError("ctpred", "finite features and targets")
        tr, va = split == "train", split == "valid"
        if tr.sum() < 2 or va.sum() < 1:
            raise InputError("ctpred", "genes in the training chromosomes and in the validation chromosomes",
                             value={"train": int(tr.sum()), "valid": int(va.sum())})
        p = self.params
        self.mean_ = x[tr].mean(axis=0)
        sd = x[tr].std(axis=0, ddof=1)
        self.sd_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        torch.manual_seed(p["seed"])
        net = _net(x.shape[1], p["n_layers"], p["hidden"], p["dropout"])
        opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        xt = torch.from_numpy(self._standardise(x))
        yt = torch.from_numpy(y)
        gen = torch.Generator().manual_seed(p["seed"])
        itr, iva = torch.from_numpy(np.flatnonzero(tr)), torch.from_numpy(np.flatnonzero(va))
        best, best_state, wait = np.inf, None, 0
        hist = {"train_loss": [], "valid_loss": []}
        for epoch in range(p["max_epochs"]):            # loop over epochs
            net.train()
            order = itr[torch.randperm(len(itr), generator=gen)]
            for s in range(0, len(order), p["batch_size"]):   # minibatches
                b = order[s:s + p["batch_size"]]
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(xt[b])[:, 0], yt[b])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                hist["train_loss"].append(float(torch.nn.functional.mse_loss(net(xt[itr])[:, 0], yt[itr])))
                v = float(torch.nn.functional.mse_loss(net(xt[iva])[:, 0], yt[iva]))
            hist["valid_loss"].append(v)
            if v < best:
                best, best_state, wait, self.best_epoch_ = v, copy.deepcopy(net.state_dict()), 0, epoch
            else:
                wait += 1
                if p["patience"] is not None and wait >= p["patience"]:
                    break
        net.load_state_dict(best_state)
        self.net_, self.history_ = net.eval(), hist
        pred = self.predict(x)
        self.metrics_ = {}
        for part in ("train", "valid", "test"):
            m = split == part
            if m.sum() > 2:
                self.metrics_[f"r_{part}"] = float(np.corrcoef(pred[m], y[m])[0, 1])
                self.metrics_[f"mse_{part}"] = float(np.mean((pred[m] - y[m]) ** 2))
            self.metrics_[f"n_{part}"] = int(m.sum())
        return self

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self.mean_) / self.sd_).astype(np.float32)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted expression of each feature row (e.g. a gene, or one individual's sequence at it).

        Parameters
        ----------
        features : numpy.ndarray
            [rows, d] on the scale of the training features.

        Returns
        -------
        numpy.ndarray of float64
            [rows].
        """
        import torch
        x = np.asarray(features, np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.mean_):
            raise InputError("ctpred", f"features with {len(self.mean_)} columns", value=x.shape)
        with torch.no_grad():
            return self.net_(torch.from_numpy(self._standardise(x)))[:, 0].double().numpy()

    def save(self, path) -> None:
        """Write the model to a directory: ``model.pt`` (state dict), ``ctpred.json`` (parameters,
        standardisation, metrics, history).

        Parameters
        ----------
        path : str or Path
            Directory (created).
        """
        import torch
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.net_.state_dict(), path / "model.pt")
        meta = {"params": self.params, "mean": self.mean_.tolist(), "sd": self.sd_.tolist(),
                "metrics": self.metrics_, "best_epoch": self.best_epoch_, "history": self.history_}
        (path / "ctpred.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, path) -> "CtPred":
        """A model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            Its directory.

        Returns
        -------
        CtPred
        """
        import torch
        path = Path(path)
        if not (path / "ctpred.json").exists() or not (path / "model.pt").exists():
            raise InputError(path, "a ctPred model directory (ctpred.json and model.pt, from `locusflow weights ctpred`)")
        meta = json.loads((path / "ctpred.json").read_text())
        m = cls(**meta["params"])
        m.mean_, m.sd_ = np.asarray(meta["mean"], np.float32), np.asarray(meta["sd"], np.float32)
        m.metrics_, m.best_epoch_, m.history_ = meta["metrics"], meta["best_epoch"], meta["history"]
        p = m.params
        m.net_ = _net(len(m.mean_), p["n_layers"], p["hidden"], p["dropout"])
        m.net_.load_state_dict(torch.load(path / "model.pt", weights_only=True))
        m.net_.eval()
        return m
