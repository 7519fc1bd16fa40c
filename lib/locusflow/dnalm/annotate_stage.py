"""Stage `variant_annotation`: region class, genes and regulatory elements of scored variants.

Config section ``variant_annotation`` (defaults in brackets)::

    variant_annotation:
      variants: null        # score table / variant table [this run's variant_scores]
      annotation: null      # GTF or gene table [bundled GENCODE v18 GRCh37 protein-coding genes]
      regulatory: null      # BED of regulatory elements (name in column 4)
      fasta: null           # indexed FASTA the BED is checked against (contigs, lengths)
      promoter_up: 1000     # bp upstream of the TSS
      promoter_down: 100    # bp downstream of the TSS

Writes ``<out>/variant_annotation/annotation`` (dataset variant_annotation). See
:mod:`locusflow.dnalm.annotate`. CLI: ``locusflow dnalm annotate --out ROOT [--annotation GTF]
[--regulatory BED --fasta FA]``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..io.dataset import read_dataset, write_dataset
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


def read_variant_table(path) -> pd.DataFrame:
    """Variants (chrom, pos, optional variant_id / llr) from a dataset directory or a table file.

    Parameters
    ----------
    path : str or Path
        variant_scores dataset directory, ``.parquet``, ``.csv`` or tab-separated file.

    Returns
    -------
    DataFrame
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a variant_scores dataset or a table with chrom, pos: not found")
    if path.is_dir():
        return read_dataset(path, "variant_scores", columns=["variant_id", "chrom", "pos", "llr"])
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


def _run(ctx: Context) -> dict:
    from .annotate import annotate_variants
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("variant_annotation").items()
                                                    if v is not None}
    v = read_variant_table(_variants(ctx.cfg))
    out = annotate_variants(v, o["annotation"], o["regulatory"], fasta=o["fasta"],
                            promoter_up=o["promoter_up"], promoter_down=o["promoter_down"])
    write_dataset(out, ctx.path("variant_annotation"), "variant_annotation", mode="overwrite",
                  manifest={"options": {k: str(x) for k, x in o.items()}})
    summary = {"variants": len(out)} | {f"region_{k}": int(n) for k, n in out["region"].value_counts().items()}
    summary["with_regulatory"] = int((out["n_regulatory"] > 0).sum())
    log.info("variant_annotation: %s", summary)
    return summary


register(Stage("variant_annotation", _run, inputs=lambda cfg: [_variants(cfg)], config=CONFIG))
