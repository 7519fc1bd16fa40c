"""Per-block FOCUS figure, like pyfocus ``focus finemap --plot`` (``pyfocus/viz.py``): TWAS -log10 p of each
gene model along the block (marker size and colour by PIP, credible-set genes named), the PIPs, and the
predicted-expression correlation (Omega) heat map. PNG and PDF through matplotlib's Agg backend.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def focus_figure(rows: pd.DataFrame, wcor: np.ndarray, order, title: str = ""):
    """Figure of one block and population (pyfocus ``focus finemap --plot``'s panels).

    Parameters
    ----------
    rows : pandas.DataFrame
        The block's ``focus_results`` rows of one population (NULL.MODEL row included).
    wcor : numpy.ndarray
        Predicted-expression correlation (Omega) of its gene models.
    order : sequence of str
        model_id of the rows/columns of ``wcor``.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    pyfocus 0.802 ``pyfocus/viz.py``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    genes = rows.set_index("model_id").loc[list(order)].reset_index()
    x = np.arange(len(genes))
    pip = genes["pip"].to_numpy(float)
    has_z = genes["twas_z"].notna().all()
    logp = -np.log10(stats.chi2.sf(genes["twas_z"].to_numpy(float) ** 2, 1)) if has_z else np.zeros(len(genes))
    fig, axes = plt.subplots(3, 1, figsize=(max(6.0, 0.35 * len(genes) + 2), 11),
                             gridspec_kw={"height_ratios": [1.0, 0.7, 1.6]})
    ax = axes[0]
    sc = ax.scatter(x, logp, s=20 + 180 * pip, c=pip, cmap="Blues", vmin=0, vmax=1, edgecolor="black")
    for xi, yi, name, cs in zip(x, logp, genes["mol_name"], genes["in_cred_set"]):
        if cs:
            ax.annotate(str(name), (xi, yi), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    ax.set_ylabel(r"TWAS $-\log_{10}(p)$")
    ax.set_xticks([])
    fig.colorbar(sc, ax=ax, label="PIP")
    ax.set_title(title)
    ax = axes[1]
    ax.bar(x, pip, color=np.where(genes["in_cred_set"].to_numpy() == 1, "#08519c", "#bdd7e7"))
    ax.set_ylim(0, 1)
    ax.set_ylabel("PIP")
    ax.set_xticks(x, genes["mol_name"].astype(str), rotation=90, fontsize=7)
    ax = axes[2]
    im = ax.imshow(wcor, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(x, genes["mol_name"].astype(str), rotation=90, fontsize=6)
    ax.set_yticks(x, genes["mol_name"].astype(str), fontsize=6)
    fig.colorbar(im, ax=ax, label="predicted expression correlation")
    fig.tight_layout()
    return fig


def plot_blocks(res: pd.DataFrame, pops: list, out: Path, params: dict) -> int:
    """Write ``<out>/<block_id>.<population>.{png,pdf}`` for every fine-mapped block.

    Parameters
    ----------
    res : pandas.DataFrame
        ``focus_results`` rows.
    pops : list of dict
        The populations FOCUS ran on (store, sumstats, weights, samples, name).
    out : Path
        Output folder.
    params : dict
        The FOCUS parameters of the run (prior, ridge, ...), to recompute each block's Omega.

    Returns
    -------
    int
        Number of files written.
    """
    import matplotlib.pyplot as plt
    from ..focus import block_details
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for bid, rows in res.groupby("block_id", sort=False):  # loop over blocks
        chrom, span = bid.rsplit(":", 1)
        start, stop = (int(s) for s in span.split("-"))
        names = [p for p in rows["population"].unique() if p != "me"]
        for name, d in zip(names, block_details(pops, chrom, start, stop, **params)):
            fig = focus_figure(rows[rows["population"] == name], d["wcor"], d["model_id"], f"FOCUS {bid} ({name})")
            stem = out / f"{bid.replace(':', '_')}.{name}"
            fig.savefig(f"{stem}.png", dpi=120)
            fig.savefig(f"{stem}.pdf")
            plt.close(fig)
            n += 2
    return n
