"""Stage `variant_annotation`: region class, genes and regulatory elements of scored variants.

Config section ``variant_annotation`` (defaults in brackets)::

    variant_annotation:
      variants: null        # score table / variant table [this run's variant_scores]
      annotation: null      # GTF or gene table [bundled GENCODE v18 GRCh37 protein-coding genes]
      regulatory: null      # BED of regulatory elements (name in column 4)
      fasta: null           # indexed FASTA the BED is checked against (contigs, lengths)
      promoter_up: 1000     # bp upstream of the TSS
      promoter_down: 100    # bp downstream of the TSS

Writes ``<out>/variant_annotation/annotation`` (dataset variant_annotation; one task per chromosome of
the variant_scores dataset, or one for a table file, writes its rows: :func:`annotate_unit`). See
:mod:`locusflow.dnalm.annotate`. CLI: ``locusflow dnalm annotate --out ROOT [--annotation GTF]
[--regulatory BED --fasta FA]``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..io.dataset import finish_fragments, read_dataset
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("dnalm")
CONFIG = {
    "variants": Key("path", None, "variant_scores dataset or a table with chrom, pos (tsv/csv/parquet) "
                    "[this run's score_variants output]"),
    "promoter_up": Key("int", 1000, "promoter window: bp upstream of the TSS", min=0),
    "annotation": Key("file", None, "GTF (.gtf[.gz]) or gene table [bundled GENCODE v18 GRCh37 genes]"),
    "promoter_down": Key("int", 100, "promoter window: bp downstream of the TSS", min=0),
    "regulatory": Key("file", None, "BED of regulatory elements (0-based; name in column 4)"),
    "fasta": Key("file", None, "indexed FASTA the BED is checked against"),
}


def read_variant_table(path, chrom: str | None = None) -> pd.DataFrame:
    """Variants (chrom, pos, optional variant_id / llr) from a dataset directory or a table file.

    Parameters
    ----------
    path : str or Path
        variant_scores dataset directory, ``.parquet``, ``.csv`` or tab-separated file.
    chrom : str, optional
        Only this chromosome's partition of a dataset directory (a table file is read whole).

    Returns
    -------
    DataFrame
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a variant_scores dataset or a table with chrom, pos: not found")
    if path.is_dir():
        return read_dataset(path, "variant_scores", columns=["variant_id", "chrom", "pos", "llr"],
                            filters=None if chrom is None else [("chrom", "==", str(chrom))])
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(
        path, sep="," if path.suffix == ".csv" else "\t", dtype={"chrom": str})
    for c in ("chrom", "pos"):
        if c not in df:
            raise InputError(path, "columns chrom and pos", column=c, value=list(df.columns))
    pos = pd.to_numeric(df["pos"], errors="coerce")
    if (pos.isna() | (pos < 1)).any():
        i = int((pos.isna() | (pos < 1)).to_numpy().argmax())
        raise InputError(path, "a 1-based integer position", row=i + 1, column="pos", value=df["pos"].iloc[i])
    return df.assign(pos=pos.astype("int64"))


def _variants(cfg) -> Path:
    sec = cfg.get("variant_annotation") or {}
    return Path(sec.get("variants") or dataset_path(cfg, "variant_scores"))


def annotate_unit(unit: dict, variants: str, annotation, regulatory, fasta, promoter_up: int,
                  promoter_down: int) -> pd.DataFrame:
    """Work unit: one chromosome of a variant_scores dataset (``unit["chrom"]``), or a whole table file
    (``unit["chrom"]`` None), annotated by :func:`locusflow.dnalm.annotate.annotate_variants`.

    Parameters
    ----------
    unit : dict
        ``chrom`` (str or None).
    variants : str
        The stage's variants (:func:`read_variant_table`).
    annotation, regulatory, fasta, promoter_up, promoter_down
        As :func:`~locusflow.dnalm.annotate.annotate_variants` (the annotation read once per process).

    Returns
    -------
    DataFrame
        Schema variant_annotation rows of the unit's variants, in input order.

    References
    ----------
    McLaren W et al. (2016) The Ensembl Variant Effect Predictor. Genome Biol 17:122.
    """
    from .annotate import annotate_variants
    return annotate_variants(read_variant_table(variants, unit.get("chrom")), _annotation(annotation), regulatory,
                             fasta=fasta, promoter_up=promoter_up, promoter_down=promoter_down)


@functools.lru_cache(maxsize=2)
def _annotation(path):
    from .annotate import read_annotation
    return read_annotation(path)


def _region_counts(frames: dict) -> dict:
    f = frames[""]
    return {**{f"region.{k}": int(n) for k, n in f["region"].value_counts().items()},
            "with_regulatory": int((f["n_regulatory"] > 0).sum())}


def _run(ctx: Context) -> dict:
    from ..engine.runner import run_worklist
    from .annotate import read_bed
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("variant_annotation").items()
                                                    if v is not None}
    path = _variants(ctx.cfg)
    if not path.exists():
        raise InputError(path, "a variant_scores dataset or a table with chrom, pos: not found")
    if not path.is_dir():
        read_variant_table(path)                        # a bad table stops the run before any task
    if o["regulatory"] is not None:
        read_bed(o["regulatory"], o["fasta"])           # a bad BED stops the run before any task
    # tasks annotate and write one chromosome each (executors write, issue 19); counts come back
    chroms = sorted(p.name.split("=", 1)[1] for p in path.glob("chrom=*")) if path.is_dir() else [None]
    units = [{"unit_id": c or "all", "chrom": c, "cost": 1.0} for c in chroms]
    where = str(ctx.path("variant_annotation"))
    index = run_worklist(units, annotate_unit, "variant_annotation", **ctx.runner_kwargs(), write_to=where,
                         stats=_region_counts, kwargs={"variants": str(path), **{k: o[k] for k in (
                             "annotation", "regulatory", "fasta", "promoter_up", "promoter_down")}})
    finish_fragments(where, "variant_annotation", index, manifest={"options": {k: str(x) for k, x in o.items()}})

    def total(c):
        return int(index[c].fillna(0).sum()) if c in index.columns else 0
    regions = {c[len("stat_region."):]: total(c) for c in index.columns if c.startswith("stat_region.")}
    summary = {"variants": total("rows")} | {f"region_{k}": n for k, n in sorted(regions.items(),
                                                                                  key=lambda kv: (-kv[1], kv[0])) if n}
    summary["with_regulatory"] = total("stat_with_regulatory")
    log.info("variant_annotation: %s", summary)
    return summary


register(Stage("variant_annotation", _run, inputs=lambda cfg: [_variants(cfg)], config=CONFIG))
