"""2-D projection of DNA-LM variant embeddings (``emb_delta`` of the variant_scores dataset) for the embedding
view of ``locusflow serve`` and the plots stage's figure.

The projection is PCA: the vectors are centred and the first two right singular vectors of the centred
matrix give the axes (signs fixed so the largest loading of each is positive, so a rerun draws the same
picture); each axis is labelled with its share of the total variance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import neglog10, pyplot


def pca_2d(x) -> tuple[np.ndarray, np.ndarray]:
    """First two principal components of the rows of ``x``.

    Parameters
    ----------
    x : array-like, (n, d)
        One embedding per row (n >= 2, d >= 1).

    Returns
    -------
    coords : ndarray, (n, 2)
        Scores on PC1 and PC2 (a zero column when d = 1).
    explained : ndarray, (2,)
        Fraction of the total variance each component carries.

    References
    ----------
    Jolliffe IT, Cadima J (2016) Principal component analysis: a review and recent developments.
    Phil Trans R Soc A 374:20150202 (PCA by the SVD of the centred data; scikit-learn's PCA).
    """
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    k = min(2, vt.shape[0])
    sign = np.sign(vt[np.arange(k), np.argmax(np.abs(vt[:k]), axis=1)])
    coords = np.zeros((x.shape[0], 2))
    coords[:, :k] = u[:, :k] * s[:k] * sign
    total = float((s ** 2).sum())
    explained = np.zeros(2)
    explained[:k] = s[:k] ** 2 / total if total > 0 else 0.0
    return coords, explained


def embedding_points(run, max_points: int = 4000) -> dict | None:
    """The points of the embedding view: projected variants with their GWAS p and DNA-LM LLR.

    Parameters
    ----------
    run : locusflow.plots.data.RunResults
        The run (its ``emb_delta`` embeddings, sumstats and scores).
    max_points : int
        Points returned: the variants with the smallest GWAS p (the projection uses every embedding).

    Returns
    -------
    dict or None
        ``points`` (variant_id, chrom, pos, label, p, llr, pc1, pc2), ``explained`` (2 fractions), ``n`` (all
        embedded variants); None when the run has no embeddings.
    """
    emb = run.embeddings()
    if emb is None or len(emb[0]) < 2:
        return None
    meta, x = emb
    coords, explained = pca_2d(x)
    pts = meta[["variant_id", "chrom", "pos"]].assign(pc1=coords[:, 0], pc2=coords[:, 1],
                                                     llr=meta["llr"] if "llr" in meta else np.nan)
    g = run.gwas()
    if g is not None:
        sw = g["chrom"].astype(str) + ":" + g["pos"].astype(str) + ":" + g["alt"] + ":" + g["ref"]
        by = pd.concat([g.set_index("variant_id")[["p", "label"]],
                        g.assign(v=sw.to_numpy()).set_index("v")[["p", "label"]]])
        by = by[~by.index.duplicated()]
        pts = pts.join(by, on="variant_id")
    else:
        pts = pts.assign(p=np.nan, label=pts["variant_id"])
    pts["label"] = pts["label"].fillna(pts["variant_id"])
    pts = pts.sort_values("p", na_position="last", kind="stable").head(max_points).reset_index(drop=True)
    return {"points": pts, "explained": explained, "n": len(meta)}


def embedding_figure(data: dict, *, title: str = "DNA-LM variant embeddings"):
    """Scatter of :func:`embedding_points`' projection coloured by GWAS -log10 p.

    Parameters
    ----------
    data : dict
        As returned by :func:`embedding_points`.
    title : str
        Axes title (the counts shown and embedded are appended).

    Returns
    -------
    matplotlib.figure.Figure
        One axes (PC1 and PC2 with their variance shares) and its colour bar.
    """
    plt = pyplot()
    pts = data["points"]
    fig, ax = plt.subplots(figsize=(7.5, 6))
    c = neglog10(pts["p"].to_numpy(float))
    sc = ax.scatter(pts["pc1"], pts["pc2"], c=np.nan_to_num(c), cmap="viridis", s=12, linewidths=0)
    fig.colorbar(sc, ax=ax, label=r"GWAS $-\log_{10}(p)$")
    ex = data["explained"]
    ax.set_xlabel(f"PC1 of embedding deltas ({ex[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ex[1]:.0%} of variance)")
    ax.set_title(f"{title} ({len(pts):,} of {data['n']:,} variants)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
