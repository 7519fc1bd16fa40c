"""``locusflow serve RESULTS_DIR``: a local web app over a run's Parquet results (read in place with pyarrow).

Pages: ``/`` (search, Manhattan plots, top loci), ``/search?q=`` (gene, rsid, chrom:pos:ref:alt or region ->
locus view), ``/locus?region=&lead=`` (hoverable association track, zoom/pan links, the full locus plot,
SNP and gene tables), ``/table/<dataset>?q=&sort=&desc=&limit=&format=tsv`` (filter, sort, download),
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
from ..plots.data import RunResults
from ..plots.figures import top_loci
from ..plots.locus import locus_data, locus_figure
from ..plots.manhattan import manhattan
from ..errors import InputError
from .html import esc, fmt, page, table
from .query import QueryError, filter_sort, parse_region, resolve

TABLES = {"sumstats": "sumstats", "twas": "twas", "focus": "focus", "credible_sets": "finemap_cs",
          "finemap_snps": "finemap_snp", "finemap_blocks": "finemap_blocks"}
_DRAW = threading.Lock()          # matplotlib is not thread-safe


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def assoc_svg(snps: pd.DataFrame, chrom: str, start: int, stop: int, lead: str | None, width=960, height=300) -> str:
    """The association track as inline SVG: one circle per SNP coloured by r^2, a tooltip (rsid, variant, p,
    r^2, PIP) on hover, the lead SNP as a purple diamond; dragging across it zooms to that range (:data:`ZOOM_JS`).

    Parameters
    ----------
    snps : DataFrame
        The region's SNPs: ``pos``, ``p``, ``variant_id``, ``label`` (shown name), optional ``r2`` (to the
        lead; missing or NaN is grey) and ``pip`` (added to the tooltip when the column is present).
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
    pad_l, pad_b, pad_t = 50, 30, 12
    y = neglog10(snps["p"]) if len(snps) else np.zeros(0)
    ymax = max(8.0, float(y.max()) if len(y) else 1.0) * 1.1
    sx = lambda pos: pad_l + (pos - start) / max(stop - start, 1) * (width - pad_l - 10)  # noqa: E731
    sy = lambda v: pad_t + (1 - v / ymax) * (height - pad_t - pad_b)  # noqa: E731
    parts = [f"<svg id='assoc' viewBox='0 0 {width} {height}' width='100%' xmlns='http://www.w3.org/2000/svg' "
             f"style='background:#fff;border:1px solid #eaeef2;cursor:crosshair' data-start='{start}' "
             f"data-stop='{stop}' data-chrom='{chrom}' data-left='{pad_l}' data-right='{width - 10}' data-width='{width}'>"
             f"<rect id='brush' x='0' y='0' width='0' height='{height}' fill='#6baed6' opacity='0.25'/>"]
    for v in range(0, int(ymax) + 1, max(1, int(ymax) // 5)):
        parts.append(f"<line x1='{pad_l}' x2='{width - 10}' y1='{sy(v):.1f}' y2='{sy(v):.1f}' stroke='#eee'/>"
                     f"<text x='{pad_l - 6}' y='{sy(v) + 4:.1f}' font-size='11' text-anchor='end'>{v}</text>")
    gw = sy(-np.log10(5e-8))
    parts.append(f"<line x1='{pad_l}' x2='{width - 10}' y1='{gw:.1f}' y2='{gw:.1f}' stroke='#c0392b' stroke-dasharray='4 3'/>")
    parts.append(f"<text x='14' y='{height / 2}' font-size='12' transform='rotate(-90 14 {height / 2})' "
                 f"text-anchor='middle'>-log10(p)</text>")
    for k in range(5):
        pos = start + k * (stop - start) / 4
        anchor = {0: "start", 4: "end"}.get(k, "middle")
        parts.append(f"<text x='{sx(pos):.1f}' y='{height - 10}' font-size='11' text-anchor='{anchor}'>{pos / 1e6:.3f} Mb</text>")
    last = []
    for r, yy in zip(snps.itertuples(), y):
        r2 = getattr(r, "r2", np.nan)
        col = "#bbbbbb" if not np.isfinite(r2) else LD_COLOURS[min(int(np.searchsorted(LD_BINS, r2, side="right")) - 1, 4)]
        tip = f"{r.label} {r.variant_id}\np = {fmt(float(r.p))}\nr2 = {fmt(r2)}" + (
            f"\nPIP = {fmt(getattr(r, 'pip'))}" if hasattr(r, "pip") else "")
        cx, cy = sx(r.pos), sy(yy)
        if r.variant_id == lead:
            last.append(f"<path class='snp lead' d='M{cx:.1f} {cy - 8:.1f} l8 8 l-8 8 l-8 -8 z' fill='#7b2d8e' stroke='black'>"
                         f"<title>{esc(tip)}</title></path><text x='{cx + 10:.1f}' y='{cy - 4:.1f}' font-size='12' "
                         f"font-weight='bold' stroke='white' stroke-width='3' paint-order='stroke'>{esc(str(r.label))}</text>")
        else:
            parts.append(f"<circle class='snp' cx='{cx:.1f}' cy='{cy:.1f}' r='2.6' fill='{col}'><title>{esc(tip)}</title></circle>")
    parts += last                      # the lead on top
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
        cols = [c for c in ("label", "variant_id", "pos", "p", "r2", "pip", "cs") if c in snps]
        tab = snps.sort_values("p")[cols].rename(columns={"label": "rsid"})
        genes = data["genes"][["gene_name", "chrom", "start", "stop", "strand"]]
        foc = data["focus"]
        tw = self.run.twas_genes()
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
        body = (f"<section><h2 id='locus-title'>Locus {chrom}:{start:,}-{stop:,}</h2>{head}<p><span id='n-snps'>{len(snps):,}</span> SNPs"
                f"{lead_txt}</p><p>{nav}</p>{SEARCH_FORM}"
                f"<p class='muted'>Hover a point for its rsid, p, r<sup>2</sup> with the lead and PIP; drag across the plot "
                f"to zoom into that range.</p>"
                f"{assoc_svg(snps, chrom, start, stop, lead)}{ZOOM_JS}</section>"
                f"<section><h2>TWAS genes here</h2>{table(twr, 'locus-twas')}</section>"
                + (f"<section><h2>FOCUS genes here</h2>{table(foc, 'locus-focus')}</section>" if foc is not None else "")
                + f"<section><h2>Locus plot</h2><p>{toggle}</p><img src='{img}' alt='locus plot' style='max-width:100%'></section>"
                f"<section><h2>SNPs</h2>{table(tab, 'locus-snps', max_rows=300)}</section>"
                f"<section><h2>Genes (GENCODE)</h2>{table(genes, 'locus-genes')}</section>")
        return self._page(f"locus {chrom}:{start}-{stop}", body)

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
        body = f"<section><h2>{esc(name)}</h2>{form}<p id='match-count'>{n:,} matching rows</p>{table(rows, 'tbl')}</section>"
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
(function(){const s=document.getElementById('assoc');if(!s)return;const b=document.getElementById('brush');
const d=s.dataset,W=+d.width,L=+d.left,R=+d.right,a=+d.start,z=+d.stop;let x0=null;
const vx=e=>{const r=s.getBoundingClientRect();return (e.clientX-r.left)/r.width*W};
const pos=x=>Math.round(a+(Math.min(Math.max(x,L),R)-L)/(R-L)*(z-a));
s.addEventListener('mousedown',e=>{x0=vx(e);b.setAttribute('x',x0);b.setAttribute('width',0);e.preventDefault()});
s.addEventListener('mousemove',e=>{if(x0===null)return;const x=vx(e);b.setAttribute('x',Math.min(x,x0));
b.setAttribute('width',Math.abs(x-x0))});
s.addEventListener('mouseup',e=>{if(x0===null)return;const x=vx(e),p=pos(Math.min(x,x0)),q=pos(Math.max(x,x0));x0=null;
if(q-p<1000)return;const u=new URL(location.href);u.searchParams.set('region',d.chrom+':'+p+'-'+q);location.href=u});
})();</script>"""

SEARCH_FORM = ("<form action='/search' id='search-form'><input id='q' name='q' size='40' placeholder='gene, rsid, "
               "chrom:pos:ref:alt or chrom:start-stop'> <button id='go'>search</button></form>")
