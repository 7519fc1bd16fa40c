"""Shared plotting helpers: the Agg backend, saving one figure in several formats, p-value transforms.

Every figure of :mod:`locusflow.plots` is drawn with matplotlib's Agg backend (no display needed) and saved
by :func:`save_figure` as PNG plus vector SVG and/or PDF.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats

FORMATS = ("png", "svg")
CHROM_COLOURS = ("#1f4e79", "#6baed6")        # alternating chromosome colours (Manhattan)
LD_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0001)    # LocusZoom r^2 bins
LD_COLOURS = ("#357ebd", "#46b8da", "#5cb85c", "#eea236", "#d43f3a")


def pyplot():
    """matplotlib.pyplot on the Agg backend (import here so the package does not pay for matplotlib).

    Returns
    -------
    module
        ``matplotlib.pyplot``, after ``matplotlib.use("Agg")`` (no display needed).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, stem, formats=FORMATS, dpi: int = 120) -> list[str]:
    """Save ``fig`` as ``<stem>.<fmt>`` for each format (png, svg, pdf) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save; it is closed afterwards.
    stem : str or Path
        Output path without suffix; parent directories are created.
    formats : sequence of str
        Any of ``png``, ``svg``, ``pdf``.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    list of str
        The paths written.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    # no creation date and a fixed id salt: a rerun on the same results writes byte-identical files
    meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}
    import matplotlib
    with matplotlib.rc_context({"svg.hashsalt": "locusflow"}):
        for fmt in formats:
            p = f"{stem}.{fmt}"
            fig.savefig(p, dpi=dpi if fmt == "png" else None, bbox_inches="tight", metadata=meta.get(fmt, {}))
            paths.append(p)
    pyplot().close(fig)
    return paths


def neglog10(p) -> np.ndarray:
    """-log10 p, with p = 0 mapped to the smallest positive double (finite).

    Parameters
    ----------
    p : array-like of float
        p-values; values are clipped to [smallest positive double, 1] first (so p > 1 gives 0), NaN stays NaN.

    Returns
    -------
    ndarray of float
        -log10 of the clipped p-values (at most about 307.65), same shape as ``p``.
    """
    p = np.asarray(p, dtype=float)
    return -np.log10(np.clip(p, np.finfo(float).tiny, 1.0))


def z_to_p(z) -> np.ndarray:
    """Two-sided normal p-value 2 Phi(-|z|).

    Parameters
    ----------
    z : array-like of float
        z-scores.

    Returns
    -------
    ndarray of float
        Two-sided p-values from the standard normal survival function (accurate in the far tail; NaN stays
        NaN), same shape as ``z``.
    """
    return 2.0 * stats.norm.sf(np.abs(np.asarray(z, dtype=float)))


def genomic_control(p) -> float:
    """Genomic-control inflation lambda_GC = median(chi2_1 quantile of p) / 0.4549 (Devlin & Roeder 1999).

    Parameters
    ----------
    p : array-like
        Two-sided p-values; non-finite values and values outside (0, 1] are ignored.

    Returns
    -------
    float
        lambda_GC (NaN when there is no valid p-value).

    References
    ----------
    Devlin B, Roeder K (1999) Genomic control for association studies. Biometrics 55:997-1004.
    """
    p = np.asarray(p, dtype=float)
    p = p[np.isfinite(p) & (p > 0) & (p <= 1)]
    if not len(p):
        return float("nan")
    return float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))


def chrom_key(chrom: str):
    """Sort key for chromosome names: 1..22 numerically, then X, Y, MT, then the rest alphabetically.

    Parameters
    ----------
    chrom : str or int
        Chromosome name without ``chr`` (``M`` sorts as ``MT``).

    Returns
    -------
    tuple
        ``(0, number, "")`` for a numeric name, else ``(1, rank, name)`` with rank 23 for X, 24 for Y, 25 for
        MT/M and 99 for anything else.
    """
    c = str(chrom)
    return (0, int(c), "") if c.isdigit() else (1, {"X": 23, "Y": 24, "MT": 25, "M": 25}.get(c, 99), c)
