"""Stage `gpnxld`: LD-weighted DNA-LM scores, ``sum_k r_jk^2 a_k`` per variant of every stored LD block.

Config section ``gpnxld`` (defaults in brackets)::

    gpnxld:
      scores: null            # score table [this run's variant_scores, <out>/score_variants/scores]
      ld: null                # LD matrices directory [this run's, <out>/ld/matrices]
      column: llr             # score column
      transform: deleterious  # a = max(0, -llr) | abs | identity | negate

Writes ``<out>/gpnxld/scores`` (dataset gpnxld), one row per variant of each block's LD matrix; the
work units are the LD blocks (cost m^2), run on the configured engine. The summary counts blocks,
variants and the variants that had a score. See :mod:`locusflow.dnalm.priors`.
CLI: ``locusflow gpnxld --out ROOT`` (after ``ld`` and ``score-variants``).
"""
from __future__ import annotations

from pathlib import Path

from ..config_schema import Key
from ..io.dataset import finish_fragments
from ..io.scores import TRANSFORMS
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("dnalm")
CONFIG = {
    "scores": Key("path", None, "score table (variant_scores dataset, or Parquet/TSV with variant_id and the "
                  "column) [this run's score_variants output]"),
    "ld": Key("path", None, "LD matrices directory [this run's ld stage output]"),
    "column": Key("str", "llr", "score column"),
    "transform": Key("str", "deleterious", "score -> a: deleterious = max(0, -x), abs, identity, negate",
                     choices=tuple(TRANSFORMS)),
}


def _paths(cfg) -> dict:
    sec = cfg.get("gpnxld") or {}
    return {"scores": Path(sec.get("scores") or dataset_path(cfg, "variant_scores")),
            "ld": Path(sec.get("ld") or dataset_path(cfg, "ld_matrices"))}


def _run(ctx: Context) -> dict:
    from .priors import gpnxld_blocks
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("gpnxld").items() if v is not None}
    p = _paths(ctx.cfg)
    where = str(ctx.path("gpnxld_scores"))
    # each task writes its block's rows (executors write, issue 19); one index row per block comes back
    index = gpnxld_blocks(p["ld"], p["scores"], column=o["column"], transform=o["transform"], write_to=where,
                          **ctx.runner_kwargs())
    finish_fragments(where, "gpnxld", index, manifest={"options": {k: str(v) for k, v in o.items()}})
    has = index["rows"] > 0
    summary = {"blocks": int(has.sum()), "variants": int(index["rows"].sum()),
               "scored": int(index["stat_scored"].fillna(0).sum()) if "stat_scored" in index.columns else 0}
    log.info("gpnxld: %s", summary)
    return summary


def _inputs(cfg) -> list:
    p = _paths(cfg)
    return [p["scores"], p["ld"] / "index"]


register(Stage("gpnxld", _run, inputs=_inputs, config=CONFIG))
