"""Sequence logos drawn with matplotlib (no logo package): letters as scaled glyph paths.

:func:`draw_logo` stacks the letters of each column by height (largest on top, negative heights below the
axis); :func:`logo_matrix` turns a probability matrix into information-content heights (bits);
:func:`motif_logo_figure` draws a discovered motif (its PWM in bits and its CWM) above its best database
match, aligned at the match's offset and strand; :func:`write_motif_logos` writes one PNG (and SVG) per
motif for the report (:func:`motif_logo_files` lists them).

References
----------
Schneider TD, Stephens RM (1990) Sequence logos: a new way to display consensus sequences. Nucleic Acids
Res 18:6097.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
_GLYPHS: dict = {}


def logo_matrix(pwm: np.ndarray) -> np.ndarray:
    """Information-content letter heights (bits) of a probability matrix.

    Parameters
    ----------
    pwm : numpy.ndarray, (w, 4)
        Probabilities (or counts: rows are normalised first).

    Returns
    -------
    numpy.ndarray, (w, 4)
        ``p x (2 - H(p))``.

    References
    ----------
    Schneider TD, Stephens RM (1990) Nucleic Acids Res 18:6097.
    """
    p = np.asarray(pwm, dtype=float)
    p = p / p.sum(1, keepdims=True)
    ic = 2 + (p * np.log2(np.clip(p, 1e-300, None))).sum(1)
    return p * ic[:, None]


def _glyph(letter: str):
    if letter not in _GLYPHS:
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextPath
        path = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
        ext = path.get_extents()
        _GLYPHS[letter] = (path, ext)
    return _GLYPHS[letter]


def draw_logo(ax, heights: np.ndarray, *, x0: float = 0.0, ylabel: str = "bits", title: str | None = None):
    """Draw a logo of a (w, 4) height matrix on a matplotlib axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    heights : numpy.ndarray, (w, 4)
        A C G T heights per column; positive stacked upwards (smallest first), negative downwards.
    x0 : float
        x of the first column (columns are 1 wide, centred on ``x0 + i``).
    ylabel, title : str

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D
    h = np.asarray(heights, dtype=float)
    for i, col in enumerate(h):
        up, down = 0.0, 0.0
        for k in np.argsort(np.abs(col)):
            v = col[k]
            if abs(v) < 1e-6:
                continue
            letter = "ACGT"[k]
            path, ext = _glyph(letter)
            y = up if v > 0 else down + v
            t = (Affine2D().translate(-ext.x0, -ext.y0).scale(0.9 / ext.width, abs(v) / ext.height)
                 .translate(x0 + i - 0.45, y))
            ax.add_patch(PathPatch(t.transform_path(path), color=COLORS[letter], lw=0))
            if v > 0:
                up += v
            else:
                down += v
    lo = min(0.0, float(np.minimum(h, 0).sum(1).min(initial=0)))
    hi = max(float(np.maximum(h, 0).sum(1).max(initial=0)), 1e-3)
    ax.set_xlim(x0 - 0.6, x0 + len(h) - 0.4)
    ax.set_ylim(lo * 1.05, hi * 1.05)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return ax


