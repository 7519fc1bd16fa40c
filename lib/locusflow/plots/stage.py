"""The ``plots`` stage: every figure of the run into ``<out>/plots`` with its plot_index.

Config section ``plots``::

    plots:
      formats: [png, svg]     # png, svg, pdf
      p_threshold: 5.0e-8     # loci: lead SNPs below it, Manhattan line
      flank: 500000           # loci: lead +- flank bp, leads farther apart than that
      max_loci: 20
"""
from __future__ import annotations

from ..config_schema import Key
from ..storage import local_dir
from ..pipeline import Context, Stage, register

CONFIG = {
    "formats": Key("list", ["png", "svg"], "file formats of every figure",
                   item=Key("str", choices=("png", "svg", "pdf"))),
    "p_threshold": Key("float", 5e-8, "loci are led by SNPs with p below it", gt=0, max=1),
    "flank": Key("int", 500_000, "bp either side of a locus' lead SNP", min=1),
    "max_loci": Key("int", 20, "most locus plots", min=0),
}
UPSTREAM = ("sumstats", "ld_matrices", "twas_results", "twas_weights", "finemap_snp", "finemap_cs", "focus_results",
            "variant_scores", "gpnxld_scores")


def upstream(cfg) -> list:
    """The published datasets a figure reads (those that exist).

    Parameters
    ----------
    cfg : dict
        The run's configuration (for :func:`locusflow.layout.dataset_path`).

    Returns
    -------
    list of Path
        Paths of the :data:`UPSTREAM` datasets that exist, in that order (the plots stage's inputs).
    """
    from ..layout import dataset_path
    from ..layout import DATASETS
    return [p for p in (dataset_path(cfg, d) for d in UPSTREAM if d in DATASETS) if p.exists()]


def _run(ctx: Context) -> dict:
    from .data import RunResults
    from .figures import plot_run, write_index
    sec = {k: v.default for k, v in CONFIG.items()} | ctx.section("plots")
    run = RunResults(ctx.out, build=ctx.cfg.get("genome_build"), paths=ctx.cfg.get("paths"))
    dest = ctx.path("plot_index").parent
    with local_dir(dest) as out:        # figures are files: drawn locally, uploaded whole to an object store
        idx = plot_run(run, out, formats=tuple(sec["formats"]), p_threshold=float(sec["p_threshold"]),
                       flank=int(sec["flank"]), max_loci=int(sec["max_loci"]))
        write_index(idx, out)
    kinds = idx.drop_duplicates("name")["kind"].value_counts().to_dict() if len(idx) else {}
    return {"figures": int(idx["name"].nunique()) if len(idx) else 0, "files": len(idx), "by_kind": kinds}


register(Stage("plots", _run, inputs=upstream, config=CONFIG, reads=UPSTREAM))
