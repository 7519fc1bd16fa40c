"""``locusflow serve RESULTS_DIR``: a local web app over a run's Parquet results (read in place with pyarrow).

Pages: ``/`` (search, Manhattan plots, top loci), ``/search?q=`` (gene, rsid, chrom:pos:ref:alt or region ->
locus view), ``/locus?region=&lead=`` (hoverable association track and DNA-LM tracks when the run has scores,
zoom/pan links, the full locus plot, SNP and gene tables), ``/embedding?color=p|llr&q=`` (2-D PCA of DNA-LM
variant embeddings when present), ``/table/<dataset>?q=&sort=&desc=&limit=&format=tsv`` (filter, sort, download),
``/files/<path>`` (files under the results directory only; anything resolving outside it is refused),
``/report`` (report.html). Binds 127.0.0.1 by default. A malformed query gets a 400 page saying what was
expected, an unknown name a 404, an unexpected failure a 500 page with one line: never a traceback.
"""
from __future__ import annotations

import io
import threading
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd

from ..plots.common import LD_BINS, LD_COLOURS, neglog10
from ..plots.data import DATASETS, RunResults
from ..schema import load
from ..plots.embedding import embedding_points
from ..plots.figures import top_loci
from ..plots.locus import locus_data, locus_figure
from ..plots.manhattan import manhattan
from ..errors import InputError
from .html import esc, fmt, page, table
from .text import EXPLAIN
from .query import QueryError, filter_sort, parse_region, resolve

TABLES = {"sumstats": "sumstats", "twas": "twas", "focus": "focus", "credible_sets": "finemap_cs",
          "finemap_snps": "finemap_snp", "finemap_blocks": "finemap_blocks", "variant_scores": "variant_scores",
          "gpnxld": "gpnxld"}