def motif_logo_figure(motif: dict, match: dict | None = None, target_pwm: np.ndarray | None = None):
    """A figure of a discovered motif (PWM in bits, CWM) above its best database match.

    Parameters
    ----------
    motif : dict
        ``motif_id``, ``pwm``, ``cwm``, ``n_seqlets`` (:func:`locusflow.dnalm.motifs.discover_motifs`).
    match : dict, optional
        Best match row (``target_id``, ``target_name``, ``strand``, ``offset``, ``q_value``).
    target_pwm : numpy.ndarray, optional
        The match's probability matrix (drawn reverse-complemented when the match is on ``-``, so that
        both read in the discovered motif's orientation).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from .tomtom import reverse_complement_pwm
    rows = 3 if target_pwm is not None else 2
    w = len(motif["pwm"])
    x_t = 0
    if target_pwm is not None:
        tp = reverse_complement_pwm(target_pwm) if match["strand"] == "-" else np.asarray(target_pwm)
        # query column i faces target column i + offset (on the query's strand: flip offset for '-')
        off = int(match["offset"]) if match["strand"] == "+" else len(tp) - w - int(match["offset"])
        x_t = -off
    lo = min(0, x_t)
    hi = max(w, x_t + (len(target_pwm) if target_pwm is not None else 0))
    fig, axes = plt.subplots(rows, 1, figsize=(max(4.0, 0.35 * (hi - lo) + 1.5), 1.6 * rows), squeeze=False)
    axes = axes[:, 0]
    draw_logo(axes[0], logo_matrix(motif["pwm"]),
              title=f"{motif['motif_id']}: {motif['n_seqlets']} seqlets (PWM of the reference bases)")
    draw_logo(axes[1], motif["cwm"], ylabel="contrib.", title="contribution weight matrix (model importance)")
    if target_pwm is not None:
        name = f"{match['target_id']} {match['target_name']}"
        draw_logo(axes[2], logo_matrix(tp), x0=x_t,
                  title=f"best match {name} ({match['strand']}), q = {float(match['q_value']):.2g}")
    for ax in axes:
        ax.set_xlim(lo - 0.6, hi - 0.4)
        ax.set_xticks([])
    fig.tight_layout()
    return fig


def write_motif_logos(motifs: list, matches, database, out_dir, *, formats=("png", "svg")) -> list[Path]:
    """One logo file per discovered motif and format, next to its best database match.

    Parameters
    ----------
    motifs : list of dict
        :func:`locusflow.dnalm.motifs.discover_motifs` motifs.
    matches : pandas.DataFrame
        :func:`locusflow.dnalm.tomtom.compare_motifs` rows (rank 1 used).
    database : list of Motif
        The compared database.
    out_dir : str or Path
    formats : tuple of str

    Returns
    -------
    list of pathlib.Path
        The files written (``<motif_id>.<format>``).
    """
    import matplotlib.pyplot as plt
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_id = {m.id: m for m in database}
    best = {} if matches is None or not len(matches) else \
        {r["query_id"]: r for r in matches[matches["rank"] == 1].to_dict("records")}
    files = []
    for m in motifs:
        b = best.get(m["motif_id"])
        fig = motif_logo_figure(m, b, by_id[b["target_id"]].pwm if b is not None else None)
        for fmt in formats:
            path = out_dir / f"{m['motif_id']}.{fmt}"
            fig.savefig(path, dpi=110)
            files.append(path)
        plt.close(fig)
    return files


def motif_logo_files(logo_dir, fmt: str = "png") -> list[Path]:
    """The logo files of a motifs run, in motif order (for the report).

    Parameters
    ----------
    logo_dir : str or Path
        ``<out>/dnalm_motifs/logos``.
    fmt : str

    Returns
    -------
    list of pathlib.Path
        ``motif_1.<fmt>``, ``motif_2.<fmt>``, ... (empty when the folder is absent).
    """
    d = Path(logo_dir)
    if not d.is_dir():
        return []
    return sorted(d.glob(f"motif_*.{fmt}"), key=lambda p: int(p.stem.split("_")[1]) if p.stem.split("_")[1].isdigit() else 0)


def region_logo_figure(prob: np.ndarray, ref: str = "", *, start: int = 1, title: str | None = None):
    """GPN-style logo of a stretch of sequence: at each position the model's predicted distribution (with
    the site masked) as letters of height ``p x IC`` bits, the reference bases written below.

    Parameters
    ----------
    prob : numpy.ndarray, (n, 4)
        Predicted A, C, G, T probabilities (``motif_importance`` columns ``p_a .. p_t``).
    ref : str
        Reference bases (n letters) for the axis, optional.
    start : int
        Coordinate of the first position (axis label).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (GPN's logos of predicted distributions).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = len(prob)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.18 * n + 1.2), 1.9))
    draw_logo(ax, logo_matrix(prob), title=title)
    if ref:
        ax.set_xticks(np.arange(n))
        ax.set_xticklabels(list(ref), fontsize=7, family="monospace")
    ax.set_xlabel(f"position from {start:,}")
    fig.tight_layout()
    return fig
