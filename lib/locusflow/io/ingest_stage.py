"""Stage `ingest`: PLINK or VCF genotypes into a VCF Zarr store with its `variants` table.

Config section ``ingest``: ``plink: PREFIX`` or ``vcf: FILE`` (or, with ``reader: glow`` on a Spark cluster
with Glow's jar, ``vcf:`` / ``bgen:`` read through Glow's data sources). Writes dataset ``genotypes``
(``<out>/ingest/genotypes.vcz``). CLI: ``locusflow ingest plink PREFIX --out ROOT`` / ``ingest vcf FILE``.
"""
from __future__ import annotations

from pathlib import Path

from .. import storage
from ..config_schema import Key
from ..errors import InputError
from ..pipeline import Context, Stage, register

CONFIG = {
    "plink": Key("path", None, "PLINK 1 fileset prefix (PREFIX.bed, .bim, .fam)", cli=False),
    "vcf": Key("file", None, "VCF file (plain or bgzipped)", cli=False),
    "bgen": Key("path", None, "BGEN file (reader: glow only)", cli=False),
    "reader": Key("str", "native", "native (PLINK reader / bio2zarr) | glow (Glow's vcf/bgen data sources on the "
                  "Spark session; executors write the store)", choices=["native", "glow"]),
    "variants_chunk": Key("int", None, "variants per Zarr chunk [1000]", min=1),
    "fasta": Key("file", None, "indexed genome (bgzip/plain + .fai): PLINK ref set to the genome's allele as "
                 "plink2 --ref-from-fa force; VCF REF checked (counted, warned)"),
}


def _inputs(cfg):
    sec = cfg.get("ingest") or {}
    if sec.get("plink"):
        return [f"{sec['plink']}.{x}" for x in ("bed", "bim", "fam")]
    return []


def _run(ctx: Context) -> dict:
    from .genotypes import VARIANTS_CHUNK, ingest_plink, ingest_vcf   # zarr: imported when the stage runs
    sec = ctx.section("ingest")
    build = ctx.cfg.get("genome_build", "GRCh37")
    out = ctx.path("genotypes")
    chunk = int(sec.get("variants_chunk") or VARIANTS_CHUNK)
    if sum(bool(sec.get(k)) for k in ("plink", "vcf", "bgen")) > 1:
        raise InputError("config", "one of ingest.plink, ingest.vcf, ingest.bgen", column="ingest")
    if sec.get("reader", "native") == "glow":
        from .glow import ingest_glow, read_glow
        fmt = "bgen" if sec.get("bgen") else "vcf"
        if not sec.get(fmt):
            raise InputError("config", "ingest.vcf or ingest.bgen (reader: glow)", column="ingest")
        store = ingest_glow(read_glow(ctx.spark, sec[fmt], fmt), out, genome_build=build, variants_chunk=chunk,
                            source=str(sec[fmt]))
    elif sec.get("bgen"):
        raise InputError("config", "reader: glow for ingest.bgen (BGEN is read through Glow)", column="ingest.reader")
    elif sec.get("plink"):
        for f in _inputs(ctx.cfg):
            if not (storage.exists(f) if storage.is_remote(f) else Path(f).is_file()):
                raise InputError(f, "file not found (ingest.plink names the PLINK prefix)")
        store = ingest_plink(sec["plink"], out, genome_build=build, variants_chunk=chunk, fasta=sec.get("fasta"))
    elif sec.get("vcf"):
        store = ingest_vcf(sec["vcf"], out, genome_build=build, variants_chunk=chunk, fasta=sec.get("fasta"))
    else:
        raise InputError("config", "ingest.plink (PREFIX) or ingest.vcf (FILE)", column="ingest")
    return {"variants": int(store.meta["n_variants"]), "samples": int(store.meta["n_samples"])}


def _cli_extra(p):
    p.add_argument("format", nargs="?", choices=["plink", "vcf"], help="input format")
    p.add_argument("source", nargs="?", help="PLINK prefix or VCF file")


def _cli_config(a) -> dict:
    return {a.format: a.source} if a.format and a.source else {}


register(Stage("ingest", _run, inputs=_inputs, config=CONFIG, cli_extra=_cli_extra, cli_config=_cli_config))
