"""Stage `ingest`: PLINK or VCF genotypes into a VCF Zarr store with its `variants` table.

Config section ``ingest``: ``plink: PREFIX`` or ``vcf: FILE``, optional ``fasta`` (PLINK: ref set to the
genome's allele, io.genotypes.ingest_plink), optional ``store`` (default
``<out>/genotypes.vcz``). CLI: ``locusflow ingest plink PREFIX --out STORE`` / ``ingest vcf FILE``.
"""
from __future__ import annotations

from pathlib import Path

from ..pipeline import Context, Stage, register


def store_path(cfg: dict) -> Path:
    sec = cfg.get("ingest") or {}
    return Path(sec.get("store") or Path(cfg["out"]) / "genotypes.vcz")


def _inputs(cfg):
    sec = cfg.get("ingest") or {}
    if sec.get("plink"):
        return [f"{sec['plink']}.{x}" for x in ("bed", "bim", "fam")] + ([sec["fasta"]] if sec.get("fasta") else [])
    return [sec["vcf"]] if sec.get("vcf") else []


def _run(ctx: Context) -> dict:
    from .genotypes import ingest_plink, ingest_vcf     # zarr: imported when a stage runs, not at CLI start
    sec = ctx.section("ingest")
    build = ctx.cfg.get("genome_build", "GRCh37")
    out = store_path(ctx.cfg)
    if sec.get("plink"):
        store = ingest_plink(sec["plink"], out, genome_build=build, fasta=sec.get("fasta"))
    elif sec.get("vcf"):
        store = ingest_vcf(sec["vcf"], out, genome_build=build)
    else:
        from ..errors import InputError
        raise InputError("config", "ingest.plink (PREFIX) or ingest.vcf (FILE)", column="ingest")
    return {"store": str(out), "n_variants": int(store.meta["n_variants"]),
            "n_samples": int(store.meta["n_samples"])}


def _cli(sub):
    p = sub.add_parser("ingest", help="genotypes (PLINK or VCF) into a VCF Zarr store")
    p.add_argument("format", choices=["plink", "vcf"])
    p.add_argument("source", help="PLINK prefix or VCF file")
    p.add_argument("--out", required=True, help="output store directory (.vcz)")
    p.add_argument("--genome-build", default="GRCh37")
    p.add_argument("--fasta", help="PLINK: indexed genome; ref set to the genome's allele (plink2 --ref-from-fa)")
    p.set_defaults(func=_ingest_cli)


def _ingest_cli(a) -> int:
    from .genotypes import ingest_plink, ingest_vcf
    kw = {"fasta": a.fasta} if a.format == "plink" and a.fasta else {}
    print((ingest_plink if a.format == "plink" else ingest_vcf)(a.source, a.out, genome_build=a.genome_build,
                                                                 **kw).path)
    return 0


register(Stage("ingest", _run, inputs=_inputs, outputs=lambda cfg: [store_path(cfg)], add_cli=_cli))
