"""``locusflow export RESULTS --to DIR``: a run's results in the formats other tools read.

=============  =========================================  ==============================================
format         file(s)                                    layout (reference)
=============  =========================================  ==============================================
metaxcan       twas/<tissue>.csv                          MetaXcan SPrediXcan.py output CSV columns
finemap        finemap/<block>.z .ld master .snp          FINEMAP 1.4 input files and output tables
               (.config .cred<k> or .cred)                (:mod:`locusflow.report.finemap_export`)
susie          finemap/susie_vars.tsv, susie_cs.tsv       susieR ``summary(fit)$vars`` / ``$cs``
pyfocus        focus/focus.tsv                            pyfocus ``focus finemap`` TSV (the stage's own)
ldsc           sumstats/sumstats.ldsc.sumstats.gz         LDSC munge_sumstats.py SNP A1 A2 Z N (+CHR BP)
gwas_ssf       sumstats/sumstats.ssf.tsv.gz               GWAS-SSF 1.0 (GWAS Catalog summary statistics)
ld             ld/<block>.ld and ld/<block>.npz            plink --r square text; numpy r + variant_ids
=============  =========================================  ==============================================

Alleles: the effect allele is ``alt`` everywhere (LDSC A1, GWAS-SSF effect_allele, FINEMAP allele1).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..ld.matrix import read_block_ld, read_ld_index
from ..plots.data import RunResults
from .finemap_export import export_finemap_tables, safe_name

FORMATS = ("metaxcan", "finemap", "susie", "pyfocus", "ldsc", "gwas_ssf", "ld")
METAXCAN_COLUMNS = ["gene", "gene_name", "zscore", "effect_size", "pvalue", "var_g", "pred_perf_r2",
                    "pred_perf_pval", "pred_perf_qval", "n_snps_used", "n_snps_in_cov", "n_snps_in_model"]


def export_metaxcan(run: RunResults, to: Path) -> list[Path]:
    """One MetaXcan-style CSV per tissue (columns :data:`METAXCAN_COLUMNS`, NA for missing).

    Parameters
    ----------
    run : RunResults
        The run to export (needs its ``twas`` dataset).
    to : Path
        Export directory; files go under ``to/twas/`` (created).

    Returns
    -------
    list of Path
        ``to/twas/<tissue>.csv`` per tissue (tissue name with characters other than letters, digits, ``._-``
        replaced by ``_``), rows sorted by ``pvalue``.

    References
    ----------
    Barbeira AN et al. (2018) Exploring the phenotypic consequences of tissue specific gene expression
    variation inferred from GWAS summary statistics. Nat Commun 9:1825 (S-PrediXcan; MetaXcan's
    ``SPrediXcan.py`` output columns).
    """
    t = run.table("twas")
    out = []
    for tissue, g in t.groupby("tissue"):
        p = to / "twas" / f"{safe_name(tissue)}.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        g = g.sort_values("pvalue")[METAXCAN_COLUMNS]
        g = g.astype({c: "Int64" for c in ("n_snps_used", "n_snps_in_cov", "n_snps_in_model")})   # counts, as MetaXcan
        g.to_csv(p, index=False, na_rep="NA")
        out.append(p)
    return out


def _finemap_datasets(run: RunResults):
    cfg = None
    if run.has("finemap_config"):
        from ..io.dataset import read_dataset
        from ..finemap.tables import config_schema
        cfg = read_dataset(run.path("finemap_config"), config_schema())
    return run.table("finemap_snp"), run.table("finemap_cs"), cfg, run.table("sumstats")


def export_finemap(run: RunResults, to: Path) -> list[Path]:
    """FINEMAP 1.4 files per fine-mapped block: inputs ``.z``, ``.ld`` and ``master`` (so FINEMAP reruns
    the block), outputs ``.snp``, ``.config`` and ``.cred<k>`` (FINEMAP-SSS runs) or ``.cred`` (SuSiE runs).

    Parameters
    ----------
    run : RunResults
        The run to export (needs ``finemap_snp``; ``finemap_cs``, ``finemap_config``, ``sumstats`` and the LD
        matrices when present).
    to : Path
        Export directory; files go under ``to/finemap/`` (created).

    Returns
    -------
    list of Path
        The files written (:mod:`locusflow.report.finemap_export` describes each).

    References
    ----------
    Benner C et al. (2016) FINEMAP: efficient variable selection using summary data from genome-wide
    association studies. Bioinformatics 32:1493-1501 (FINEMAP 1.4 input and output files).
    """
    snp, cs, cfg, s = _finemap_datasets(run)
    return export_finemap_tables(snp, cs, cfg, s, run.ld_dir, to, susie=False)


def export_susie(run: RunResults, to: Path) -> list[Path]:
    """susieR ``summary(fit)`` tables of every block: ``susie_vars.tsv`` (block_id, variable, variable_prob,
    cs, variant_id) and ``susie_cs.tsv`` (block_id, cs, cs_log10bf, cs_avg_r2, cs_min_r2, variable,
    variant_ids); ``variable`` is the row of the block's FINEMAP ``.z`` file (the fit's column).

    Parameters
    ----------
    run, to : RunResults, Path
        As :func:`export_finemap`.

    Returns
    -------
    list of Path
        ``to/finemap/susie_vars.tsv`` and ``to/finemap/susie_cs.tsv``.

    References
    ----------
    Wang G, Sarkar A, Carbonetto P, Stephens M (2020) A simple new approach to variable selection in
    regression, with application to genetic fine mapping. J R Stat Soc B 82:1273-1300 (susieR
    ``summary.susie``).
    """
    snp, cs, cfg, s = _finemap_datasets(run)
    return export_finemap_tables(snp, cs, cfg, s, run.ld_dir, to, finemap=False)


def export_pyfocus(run: RunResults, to: Path) -> list[Path]:
    """The focus stage's pyfocus-layout TSV (full precision), copied.

    Parameters
    ----------
    run : RunResults
        The run to export.
    to : Path
        Export directory; files go under ``to/focus/`` (created).

    Returns
    -------
    list of Path
        ``[to/focus/focus.tsv]``.

    Raises
    ------
    InputError
        When the run has no focus TSV (the focus stage has not run).

    References
    ----------
    Mancuso N et al. (2019) Probabilistic fine-mapping of transcriptome-wide association studies.
    Nat Genet 51:675-682 (FOCUS; pyfocus ``focus finemap`` output).
    """
    src = run.path("focus_tsv")
    if not src.exists():
        raise InputError(src, "the focus stage's pyfocus TSV (run the focus stage)")
    p = to / "focus" / "focus.tsv"
    p.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, p)
    return [p]


def export_ldsc(run: RunResults, to: Path) -> list[Path]:
    """LDSC ``.sumstats`` (gzip): CHR SNP (rsid, else variant_id) BP A1 (effect = alt) A2 Z N, as pyfocus's
    munge writes it (LDSC reads SNP A1 A2 Z N and ignores CHR/BP; pyfocus needs them).

    Parameters
    ----------
    run, to : RunResults, Path
        As :func:`export_metaxcan`; needs the ``sumstats`` dataset, writes under ``to/sumstats/``.

    Returns
    -------
    list of Path
        ``[to/sumstats/sumstats.ldsc.sumstats.gz]`` (tab-separated, NA for missing).

    References
    ----------
    Bulik-Sullivan BK et al. (2015) LD Score regression distinguishes confounding from polygenicity in
    genome-wide association studies. Nat Genet 47:291-295 (LDSC ``munge_sumstats.py`` format).
    """
    s = run.table("sumstats")
    p = to / "sumstats" / "sumstats.ldsc.sumstats.gz"
    p.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"CHR": s["chrom"], "SNP": s["rsid"].fillna(s["variant_id"]), "BP": s["pos"], "A1": s["alt"],
                  "A2": s["ref"], "Z": s["z"], "N": s["n"]}).to_csv(p, sep="\t", index=False, na_rep="NA", float_format="%.6g")
    return [p]


def export_gwas_ssf(run: RunResults, to: Path) -> list[Path]:
    """GWAS-SSF TSV (gzip): mandatory columns in the standard's order, variant_id as
    ``chrom_pos_other_effect`` (GWAS-SSF 1.0), rsid, n. Checked with EBI's gwas-sumstats-tools validator.

    Parameters
    ----------
    run, to : RunResults, Path
        As :func:`export_ldsc` (the run's sumstats; files under ``to/sumstats/``).

    Returns
    -------
    list of Path
        ``[to/sumstats/sumstats.ssf.tsv.gz]`` (effect_allele = alt, other_allele = ref, NA for missing).

    References
    ----------
    Hayhurst J et al. (2022) A community driven GWAS summary statistics standard. bioRxiv
    2022.07.15.500230 (GWAS-SSF 1.0).
    """
    s = run.table("sumstats")
    p = to / "sumstats" / "sumstats.ssf.tsv.gz"
    p.parent.mkdir(parents=True, exist_ok=True)
    vid = s["variant_id"].str.replace(":", "_", regex=False)
    pd.DataFrame({"chromosome": s["chrom"], "base_pair_location": s["pos"], "effect_allele": s["alt"],
                  "other_allele": s["ref"], "beta": s["beta"], "standard_error": s["se"],
                  "effect_allele_frequency": s["af"], "p_value": s["p"], "variant_id": vid,
                  "rsid": s["rsid"], "n": s["n"]}).to_csv(p, sep="\t", index=False, na_rep="NA", float_format="%.8g")
    return [p]


def export_ld(run: RunResults, to: Path) -> list[Path]:
    """Per LD block: ``.ld`` (square r, plink --r square text, rows/columns in ``.ld.snplist`` order) and
    ``.npz`` (r float32, variant_ids).

    Parameters
    ----------
    run : RunResults
        The run to export (needs its LD matrices, ``<ld_dir>/index``).
    to : Path
        Export directory; files go under ``to/ld/`` (created).

    Returns
    -------
    list of Path
        Per block in LD-index order: ``<block>.ld`` (tab-separated r), ``<block>.ld.snplist`` (variant ids,
        one a line) and ``<block>.npz``.
    """
    out = []
    d = to / "ld"
    d.mkdir(parents=True, exist_ok=True)
    for block in read_ld_index(run.ld_dir)["block_id"]:
        var, r = read_block_ld(run.ld_dir, block)
        stem = d / safe_name(block)
        np.savetxt(f"{stem}.ld", r, fmt="%.6g", delimiter="\t")
        Path(f"{stem}.ld.snplist").write_text("\n".join(var["variant_id"]) + "\n")
        np.savez_compressed(f"{stem}.npz", r=r, variant_ids=var["variant_id"].to_numpy(dtype=str))
        out += [Path(f"{stem}.ld"), Path(f"{stem}.ld.snplist"), Path(f"{stem}.npz")]
    return out


WRITERS = {"metaxcan": (export_metaxcan, "twas"), "finemap": (export_finemap, "finemap_snp"),
           "susie": (export_susie, "finemap_cs"), "pyfocus": (export_pyfocus, "focus"),
           "ldsc": (export_ldsc, "sumstats"), "gwas_ssf": (export_gwas_ssf, "sumstats"), "ld": (export_ld, None)}


def available(run: RunResults, f: str) -> str | None:
    """Why format ``f`` cannot be exported from ``run`` (None when it can).

    Parameters
    ----------
    run : RunResults
        The run.
    f : str
        One of :data:`FORMATS`.

    Returns
    -------
    str or None
        A sentence naming the missing dataset and the stage that writes it.
    """
    need = WRITERS[f][1]
    if need is not None and not run.has(need):
        return f"{run.path(need)}: dataset {need} for export format {f} (run its stage first)"
    if f == "ld" and not (run.ld_dir / "index").exists():
        return f"{run.ld_dir}: LD matrices for export format ld (run the ld stage first)"
    if f == "pyfocus" and not run.path("focus_tsv").exists():
        return f"{run.path('focus_tsv')}: the focus stage's pyfocus TSV (run the focus stage)"
    return None


def export(root, to, formats=None) -> dict:
    """Write ``formats`` of the run at ``root`` under ``to``; returns format -> list of paths.

    Everything is written to a staging directory inside ``to`` first and moved into place only when every
    format succeeded: a failure leaves ``to`` as it was.

    Parameters
    ----------
    root : str or Path
        Results root.
    to : str or Path
        Output directory (created).
    formats : sequence of str, optional
        Any of :data:`FORMATS`; None: every format whose datasets the run has.

    Returns
    -------
    dict
        Format -> list of the paths written (as str), in the order ``formats`` gives; with ``formats=None``
        also ``"skipped"`` -> list of the reasons formats were left out.

    Raises
    ------
    InputError
        An unknown format, or a format whose dataset the run does not have (for ``ld``: no LD index; for
        ``pyfocus``: no focus TSV).
    """
    import os
    import tempfile
    run = RunResults(root)
    to = Path(to)
    skipped = []
    chosen = []
    for f in (FORMATS if formats is None else formats):
        if f not in WRITERS:
            raise InputError("--format", f"one of {', '.join(FORMATS)}", value=f)
        why = available(run, f)
        if why and formats is not None:
            raise InputError(*why.split(": ", 1))
        (skipped.append(why) if why else chosen.append(f))
    to.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".export-", dir=to))
    try:
        out = {f: [Path(p) for p in WRITERS[f][0](run, stage)] for f in chosen}
        for p in sorted(stage.rglob("*")):          # every format written: move the files into place
            if p.is_file():
                q = to / p.relative_to(stage)
                q.parent.mkdir(parents=True, exist_ok=True)
                os.replace(p, q)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    res = {f: [str(to / p.relative_to(stage)) for p in ps] for f, ps in out.items()}
    if formats is None:
        res["skipped"] = skipped
    return res