_DRAW = threading.Lock()          # matplotlib is not thread-safe


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _frame(svg_id, chrom, start, stop, lo, hi, ylabel, width, height, ticks):
    """SVG head, y grid and label, Mb ticks of a track; returns (parts, sx, sy)."""
    pad_l, pad_b, pad_t = 50, 30, 12
    sx = lambda pos: pad_l + (pos - start) / max(stop - start, 1) * (width - pad_l - 10)  # noqa: E731
    sy = lambda v: pad_t + (1 - (v - lo) / (hi - lo)) * (height - pad_t - pad_b)  # noqa: E731
    parts = [f"<svg id='{svg_id}' class='track' viewBox='0 0 {width} {height}' width='100%' "
             f"xmlns='http://www.w3.org/2000/svg' style='background:#fff;border:1px solid #eaeef2;cursor:crosshair' "
             f"data-start='{start}' data-stop='{stop}' data-chrom='{chrom}' data-left='{pad_l}' "
             f"data-right='{width - 10}' data-width='{width}'>"
             f"<rect class='brush' x='0' y='0' width='0' height='{height}' fill='#6baed6' opacity='0.25'/>"]
    for v in ticks:
        parts.append(f"<line x1='{pad_l}' x2='{width - 10}' y1='{sy(v):.1f}' y2='{sy(v):.1f}' stroke='#eee'/>"
                     f"<text x='{pad_l - 6}' y='{sy(v) + 4:.1f}' font-size='11' text-anchor='end'>{fmt(float(v))}</text>")
    parts.append(f"<text x='14' y='{height / 2}' font-size='12' transform='rotate(-90 14 {height / 2})' "
                 f"text-anchor='middle'>{esc(ylabel)}</text>")
    for k in range(5):
        pos = start + k * (stop - start) / 4
        anchor = {0: "start", 4: "end"}.get(k, "middle")
        parts.append(f"<text x='{sx(pos):.1f}' y='{height - 10}' font-size='11' text-anchor='{anchor}'>{pos / 1e6:.3f} Mb</text>")
    return parts, sx, sy


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round tick values in [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of ten).

    Parameters
    ----------
    lo, hi : float
        The axis range (lo < hi).
    n : int
        Ticks wanted, roughly.

    Returns
    -------
    numpy.ndarray
        Multiples of the step inside the range (0 among them when the range holds it).
    """
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10.0 ** np.floor(np.log10(raw)) if raw > 0 else 1.0
    step = mag * next(m for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step


def _tip(r) -> str:
    tip = f"{r.label} {r.variant_id}\np = {fmt(float(r.p))}\nr2 = {fmt(getattr(r, 'r2', np.nan))}"
    for col, name in (("pip", "PIP"), ("llr", "DNA-LM LLR"), ("gpnxld", "GPNxLD")):
        if hasattr(r, col):
            tip += f"\n{name} = {fmt(getattr(r, col))}"
    return tip


def _lead_mark(cx, cy, tip, label) -> str:
    return (f"<path class='snp lead' d='M{cx:.1f} {cy - 8:.1f} l8 8 l-8 8 l-8 -8 z' fill='#7b2d8e' stroke='black'>"
            f"<title>{esc(tip)}</title></path><text x='{cx + 10:.1f}' y='{cy - 4:.1f}' font-size='12' "
            f"font-weight='bold' stroke='white' stroke-width='3' paint-order='stroke'>{esc(str(label))}</text>")


def assoc_svg(snps: pd.DataFrame, chrom: str, start: int, stop: int, lead: str | None, width=960, height=300) -> str:
    """The association track as inline SVG: one circle per SNP coloured by r^2, a tooltip (rsid, variant, p,
    r^2, PIP, DNA-LM scores) on hover, the lead SNP as a purple diamond; dragging across it zooms to that range
    (:data:`ZOOM_JS`).

    Parameters
    ----------
    snps : DataFrame
        The region's SNPs: ``pos``, ``p``, ``variant_id``, ``label`` (shown name), optional ``r2`` (to the
        lead; missing or NaN is grey), ``pip``, ``llr`` and ``gpnxld`` (added to the tooltip when present).
    chrom : str
        Chromosome, stored on the ``<svg>`` for the zoom script.
    start, stop : int
        The x range in bp.
    lead : str or None
        variant_id drawn as the lead diamond (labelled, on top); None for no lead.
    width, height : int, optional
        The SVG's viewBox size in user units.

    Returns
    -------
    str
        An ``<svg id='assoc'>`` element: -log10(p) axis up to at least 8 (10% headroom), a dashed
        genome-wide line at p = 5e-8, five Mb ticks, SNPs coloured by the LocusZoom r^2 bins
        (:data:`locusflow.plots.common.LD_BINS`).

    References
    ----------
    Pruim RJ et al. (2010) LocusZoom: regional visualization of genome-wide association scan results.
    Bioinformatics 26:2336-2337 (the r^2 colour bins and lead diamond).
    """
    y = neglog10(snps["p"]) if len(snps) else np.zeros(0)
    ymax = max(8.0, float(y.max()) if len(y) else 1.0) * 1.1
    parts, sx, sy = _frame("assoc", chrom, start, stop, 0.0, ymax, "-log10(p)", width, height,
                           range(0, int(ymax) + 1, max(1, int(ymax) // 5)))
    gw = sy(-np.log10(5e-8))
    parts.append(f"<line x1='50' x2='{width - 10}' y1='{gw:.1f}' y2='{gw:.1f}' stroke='#c0392b' stroke-dasharray='4 3'/>")
    last = []
    for r, yy in zip(snps.itertuples(), y):
        r2 = getattr(r, "r2", np.nan)
        col = "#bbbbbb" if not np.isfinite(r2) else LD_COLOURS[min(int(np.searchsorted(LD_BINS, r2, side="right")) - 1, 4)]
        cx, cy = sx(r.pos), sy(yy)
        if r.variant_id == lead:
            last.append(_lead_mark(cx, cy, _tip(r), r.label))
        else:
            parts.append(f"<circle class='snp' cx='{cx:.1f}' cy='{cy:.1f}' r='2.6' fill='{col}'><title>{esc(_tip(r))}</title></circle>")
    parts += last                      # the lead on top
    parts.append("</svg>")
    return "".join(parts)


def score_svg(snps: pd.DataFrame, col: str, chrom: str, start: int, stop: int, lead: str | None, width=960,
              height=170) -> str:
    """A DNA-LM track (``llr`` or ``gpnxld``) as inline SVG on the association track's x axis: one circle per
    scored SNP (credible-set SNPs red), hover for the same tooltip, the lead as a diamond, drag to zoom.

    Parameters
    ----------
    snps : DataFrame
        As :func:`assoc_svg`, with column ``col``.
    col : {"llr", "gpnxld"}
        The score drawn.
    chrom, start, stop, lead, width, height
        As :func:`assoc_svg`.

    Returns
    -------
    str
        An ``<svg id='track-<col>'>`` element (LLR axis symmetric about 0, with a line at 0).
    """
    v = snps[col].to_numpy(float)
    ok = np.isfinite(v)
    top = float(np.abs(v[ok]).max()) * 1.1 if ok.any() else 1.0
    lo, hi = (-top, top) if col == "llr" else (0.0, max(top, 1e-9))
    label = "LLR (nats)" if col == "llr" else "GPNxLD"
    parts, sx, sy = _frame(f"track-{col}", chrom, start, stop, lo, hi, label, width, height, nice_ticks(lo, hi))
    if col == "llr":
        parts.append(f"<line x1='50' x2='{width - 10}' y1='{sy(0):.1f}' y2='{sy(0):.1f}' stroke='#888'/>")
    cs = snps["cs"].fillna("").to_numpy() if "cs" in snps else np.full(len(snps), "")
    last = []
    for r, val, c, good in zip(snps.itertuples(), v, cs, ok):
        if not good:
            continue
        cx, cy = sx(r.pos), sy(val)
        if r.variant_id == lead:
            last.append(_lead_mark(cx, cy, _tip(r), r.label))
        else:
            parts.append(f"<circle class='score' cx='{cx:.1f}' cy='{cy:.1f}' r='{3.2 if c else 2.4}' "
                         f"fill='{'#e41a1c' if c else '#8c8c8c'}'><title>{esc(_tip(r))}</title></circle>")
    parts += last
    parts.append("</svg>")
    return "".join(parts)


def embedding_svg(pts: pd.DataFrame, colour: str, explained, highlight=(), width=900, height=620) -> str:
    """The embedding scatter as inline SVG: a circle per variant linking to its locus, coloured by GWAS
    -log10 p (sequential, 5 bins) or LLR (diverging, 5 bins), with a tooltip; highlighted rows drawn large, last.

    Parameters
    ----------
    pts : DataFrame
        :func:`locusflow.plots.embedding.embedding_points`' ``points``.
    colour : {"p", "llr"}
        What the colour shows.
    explained : sequence of float
        Variance fractions of PC1 and PC2 (axis labels).
    highlight : sequence of int
        Row labels of ``pts`` to emphasise.
    width, height : int
        viewBox size.

    Returns
    -------
    str
        ``<svg id='embedding'>`` with one ``a > circle.emb`` per row and a legend of the colour bins.
    """
    pad = 50
    x, y = pts["pc1"].to_numpy(float), pts["pc2"].to_numpy(float)
    rx = (x.min(), x.max()) if len(x) else (0.0, 1.0)
    ry = (y.min(), y.max()) if len(y) else (0.0, 1.0)
    sx = lambda v: pad + (v - rx[0]) / max(rx[1] - rx[0], 1e-12) * (width - 2 * pad - 150)  # noqa: E731
    sy = lambda v: height - pad - (v - ry[0]) / max(ry[1] - ry[0], 1e-12) * (height - 2 * pad)  # noqa: E731
    if colour == "p":
        val, edges, names = neglog10(pts["p"].to_numpy(float)), [2, 4, 6, 7.3], "GWAS -log10 p"
        cols = ["#d9d9d9", "#9ecae1", "#4292c6", "#08519c", "#e6550d"]
    else:
        val, edges, names = pts["llr"].to_numpy(float), [-1.5, -0.5, 0.5, 1.5], "DNA-LM LLR (nats)"
        cols = ["#b2182b", "#ef8a62", "#e0e0e0", "#67a9cf", "#2166ac"]
    binned = np.where(np.isfinite(val), np.searchsorted(edges, np.nan_to_num(val), side="right"), -1)
    parts = [f"<svg id='embedding' viewBox='0 0 {width} {height}' width='100%' xmlns='http://www.w3.org/2000/svg' "
             f"style='background:#fff;border:1px solid #eaeef2;max-width:{width}px'>",
             f"<text x='{(width - 150) / 2}' y='{height - 12}' font-size='12' text-anchor='middle'>PC1 "
             f"({explained[0]:.0%} of variance)</text>",
             f"<text x='14' y='{height / 2}' font-size='12' transform='rotate(-90 14 {height / 2})' "
             f"text-anchor='middle'>PC2 ({explained[1]:.0%} of variance)</text>"]
    hi = set(highlight)
    last = []
    for i, r in enumerate(pts.itertuples()):
        tip = f"{r.label} {r.variant_id}\np = {fmt(float(r.p))}\nDNA-LM LLR = {fmt(float(r.llr))}"
        href = f"/locus?region={r.chrom}:{max(1, int(r.pos) - 250_000)}-{int(r.pos) + 250_000}&lead={urllib.parse.quote(r.variant_id)}"
        big = r.Index in hi
        el = (f"<a href='{esc(href)}'><circle class='emb{' hit' if big else ''}' cx='{sx(r.pc1):.1f}' cy='{sy(r.pc2):.1f}' "
              f"r='{8 if big else 3}' fill='{'#7b2d8e' if big else (cols[binned[i]] if binned[i] >= 0 else '#ffffff')}' "
              f"stroke='{'black' if big else '#555'}' stroke-width='{1.5 if big else 0.3}'><title>{esc(tip)}</title></circle></a>")
        (last if big else parts).append(el)
    parts += last
    lab = [f"&lt; {edges[0]}"] + [f"{a} to {b}" for a, b in zip(edges[:-1], edges[1:])] + [f"&#8805; {edges[-1]}"]
    lx = width - 140
    parts.append(f"<text x='{lx}' y='30' font-size='12' font-weight='bold'>{names}</text>")
    for k, (c, t) in enumerate(zip(cols, lab)):
        parts.append(f"<circle cx='{lx + 6}' cy='{48 + 18 * k}' r='5' fill='{c}' stroke='#555' stroke-width='0.3'/>"
                     f"<text x='{lx + 16}' y='{52 + 18 * k}' font-size='11'>{t}</text>")
    parts.append("</svg>")
    return "".join(parts)


class App:
    """The web app's state: the run, its results root and rendered-image cache.

    Parameters
    ----------
    root : str or Path
        Results directory (``--out`` of a run).
    """

    def __init__(self, root):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise InputError(root, "a results directory (the --out of a locusflow run)")
        self.run = RunResults(self.root)
        self.cache: dict = {}

    # pages ------------------------------------------------------------------------------------------
    def home(self, params) -> str:
        g = self.run.gwas()
        loci = top_loci(g) if g is not None else pd.DataFrame()
        rows = "".join(f"<li><a href='/locus?region={r.chrom}:{r.start}-{r.stop}&lead={urllib.parse.quote(r.lead_variant)}'>"
                       f"{esc(str(r.lead_label))}</a> {esc(r.lead_variant)}, p = {fmt(r.lead_p)}</li>" for r in loci.itertuples())
        tabs = " ".join(f"<a href='/table/{t}'>{t}</a>" for t, d in TABLES.items() if self.run.has(d))
        if self.run.embeddings() is not None:
            tabs += " · <a id='emb-link' href='/embedding'>DNA-LM embeddings</a>"
        rep = " · <a href='/report'>report.html</a>" if (self.root / "report.html").exists() else ""
        imgs = "".join(f"<figure><img src='/img/manhattan.png?what={w}' alt='{w} Manhattan plot'>"
                       f"<figcaption>{w.upper()} Manhattan plot</figcaption></figure>"
                       for w, d in (("gwas", "sumstats"), ("twas", "twas")) if self.run.has(d))
        return self._page("locusflow results", f"<section><h2>Search</h2>{SEARCH_FORM}</section>"
                          f"<section id='loci'><h2>Top loci</h2><ul>{rows or '<li>none with p &lt; 5e-8</li>'}</ul>"
                          f"<p>Tables: {tabs}{rep}</p></section><section><h2>Genome-wide</h2>{imgs}</section>")

    def search(self, params) -> tuple[int, dict, str]:
        hit = resolve(params.get("q", ""), self.run)
        loc = f"/locus?region={hit['chrom']}:{hit['start']}-{hit['stop']}&q={urllib.parse.quote(params.get('q', ''))}"
        if hit["lead"]:
            loc += f"&lead={urllib.parse.quote(hit['lead'])}"
        return 302, {"Location": loc}, ""

    def locus(self, params) -> str:
        chrom, start, stop = parse_region(params.get("region", ""))
        lead = params.get("lead") or None
        data = locus_data(self.run, chrom, start, stop, lead=lead, build=self.run.build)
        if lead and data["lead"] != lead:
            raise QueryError(f"lead variant {lead} is not in this run's summary statistics", 404)
        snps, lead = data["snps"], data["lead"]
        span = stop - start
        nav = " ".join(f"<a class='zoom' href='/locus?region={chrom}:{max(1, int(a))}-{int(b)}"
                       f"{'&lead=' + urllib.parse.quote(lead) if lead else ''}'>{t}</a>" for t, a, b in (
                           ("&larr; left", start - span / 2, stop - span / 2), ("zoom in", start + span / 4, stop - span / 4),
                           ("zoom out", start - span / 2, stop + span / 2), ("right &rarr;", start + span / 2, stop + span / 2)))
        q = params.get("q")
        head = f"<p class='muted'>search <b>{esc(q)}</b></p>" if q else ""
        cols = [c for c in ("label", "variant_id", "pos", "p", "r2", "pip", "cs", "llr", "gpnxld") if c in snps]
        tab = snps.sort_values("p")[cols].rename(columns={"label": "rsid"})
        genes = data["genes"][["gene_name", "chrom", "start", "stop", "strand"]]
        foc = data["focus"]
        tw = self.run.twas_genes()
        if foc is not None:
            z = tw.drop_duplicates("model_id").set_index("model_id")["zscore"] if tw is not None else pd.Series(dtype=float)
            foc = foc.assign(**{"TWAS stage z": foc["model_id"].map(z)}).drop(columns=["model_id"]).rename(
                columns={"twas_z": "FOCUS z (ridge-adjusted)"}).sort_values("pip", ascending=False)
        twr = tw[(tw["chrom"] == chrom) & (tw["tx_stop"] >= start) & (tw["tx_start"] <= stop)][
            ["label", "tissue", "zscore", "pvalue", "n_snps_used"]] if tw is not None else pd.DataFrame()
        lead_txt = ""
        if lead is not None and (snps["variant_id"] == lead).any():
            lr = snps[snps["variant_id"] == lead].iloc[0]
            lead_txt = f" · lead SNP <b id='lead'>{esc(str(lr['label']))}</b> ({esc(lead)}, p = {fmt(float(lr['p']))})"
        scale = params.get("y", "logp")
        if scale not in ("logp", "z"):
            raise QueryError(f"y must be logp or z, not {scale!r}")
        img = f"/img/locus.png?region={chrom}:{start}-{stop}&y={scale}" + (f"&lead={urllib.parse.quote(lead)}" if lead else "")
        other = "z" if scale == "logp" else "logp"
        toggle = f"<a id='scale' href='/locus?{urllib.parse.urlencode({**params, 'y': other})}'>show {'signed z' if other == 'z' else '-log10 p'}</a>"
        tracks = "".join(f"<h3>{title}</h3><p class='explain'>{why}</p>{score_svg(snps, c, chrom, start, stop, lead)}"
                         for c, title, why in DNALM_TRACKS if c in snps and snps[c].notna().any())
        tracks = f"<div id='dnalm-tracks'>{tracks}</div>" if tracks else ""
        body = (f"<section><h2 id='locus-title'>Locus {chrom}:{start:,}-{stop:,}</h2>{head}<p><span id='n-snps'>{len(snps):,}</span> SNPs"
                f"{lead_txt}</p><p>{nav}</p>{SEARCH_FORM}"
                f"<p class='muted'>Hover a point for its rsid, p, r<sup>2</sup> with the lead, PIP and DNA-LM scores; drag across a track "
                f"to zoom into that range.</p>"
                f"{assoc_svg(snps, chrom, start, stop, lead)}{tracks}{ZOOM_JS}</section>"
                f"<section><h2>TWAS genes here</h2><p class='explain'>{EXPLAIN['twas_here']}</p>"
                f"{table(twr, 'locus-twas')}</section>"
                + (f"<section><h2>FOCUS genes here</h2><p class='explain'>{EXPLAIN['focus_here']}</p>"
                   f"{table(foc, 'locus-focus')}</section>" if foc is not None else "")
                + f"<section><h2>Locus plot</h2><p>{toggle}</p><img src='{img}' alt='locus plot' style='max-width:100%'></section>"
                f"<section><h2>SNPs</h2>{table(tab, 'locus-snps', max_rows=300)}</section>"
                f"<section><h2>Genes (GENCODE)</h2>{table(genes, 'locus-genes')}</section>")
        return self._page(f"locus {chrom}:{start}-{stop}", body)

    def embedding(self, params) -> str:
        """The embedding view: a 2-D PCA projection of the run's DNA-LM variant embeddings, coloured by GWAS
        -log10 p or by LLR; hover for the variant, click for its locus; ``q`` highlights a variant or rsid."""
        colour = params.get("color", "p")
        if colour not in ("p", "llr"):
            raise QueryError(f"color must be p or llr, not {colour!r}")
        try:
            limit = int(params.get("limit", "4000"))
        except ValueError:
            raise QueryError(f"limit must be a whole number, not {params.get('limit')!r}") from None
        if not 2 <= limit <= 50_000:
            raise QueryError("limit must be between 2 and 50000")
        data = embedding_points(self.run, max_points=limit)
        if data is None:
            raise QueryError("this run has no DNA-LM variant embeddings (the score_variants stage writes them "
                             "in variant_scores' emb_delta column when asked to)", 404)
        q = params.get("q", "").strip()
        pts = data["points"]
        hit = pts.index[(pts["variant_id"] == q) | (pts["label"].astype(str).str.lower() == q.lower())] if q else []
        if q and not len(hit):
            raise QueryError(f"{q!r} is not among the {len(pts):,} variants shown", 404)
        other = "llr" if colour == "p" else "p"
        toggle = f"<a id='colour' href='/embedding?{urllib.parse.urlencode({**params, 'color': other})}'>colour by " \
                 f"{'DNA-LM LLR' if other == 'llr' else 'GWAS -log10 p'}</a>"
        form = ("<form action='/embedding' id='emb-form'><input id='emb-q' name='q' size='30' placeholder='variant or rsid "
                f"to highlight' value='{esc(q)}'><input type='hidden' name='color' value='{colour}'> <button>show</button></form>")
        ex = data["explained"]
        body = (f"<section><h2 id='emb-title'>DNA-LM variant embeddings</h2><p class='explain'>Each point is a variant: "
                f"the difference between the model's mean-pooled hidden states of the alt and the ref sequence "
                f"(emb_delta, score_variants stage), projected on its first two principal components (PC1 "
                f"{ex[0]:.0%}, PC2 {ex[1]:.0%} of the variance over all <span id='emb-n'>{data['n']:,}</span> embedded "
                f"variants). Variants close together change the sequence representation alike. Showing the "
                f"<span id='emb-shown'>{len(pts):,}</span> with the smallest GWAS p; hover for the variant, click "
                f"for its locus.</p><p>{toggle}</p>{form}{embedding_svg(pts, colour, ex, hit)}</section>")
        return self._page("embeddings", body)

    def table_page(self, name: str, params) -> tuple[int, dict, str | bytes]:
        if name not in TABLES or not self.run.has(TABLES[name]):
            have = [t for t, d in TABLES.items() if self.run.has(d)]
            raise QueryError(f"no table {name!r} in this run; tables: {', '.join(have)}", 404)
        df = self.run.table(TABLES[name])
        try:
            limit = int(params.get("limit", "500"))
        except ValueError:
            raise QueryError(f"limit must be a whole number, not {params.get('limit')!r}") from None
        rows, n = filter_sort(df, text=params.get("q", ""), sort=params.get("sort") or None,
                              desc=params.get("desc") in ("1", "true"), limit=limit)
        if params.get("format") == "tsv":
            return 200, {"Content-Type": "text/tab-separated-values; charset=utf-8",
                         "Content-Disposition": f"attachment; filename={name}.tsv"}, rows.to_csv(sep="\t", index=False)
        opts = "".join(f"<option{' selected' if c == params.get('sort') else ''}>{esc(c)}</option>" for c in df.columns)
        form = (f"<form action='/table/{name}'><input name='q' value='{esc(params.get('q', ''))}' placeholder='contains'> "
                f"sort <select name='sort'><option></option>{opts}</select> <label><input type='checkbox' name='desc' value='1'"
                f"{' checked' if params.get('desc') else ''}> descending</label> <button>apply</button> "
                f"<a href='/table/{name}?{urllib.parse.urlencode({**params, 'format': 'tsv', 'limit': 100000})}'>download TSV</a></form>")
        sch = load(DATASETS[TABLES[name]][1])           # what the table holds: its contract in schemas/
        cols = {c.name: f"{c.description or c.type}" + (f" ({c.unit})" if c.unit else "") for c in sch.columns}
        body = (f"<section><h2>{esc(name)}</h2><p class='explain' id='table-meaning'>{esc(sch.description.strip())} "
                f"Rest the pointer on a column header for its meaning.</p>"
                + (f"<p class='explain'>{EXPLAIN['focus_here']}</p>" if name == "focus" else "") + f"{form}<p id='match-count'>{n:,} matching rows</p>"
                f"{table(rows, 'tbl', titles=cols)}</section>")
        return 200, {}, self._page(f"table {name}", body)

    def image(self, kind: str, params) -> bytes:
        key = (kind, tuple(sorted(params.items())))
        if key not in self.cache:
            with _DRAW:
                if kind == "manhattan.png":
                    what = params.get("what", "gwas")
                    if what not in ("gwas", "twas"):
                        raise QueryError("what must be gwas or twas")
                    df = self.run.gwas() if what == "gwas" else self.run.twas_genes()
                    if df is None:
                        raise QueryError(f"this run has no {what} results", 404)
                    thr = 5e-8 if what == "gwas" else 0.05 / max(int(df["p"].notna().sum()), 1)
                    fig = manhattan(df, label="label", threshold=thr, what="variants" if what == "gwas" else "genes",
                                    title=what.upper())
                else:
                    chrom, start, stop = parse_region(params.get("region", ""))
                    scale = params.get("y", "logp")
                    if scale not in ("logp", "z"):
                        raise QueryError(f"y must be logp or z, not {scale!r}")
                    fig = locus_figure(locus_data(self.run, chrom, start, stop, lead=params.get("lead") or None,
                                                  build=self.run.build), y=scale)
                self.cache[key] = _png(fig)
        return self.cache[key]

    def file(self, rel: str) -> Path:
        """A file under the results directory; anything resolving outside it is refused (403)."""
        p = (self.root / urllib.parse.unquote(rel)).resolve()
        if not p.is_relative_to(self.root):
            raise QueryError("refused: path outside the results directory", 403)
        if not p.is_file():
            raise QueryError(f"no file {rel!r} in the results directory", 404)
        return p

    def _page(self, title, body) -> str:
        return page(title, str(self.root), [("home", "/"), ("top loci", "/#loci"), ("report", "/report")], body)


ZOOM_JS = """<script>
document.querySelectorAll('svg.track').forEach(function(s){const b=s.querySelector('.brush');
const d=s.dataset,W=+d.width,L=+d.left,R=+d.right,a=+d.start,z=+d.stop;let x0=null;
const vx=e=>{const r=s.getBoundingClientRect();return (e.clientX-r.left)/r.width*W};
const pos=x=>Math.round(a+(Math.min(Math.max(x,L),R)-L)/(R-L)*(z-a));
s.addEventListener('mousedown',e=>{x0=vx(e);b.setAttribute('x',x0);b.setAttribute('width',0);e.preventDefault()});
s.addEventListener('mousemove',e=>{if(x0===null)return;const x=vx(e);b.setAttribute('x',Math.min(x,x0));
b.setAttribute('width',Math.abs(x-x0))});
s.addEventListener('mouseup',e=>{if(x0===null)return;const x=vx(e),p=pos(Math.min(x,x0)),q=pos(Math.max(x,x0));x0=null;
if(q-p<1000)return;const u=new URL(location.href);u.searchParams.set('region',d.chrom+':'+p+'-'+q);location.href=u});
});</script>"""

DNALM_TRACKS = (
    ("llr", "DNA language model: LLR of each SNP",
     "GPN-style log-likelihood ratio log P(alt) - log P(ref) of the run's DNA language model at the masked site "
     "(score_variants stage; genome orientation). Negative: the model finds the alt allele less likely, "
     "putatively deleterious. Red: SNPs in a credible set."),
    ("gpnxld", "GPNxLD", "sum over the LD block of r<sup>2</sup> with each variant times its functional score "
     "a = max(0, -LLR) (gpnxld stage): high where a SNP tags many low-LLR variants."),
)

SEARCH_FORM = ("<form action='/search' id='search-form'><input id='q' name='q' size='40' placeholder='gene, rsid, "
               "chrom:pos:ref:alt or chrom:start-stop'> <button id='go'>search</button></form>")
