"""Per-block FOCUS figure (as pyfocus ``focus finemap --plot``, ``pyfocus/viz.py``), drawn from the focus
results dataset on disk: TWAS -log10 p of each gene model (ridge-adjusted FOCUS z) by gene position, marker
size and colour by PIP; the gene PIPs on the same x axis; the predicted-expression correlation (Omega).

Genes are ordered by position and every gene is named on the shared x axis; genes in the credible set or
with p below 0.05 / genes are also named at their point. Omega is computed here from the stored weights
and the LD stage's block matrices (cor of w_i'x and w_j'x with allele-scale weights scaled by the SNPs'
standard deviation sqrt(2 f (1 - f))); SNP pairs in different LD blocks count as uncorrelated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..ld.matrix import locate_variants, read_block_ld
from .common import neglog10, pyplot, save_figure, z_to_p


def focus_figure(rows: pd.DataFrame, omega: np.ndarray | None = None, title: str = ""):
    """Figure of one block and population.

    Parameters
    ----------
    rows : DataFrame
        focus_results rows of the block and population (the NULL.MODEL row is left out), with ``pos``
        (gene midpoint, bp; NaN puts the gene in model order).
    omega : ndarray, optional
        Predicted-expression correlation of the genes, in the order of ``rows`` sorted by ``pos``.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Axes: TWAS p, PIP, and Omega when given.
    """
    plt = pyplot()
    g = rows[rows["model_id"] != "NULL.MODEL"].copy()
    g["order"] = np.arange(len(g))
    g = g.sort_values(["pos", "order"], na_position="last").reset_index(drop=True)
    names = g["mol_name"].fillna(g["ens_gene_id"]).astype(str).to_numpy()
    x = np.arange(len(g))
    pip = g["pip"].to_numpy(float)
    cs = g["in_cred_set"].to_numpy() == 1
    logp = neglog10(z_to_p(g["twas_z"].fillna(0.0)))
    n_panels = 3 if omega is not None else 2
    width = max(7.0, 0.32 * len(g) + 3)
    fig, axes = plt.subplots(n_panels, 1, figsize=(width, 4.2 + 2.2 * (n_panels - 1) + (0.32 * len(g) if omega is not None else 0)),
                             gridspec_kw={"height_ratios": [1.3, 0.8] + ([0.32 * len(g) / 2 + 1] if omega is not None else [])},
                             layout="constrained")
    ax = axes[0]
    sc = ax.scatter(x, logp, s=25 + 200 * pip, c=pip, cmap="Blues", vmin=0, vmax=1, edgecolor="black", lw=0.6, zorder=3)
    thr = -np.log10(0.05 / max(len(g), 1))
    ax.axhline(thr, color="#c0392b", ls="--", lw=0.8, label=f"p = 0.05 / {len(g)} genes")
    for xi, yi, name, c in zip(x, logp, names, cs):
        if c or yi >= thr:
            ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(0, 8), ha="center", va="bottom",
                        fontsize=8, fontweight="bold" if c else "normal")
    ax.set_ylim(0, max(logp.max() if len(logp) else 1, thr) * 1.25 + 0.3)   # room for the top label
    ax.set_ylabel(r"TWAS $-\log_{10}(p)$" + "\n(FOCUS ridge-adjusted z)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.colorbar(sc, ax=axes[:2], label="gene PIP", shrink=0.8)
    ax.set_title(title, loc="left")
    ax = axes[1]
    ax.sharex(axes[0])
    ax.bar(x, pip, color=np.where(cs, "#08519c", "#bdd7e7"), edgecolor="#08306b", lw=0.4)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("gene PIP\n(dark: credible set)")
    for a in axes[:2]:
        a.set_xlim(-0.6, len(g) - 0.4)
        a.set_xticks(x, names, rotation=90, fontsize=8)
        a.spines[["top", "right"]].set_visible(False)
    axes[0].tick_params(labelbottom=True)
    ax.set_xlabel("gene (by position)")
    if omega is not None:
        ax = axes[2]
        im = ax.imshow(omega, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(x, names, rotation=90, fontsize=7)
        ax.set_yticks(x, names, fontsize=7)
        fig.colorbar(im, ax=ax, label="predicted expression correlation", shrink=0.8)
    return fig


def predicted_expression_corr(run, model_ids) -> np.ndarray | None:
    """Omega of ``model_ids`` from the run's weights dataset and stored LD blocks (None without them).

    Parameters
    ----------
    run : locusflow.plots.data.RunResults
        The run; needs its ``weights`` dataset and the LD stage's matrices (``<ld_dir>/index``).
    model_ids : sequence of str
        Gene models, in the order of Omega's rows and columns. Weights are matched to LD variants as
        ``chrom:pos:other:effect`` (sign +1) or, failing that, ``chrom:pos:effect:other`` (sign -1); weights
        without a position or not found in the LD matrices are left out. Variants are looked up on the
        chromosome of the first weight row (the models of one FOCUS block share a chromosome).

    Returns
    -------
    ndarray of float, shape (k, k), or None
        Correlation of the models' predicted expression: with allele-scale weights scaled by
        sqrt(2 f (1 - f)) (f the LD panel's alt frequency), cov = sum over blocks of W' R W, then
        normalised by its diagonal (a model with no matched SNP gets a zero row and column). SNP pairs in
        different LD blocks count as uncorrelated. None when the run lacks weights or LD matrices.

    References
    ----------
    Mancuso N et al. (2019) Probabilistic fine-mapping of transcriptome-wide association studies.
    Nat Genet 51:675-682 (Omega, the predicted-expression correlation of FOCUS; pyfocus ``viz.py``).
    """
    w = run.table("weights")
    if w is None or not (run.ld_dir / "index").exists():
        return None
    w = w[w["model_id"].isin(list(model_ids)) & w["pos"].notna()]
    fwd = w["chrom"].astype(str) + ":" + w["pos"].astype("int64").astype(str) + ":" + w["other_allele"] + ":" + w["effect_allele"]
    rev = w["chrom"].astype(str) + ":" + w["pos"].astype("int64").astype(str) + ":" + w["effect_allele"] + ":" + w["other_allele"]
    loc = locate_variants(run.ld_dir, chrom=str(w["chrom"].iloc[0]) if len(w) else None).set_index("variant_id")
    w = w.assign(vid=np.where(fwd.isin(loc.index), fwd, rev), sign=np.where(fwd.isin(loc.index), 1.0, -1.0))
    w = w[w["vid"].isin(loc.index)]
    w = w.assign(block=loc.loc[w["vid"], "block_id"].to_numpy())
    k = len(model_ids)
    cov = np.zeros((k, k))
    col = {m: i for i, m in enumerate(model_ids)}
    for block, wb in w.groupby("block"):
        ids = pd.unique(wb["vid"])
        var, r = read_block_ld(run.ld_dir, block, ids)
        sd = np.sqrt(2 * var["alt_freq"].to_numpy() * (1 - var["alt_freq"].to_numpy()))
        W = np.zeros((len(ids), k))
        rowi = pd.Index(ids).get_indexer(wb["vid"])
        np.add.at(W, (rowi, wb["model_id"].map(col).to_numpy()), wb["weight"].to_numpy() * wb["sign"].to_numpy())
        W *= sd[:, None]
        cov += W.T @ r.astype(float) @ W
    d = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    return cov / np.outer(d, d)


def focus_figures(run, out_dir, formats=("png", "svg")) -> list[str]:
    """Write ``<out_dir>/<block>.<population>.<fmt>`` for every block of the run's focus results.

    Parameters
    ----------
    run : locusflow.plots.data.RunResults
        The run; its focus dataset, TWAS gene positions (else the model's transcript midpoint), weights and
        LD matrices (for Omega, :func:`predicted_expression_corr`) are read.
    out_dir : str or Path
        Output directory (``:`` in block ids becomes ``_`` in file names).
    formats : sequence of str
        Any of ``png``, ``svg``, ``pdf``.

    Returns
    -------
    list of str
        Paths written (none when the run has no focus results).
    """
    res = run.table("focus")
    if res is None or not len(res):
        return []
    tg = run.twas_genes()
    pos = tg.drop_duplicates("model_id").set_index("model_id")["pos"] if tg is not None else pd.Series(dtype=float)
    res = res[res["population"] != "me"].assign(pos=lambda d: d["model_id"].map(pos))
    res["pos"] = res["pos"].fillna((res["tx_start"] + res["tx_stop"]) / 2)
    paths = []
    for (block, popn), rows in res.groupby(["block_id", "population"], sort=False):
        genes = rows[rows["model_id"] != "NULL.MODEL"].sort_values("pos", na_position="last", kind="stable")
        omega = predicted_expression_corr(run, list(genes["model_id"]))
        fig = focus_figure(genes, omega, f"FOCUS {block} ({popn})")
        paths += save_figure(fig, Path(out_dir) / f"{block.replace(':', '_')}.{popn}", formats)
    return paths


def plot_blocks(res: pd.DataFrame, pops: list, out, params: dict) -> int:
    """FOCUS figures of a ``focus(...)`` result: ``<out>/<block_id>.<population>.{png,pdf}`` per block.

    Omega is the one FOCUS itself used (:func:`locusflow.focus.block_details`, recomputed from the
    populations' inputs), so the figure shows exactly the model that was fitted.

    Parameters
    ----------
    res : pandas.DataFrame
        ``focus_results`` rows.
    pops : list of dict
        The populations FOCUS ran on (store, sumstats, weights, samples, name).
    out : str or Path
        Output folder.
    params : dict
        The FOCUS parameters of the run (prior, ridge, ...).

    Returns
    -------
    int
        Number of files written.
    """
    from ..focus import block_details
    out = Path(out)
    n = 0
    for bid, rows in res.groupby("block_id", sort=False):  # loop over blocks
        chrom, span = bid.rsplit(":", 1)
        start, stop = (int(s) for s in span.split("-"))
        names = [p for p in rows["population"].unique() if p != "me"]
        for name, d in zip(names, block_details(pops, chrom, start, stop, **params)):
            genes = rows[(rows["population"] == name) & (rows["model_id"] != "NULL.MODEL")]
            genes = genes.set_index("model_id").loc[list(d["model_id"])].reset_index()
            genes["pos"] = (genes["tx_start"] + genes["tx_stop"]) / 2
            order = np.argsort(genes["pos"].to_numpy(), kind="stable")
            omega = np.asarray(d["wcor"])[np.ix_(order, order)]
            fig = focus_figure(genes.iloc[order], omega, f"FOCUS {bid} ({name})")
            n += len(save_figure(fig, out / f"{bid.replace(':', '_')}.{name}", ("png", "pdf")))
    return n
