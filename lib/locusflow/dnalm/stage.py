"""Stage `score_variants`: DNA language-model scores of variants against a reference FASTA.

Config section ``score_variants`` (defaults in brackets)::

    score_variants:
      fasta: genome.fa.gz     # indexed FASTA (bgzip + .fai/.gzi, or plain + .fai) of the variants' build
      variants: null          # table with chrom, pos, ref, alt (tsv/csv/parquet) [this run's sumstats]
      region: null            # chrom:start-end: in-silico mutagenesis, every SNV of the region (no variants)
      model: null             # local model directory [the shipped GRCh37 chr20 model]; one with a
                              # tokenizer is a tokenised model (embedding distances, PLL; indels scored)
                              # one with finetune.json (dnalm finetune) gives ft_delta
      trust_remote_code: false   # run code shipped in the model directory (DNABERT-2)
      embeddings: false       # single-nucleotide model: also embedding distances
      delta: false            # also the embedding delta vector (emb_delta)
      window: 128             # bp around the site (site at window // 2)
      batch_size: 256         # windows per forward pass
      batch_variants: 4096    # variants per work unit (Spark task input)
      device: auto            # auto | cpu | cuda (auto: cuda when torch sees a GPU)
      dtype: auto             # auto | float32 | bfloat16 (auto: bf16 on CUDA)
      swapped: score          # score | reject: SNVs whose alt is the genome's base (scored reoriented)

Writes ``<out>/score_variants/scores`` (dataset variant_scores; each task writes its unit's rows, the
driver adds up their counts: :func:`score_stats`). The summary counts variants by status
(REF mismatches, indels, ... are reported and never scored; swapped SNVs are scored in the genome's
orientation and counted). On Spark each task scores whole work units
with the model loaded once per Python worker (conf/gpu.yaml: a GPU pool).
CLI: ``locusflow score-variants --fasta F --variants V --out ROOT`` (alias ``score_variants``).
"""
from __future__ import annotations

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
    "fasta": Key("file", None, "indexed FASTA (bgzip + .fai/.gzi or plain + .fai) of the variants' genome build"),
    "variants": Key("path", None, "table with chrom, pos, ref, alt (tsv, csv or parquet) [this run's sumstats]"),
    "region": Key("str", None, "chrom:start-end: in-silico mutagenesis of every SNV in it (instead of variants)"),
    "model": Key("path", None, "local model directory [the shipped GRCh37 chr20 model]; with a tokenizer: a "
                 "tokenised model"),
    "trust_remote_code": Key("bool", False, "run code shipped in the model directory (explicit opt-in)"),
    "embeddings": Key("bool", False, "single-nucleotide model: also embedding distances"),
    "delta": Key("bool", False, "also the embedding delta vector e_alt - e_ref (emb_delta)"),
    "window": Key("int", 128, "window around the site (bp; site at window // 2)", min=2),
    "batch_size": Key("int", 256, "windows per forward pass", min=1),
    "batch_variants": Key("int", 4096, "variants per work unit", min=1),
    "device": Key("str", "auto", "auto | cpu | cuda"),
    "dtype": Key("str", "auto", "auto | float32 | bfloat16"),
    "swapped": Key("str", "score", "an SNV whose alt is the genome's base: score it in the genome's orientation "
                   "(status swapped) or reject it (ref_mismatch)", choices=("score", "reject")),
}
NEEDED = ("chrom", "pos", "ref", "alt")


