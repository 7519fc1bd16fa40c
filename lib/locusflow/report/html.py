"""HTML building blocks shared by the report and ``serve``: escaped tables with sort/filter/TSV download,
figures as data URIs, and the page shell with inline CSS and JavaScript (no network needed)."""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#1f4e79;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
nav{background:#fff;border-bottom:1px solid #d8dee4;padding:8px 28px;position:sticky;top:0;z-index:2}
nav a{margin-right:16px;color:#1f4e79;text-decoration:none;font-size:14px}
main{padding:12px 28px 40px;max-width:1280px}
section{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 8px;color:#1f4e79}h3{font-size:15px;margin:14px 0 6px}
p.explain{background:#eef5fb;border-left:4px solid #6baed6;padding:8px 12px;font-size:13px;margin:6px 0 10px}
table.data{border-collapse:collapse;font-size:12.5px;width:100%}.scroll{overflow-x:auto}
table.data th{background:#eef1f4;cursor:pointer;text-align:left;padding:4px 8px;border-bottom:2px solid #c9d1d9;white-space:nowrap}
table.data td{padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
table.data tr:hover td{background:#fafbe6}
.tools{margin:6px 0;font-size:12.5px}.tools input{padding:3px 6px;width:260px}
.tools button{margin-left:8px}
figure{margin:10px 0}figure img{max-width:100%;border:1px solid #eaeef2}figcaption{font-size:12.5px;color:#57606a}
.grid{display:flex;flex-wrap:wrap;gap:16px}.grid figure{flex:0 1 480px}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#57606a;font-size:12.5px}
.error{background:#fde8e8;border-left:4px solid #c0392b;padding:8px 12px}
pre{background:#f6f8fa;padding:8px;font-size:12px;overflow:auto;max-height:360px}
"""

JS = """
function sortTable(th){const t=th.closest('table'),i=[...th.parentNode.children].indexOf(th),
b=t.tBodies[0],asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
const rows=[...b.rows];const key=r=>{const v=r.cells[i].dataset.v??r.cells[i].innerText;const n=parseFloat(v);
return isNaN(n)?v.toLowerCase():n};rows.sort((x,y)=>{const a=key(x),c=key(y);
return (a<c?-1:a>c?1:0)*(asc?1:-1)});rows.forEach(r=>b.appendChild(r));}
function filterTable(inp){const q=inp.value.toLowerCase(),t=document.getElementById(inp.dataset.table);
let n=0;for(const r of t.tBodies[0].rows){const s=r.innerText.toLowerCase().includes(q);r.style.display=s?'':'none';n+=s}
document.getElementById(inp.dataset.table+'-count').innerText=n+' rows shown';}
function downloadTSV(id){const t=document.getElementById(id),lines=[];
lines.push([...t.tHead.rows[0].cells].map(c=>c.innerText).join('\\t'));
for(const r of t.tBodies[0].rows){if(r.style.display==='none')continue;
lines.push([...r.cells].map(c=>(c.dataset.v??c.innerText).replace(/[\\t\\n]/g,' ')).join('\\t'))}
const a=document.createElement('a');a.href=URL.createObjectURL(new Blob([lines.join('\\n')+'\\n'],{type:'text/tab-separated-values'}));
a.download=id+'.tsv';document.body.appendChild(a);a.click();a.remove();}
"""

esc = html.escape


def fmt(v) -> str:
    """A cell value as text: floats with 4 significant digits (scientific below 1e-3), lists joined.

    Parameters
    ----------
    v : object
        A table cell: None, NaN or ``pd.NA`` (shown empty), a list, tuple or array (each item formatted,
        joined with ``", "``), a float (``%.3e`` when nonzero and below 1e-3 in absolute value, else
        ``%.4g``), or anything else (``str``).

    Returns
    -------
    str
        The text, not HTML-escaped.
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, (list, tuple, np.ndarray)):
        return ", ".join(fmt(x) for x in v)
    if isinstance(v, (float, np.floating)):
        return f"{v:.3e}" if v != 0 and abs(v) < 1e-3 else f"{v:.4g}"
    return str(v)


def table(df: pd.DataFrame, table_id: str, *, links: dict | None = None, max_rows: int | None = None,
          titles: dict | None = None) -> str:
    """An HTML table of ``df`` with a filter box, row count, sortable headers and a TSV download button.

    Parameters
    ----------
    df : DataFrame
        The rows to show, one column per table column (cells formatted by :func:`fmt`; numbers keep their
        full value in ``data-v`` for sorting and download).
    table_id : str
        Element id (also the downloaded file's name).
    links : dict, optional
        column -> function(row) returning an href; the cell becomes a link.
    max_rows : int, optional
        Rows shown (the rest are left out and said so).
    titles : dict, optional
        column -> what it means, shown when the pointer rests on its header (default "sort").

    Returns
    -------
    str
        HTML.
    """
    links = links or {}
    n = len(df)
    if max_rows is not None:
        df = df.head(max_rows)
    titles = titles or {}
    head = "".join(f"<th onclick='sortTable(this)' title='{esc(titles.get(c) or 'sort')}'>{esc(str(c))}</th>"
                   for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            text = esc(fmt(v))
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            attr = f" class='num' data-v='{esc(repr(float(v)))}'" if num and text else ""
            if c in links and text:
                text = f"<a href='{esc(links[c](row))}'>{text}</a>"
            cells.append(f"<td{attr}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f" (first {len(df):,} of {n:,})" if len(df) < n else ""
    return (f"<div class='tools'><input type='search' placeholder='filter rows' data-table='{table_id}' "
            f"oninput='filterTable(this)'><span class='muted' id='{table_id}-count'> {len(df):,} rows{more}</span>"
            f"<button onclick=\"downloadTSV('{table_id}')\">download TSV</button></div>"
            f"<div class='scroll'><table class='data' id='{table_id}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def data_uri(path) -> str:
    """``data:`` URI of a PNG or SVG file (so the page needs no other file).

    Parameters
    ----------
    path : str or Path
        A ``.png`` or ``.svg`` file (suffix case-insensitive); any other suffix raises ``KeyError``.

    Returns
    -------
    str
        ``data:image/png;base64,...`` or ``data:image/svg+xml;base64,...`` with the file's bytes.
    """
    p = storage.as_path(path)
    mime = {"png": "image/png", "svg": "image/svg+xml"}[p.suffix[1:].lower()]
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()}"


def figure(src: str, caption: str, anchor: str = "", link: str | None = None) -> str:
    """A ``<figure>`` with an image source (data URI or URL), a caption and an optional link to the vector file.

    Parameters
    ----------
    src : str
        The ``<img>`` source, inserted as is (a data URI from :func:`data_uri`, or a URL).
    caption : str
        Caption text, also the image's alt text (escaped).
    anchor : str, optional
        Element id of the ``<figure>`` (none when empty).
    link : str, optional
        href of a "vector (SVG)" link appended to the caption.

    Returns
    -------
    str
        HTML.
    """
    a = f" id='{esc(anchor)}'" if anchor else ""
    extra = f" <a href='{esc(link)}'>vector (SVG)</a>" if link else ""
    return f"<figure{a}><img src='{src}' alt='{esc(caption)}'><figcaption>{esc(caption)}{extra}</figcaption></figure>"


def page(title: str, subtitle: str, nav: list, body: str) -> str:
    """A complete HTML document with the inline CSS and JavaScript.

    Parameters
    ----------
    title : str
        Document title and header heading (escaped).
    subtitle : str
        Line under the heading (escaped).
    nav : list of (str, str)
        (text, href) pairs for the sticky navigation bar.
    body : str
        HTML placed in ``<main>`` as is.

    Returns
    -------
    str
        The HTML document, with :data:`CSS` and :data:`JS` inline (no external resources).
    """
    links = "".join(f"<a href='{esc(h)}'>{esc(t)}</a>" for t, h in nav)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style>"
            f"<script>{JS}</script></head><body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
            f"<nav>{links}</nav><main>{body}</main></body></html>")
