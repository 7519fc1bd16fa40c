"""The ``report`` stage: ``<out>/report/report.html``, one self-contained page for the run, and the link
``<out>/report.html`` to it. Figures come from the plots stage when it ran, else are drawn into the report's
own directory. Config section ``report``: no keys yet (``report: {}``)."""
from __future__ import annotations

import os

from .. import storage
from ..pipeline import Context, Stage, register
from ..plots.stage import UPSTREAM, upstream
from ..storage import local_dir

CONFIG: dict = {}


def _inputs(cfg) -> list:
    from ..layout import dataset_path
    extra = [dataset_path(cfg, d) for d in ("plot_index", "go_enrichment")]
    return upstream(cfg) + [p for p in extra if p.exists()]


def _run(ctx: Context) -> dict:
    from .build import build_report
    dest = ctx.path("report_html")
    with local_dir(dest.parent) as d:   # one file (and figures it drew): written locally, uploaded to an object store
        size = build_report(ctx.out, ctx.cfg, out=d / dest.name, plots_dir=d / "plots").stat().st_size
    if storage.is_remote(ctx.out):      # no links there: <out>/report/_CURRENT names the published version
        return {"report": storage.redact(dest), "bytes": size}
    link = ctx.out / "report.html"
    tmp = ctx.out / ".report.html.link"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.join("report", "report.html"), tmp)      # follows the published version
    os.replace(tmp, link)
    return {"report": str(link), "bytes": size}


register(Stage("report", _run, inputs=_inputs, config=CONFIG,
               reads=UPSTREAM + ("plot_index", "go_enrichment")))