def read_variants(path) -> pd.DataFrame:
    """chrom, pos, ref, alt from a tsv/csv/parquet table or a sumstats dataset directory.

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` file, a ``.csv`` file, any other file read as tab-separated, or a directory
        holding a sumstats dataset.

    Returns
    -------
    DataFrame
        Columns chrom (str), pos (int64, 1-based), ref, alt, in the file's row order.

    Raises
    ------
    InputError
        If ``path`` does not exist, a table lacks one of chrom, pos, ref, alt, or a position is not an
        integer >= 1.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a variant table (tsv, csv or parquet with chrom, pos, ref, alt) or sumstats dataset")
    if path.is_dir():
        return read_dataset(path, "sumstats", columns=list(NEEDED))
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, sep="," if path.suffix == ".csv" else "\t", dtype={"chrom": str})
    miss = [c for c in NEEDED if c not in df.columns]
    if miss:
        raise InputError(path, f"columns {', '.join(NEEDED)} in the header", column=miss[0], value=list(df.columns))
    pos = pd.to_numeric(df["pos"], errors="coerce")
    bad = pos.isna() | (pos < 1)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise InputError(path, "a 1-based integer position", row=i + 1, column="pos", value=df["pos"].iloc[i])
    return df.assign(pos=pos.astype("int64"))[list(NEEDED)]


def score_variants(variants: pd.DataFrame, opts: dict, *, engine: str = "local", spark=None,
                   progress: bool = True, write_to=None) -> pd.DataFrame:
    """Scores (schema variant_scores) of ``variants`` with the engine's runner.

    Parameters
    ----------
    variants : DataFrame
        chrom, pos, ref, alt.
    opts : dict
        The ``score_variants`` section (keys of :data:`CONFIG`).
    engine, spark, progress
        As in :func:`locusflow.engine.runner.run_worklist`.
    write_to : str or Path, optional
        Dataset directory each task writes its unit's scores into (the caller commits it); the fragment
        index with :func:`score_stats` of each unit is returned instead of the rows.

    Returns
    -------
    DataFrame
        Schema variant_scores, or the fragment index with ``write_to``.
    """
    from ..engine.runner import run_worklist
    from .task import ism_unit, region_units, score_unit, work_units
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in opts.items() if v is not None}
    if o["fasta"] is None:
        raise InputError("score_variants.fasta", "the reference FASTA of the variants (a path)")
    kw = {"fasta": str(o["fasta"]), "model": str(o["model"]) if o["model"] else None, "window": int(o["window"]),
          "batch_size": int(o["batch_size"]), "device": o["device"], "dtype": o["dtype"], "swapped": o["swapped"],
          "embeddings": bool(o["embeddings"]), "delta": bool(o["delta"]),
          "trust_remote_code": bool(o["trust_remote_code"])}
    if o["region"]:
        units, kernel = region_units(o["region"], int(o["batch_variants"]) // 3 or 1), ism_unit
    else:
        units, kernel = work_units(variants, int(o["batch_variants"])), score_unit
    if write_to is None:        # the in-memory API: the caller asked for the rows
        return run_worklist(units, kernel, "variant_scores", engine=engine, spark=spark, kwargs=kw, progress=progress)
    return run_worklist(units, kernel, "variant_scores", engine=engine, spark=spark, kwargs=kw, progress=progress,
                        write_to=str(write_to), stats=score_stats)


REJECTED = (("ref_mismatch", "their ref is not the FASTA's base"),
            ("indel", "a single-nucleotide model's LLR is undefined for indels"),
            ("not_in_genome", "beyond the chromosome's end"), ("contig_absent", "not in the FASTA"),
            ("bad_allele", "alleles not A, C, G, T"))


def score_stats(frames: dict) -> dict:
    """One unit's counts for the stage summary, computed in the task that scored it.

    Parameters
    ----------
    frames : dict
        ``{"": rows of schema variant_scores}`` (the runner's ``stats`` argument).

    Returns
    -------
    dict
        ``scored`` (an LLR, an embedding distance or a fine-tuned delta), ``status.<status>`` (rows per status) and
        ``rejected.<status>`` (rows of a rejected status left unscored).
    """
    f = frames[""]
    scored = f[["llr", "emb_l2", "ft_delta"]].notna().any(axis=1)
    out = {"scored": int(scored.sum())}
    out.update({f"status.{k}": int(v) for k, v in f["status"].value_counts().items()})
    out.update({f"rejected.{k}": int(((f["status"] == k) & ~scored).sum()) for k, _ in REJECTED})
    return out


def _variants_path(cfg):
    sec = cfg.get("score_variants") or {}
    return None if sec.get("region") and not sec.get("variants") else Path(sec.get("variants") or
                                                                             dataset_path(cfg, "sumstats"))


def _run(ctx: Context) -> dict:
    opts = ctx.section("score_variants")
    if opts.get("region") and opts.get("variants"):
        raise InputError("score_variants", "either variants or region (in-silico mutagenesis), not both",
                         column="score_variants.region", value=opts["region"])
    path = _variants_path(ctx.cfg)
    variants = read_variants(path) if path is not None else None
    where = str(ctx.path("variant_scores"))
    # the tasks write the scores (executors write, issue 19); the summary adds up their counts
    index = score_variants(variants, opts, write_to=where, **ctx.runner_kwargs())
    finish_fragments(where, "variant_scores", index, manifest={"options": {k: str(v) for k, v in opts.items()}})

    def total(stat):
        return int(index[f"stat_{stat}"].fillna(0).sum()) if f"stat_{stat}" in index.columns else 0
    status = {c[len("stat_status."):]: total(c[len("stat_"):]) for c in index.columns if c.startswith("stat_status.")}
    summary = {"variants": int(index["rows"].sum()),
               **{f"status_{k}": v for k, v in sorted(status.items(), key=lambda kv: (-kv[1], kv[0])) if v}}
    summary["scored"] = total("scored")
    for status, why in REJECTED:
        n_not = total(f"rejected.{status}")
        if n_not:
            summary[f"rejected_{status}"] = n_not
            log.warning("score_variants: %d variants not scored: %s (status %s)", n_not, why, status)
    log.info("score_variants: %s", summary)
    return summary


register(Stage("score_variants", _run, inputs=lambda cfg: [p for p in [_variants_path(cfg)] if p is not None],
               config=CONFIG))
