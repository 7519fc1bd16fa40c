"""GWAS summary-statistics layouts: header reading, format detection and column resolution.

Every layout is reduced to canonical fields (:data:`FIELDS`). A file's header names are matched
case-insensitively: first to explicit user overrides (``--beta-col`` ...), then to the detected
format's own mapping (:data:`FORMATS`), then to the synonym table (:data:`SYNONYMS`, in the spirit of
ldsc ``munge_sumstats.py`` ``default_cnames`` and MungeSumstats' ``sumstatsColHeaders``).

Effect-allele conventions (the allele ``beta``/``z``/``af`` refer to, field ``a1``):
PLINK 1.9 ``A1``; PLINK 2 ``A1`` (other allele is whichever of REF/ALT is not A1); BOLT-LMM
``ALLELE1``; REGENIE ``ALLELE1``; SAIGE ``Allele2``; LDSC ``A1``; GWAS Catalog ``hm_effect_allele`` /
``effect_allele``; IEU GWAS-VCF ``ALT``; MetaXcan ``effect_allele``; FinnGen ``alt`` (``#chrom pos ref
alt rsids nearest_genes pval mlogp beta sebeta af_alt ...``, mlogp = -log10 p); GCTA fastGWA ``A1``
(``CHR SNP POS A1 A2 N AF1 BETA SE P``, AF1 = frequency of A1); METAL ``Allele1`` (``MarkerName
Allele1 Allele2 [Freq1 ...] Effect StdErr | Weight Zscore, P-value Direction``; lower-case alleles;
``Chromosome``/``Position`` with TRACKPOSITIONS ON, else placed by rsid through a reference); GWAS-SSF
``effect_allele`` (GWAS Catalog standard: ``chromosome base_pair_location effect_allele other_allele
beta|odds_ratio standard_error effect_allele_frequency p_value|neg_log10_p_value [rsid n info ...]``); a generic ``A1``/``A2`` pair is
read with A1 as the effect allele (PLINK/ldsc/``bcftools +munge -c PLINK`` convention; note that
MungeSumstats assumes A2) -- override with ``--a1-col``/``--a2-col`` when a file says otherwise.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

# canonical field -> meaning
FIELDS = {
    "snp": "variant name (rsid)", "chrom": "chromosome", "pos": "base-pair position",
    "a1": "effect allele", "a2": "other allele", "ref": "reference allele (PLINK 2: other = REF or ALT)",
    "alt": "alternate allele (PLINK 2)", "beta": "effect size", "or": "odds ratio", "se": "standard error",
    "p": "p-value", "lp": "-log10 p-value", "z": "z-score", "af": "effect-allele frequency",
    "info": "imputation INFO", "n": "sample size", "n_cases": "cases", "n_controls": "controls",
    "build": "genome build", "test": "PLINK 1.9 TEST column (ADD rows kept)",
}
NUMERIC = ("pos", "beta", "or", "se", "p", "lp", "z", "af", "info", "n", "n_cases", "n_controls")

# canonical field -> accepted header names (upper case), in priority order
SYNONYMS = {
    "snp": ["SNP", "RSID", "RS_ID", "RS", "MARKERNAME", "MARKER", "SNPID", "SNP_ID", "ID", "VARIANT_ID",
            "RS_NUMBER", "RSNUMBER", "MARKERID", "HM_RSID"],
    "chrom": ["CHR", "CHROM", "#CHROM", "CHROMOSOME", "CHRM", "#CHR", "HM_CHROM"],
    "pos": ["BP", "POS", "POSITION", "BASE_PAIR_LOCATION", "GENPOS", "BP_HG19", "BP_HG38", "HM_POS"],
    "a1": ["A1", "ALLELE1", "EFFECT_ALLELE", "EA", "ALT", "INC_ALLELE", "TESTED_ALLELE", "HM_EFFECT_ALLELE",
           "RISK_ALLELE", "CODED_ALLELE", "EFFECT_ALLELE_A1"],
    "a2": ["A2", "ALLELE2", "ALLELE0", "OTHER_ALLELE", "NON_EFFECT_ALLELE", "NEA", "REF", "OA",
           "DEC_ALLELE", "HM_OTHER_ALLELE", "NONCODED_ALLELE", "OTHER_ALLELE_A2"],
    "beta": ["BETA", "B", "EFFECT", "EFFECTS", "EFFECT_SIZE", "ES", "LOG_ODDS", "HM_BETA"],
    "or": ["OR", "ODDS_RATIO", "ODDSRATIO", "HM_ODDS_RATIO"],
    "se": ["SE", "STDERR", "STANDARD_ERROR", "SE_BETA", "SEBETA", "LOG(OR)_SE", "STD_ERR", "SE_LOGOR"],
    "p": ["P", "PVAL", "P_VALUE", "PVALUE", "P-VALUE", "P.VALUE", "P_BOLT_LMM", "P_BOLT_LMM_INF", "P_LINREG",
          "PVAL_NOMINAL", "P_WALD", "P-VAL", "GC_PVALUE", "WALD_P"],
    "lp": ["LP", "LOG10P", "MLOG10P", "MLOGP", "NEG_LOG10_P_VALUE", "LOG10_P", "NEG_LOG_PVALUE", "NEG_LOG10_P"],
    "z": ["Z", "ZSCORE", "Z_SCORE", "Z_STAT", "ZSTAT", "TSTAT", "T_STAT", "T", "STAT", "EZ"],
    "af": ["EAF", "FRQ", "FREQ", "AF", "A1FREQ", "A1_FREQ", "FREQ1", "AF_ALLELE2",
           "EFFECT_ALLELE_FREQUENCY", "HM_EFFECT_ALLELE_FREQUENCY", "FRQ_A1", "FREQ_EFFECT_ALLELE",
           "FREQUENCY", "AF1", "FREQ_A1"],
    "info": ["INFO", "IMPINFO", "IMPUTATIONINFO", "INFO_SCORE", "R2_IMPUTE", "RSQ", "SI"],
    "n": ["N", "NSTUDY", "N_TOTAL", "NMISS", "OBS_CT", "SAMPLESIZE", "SAMPLE_SIZE", "TOTALSAMPLESIZE",
          "N_SAMPLES", "SS", "NEFF", "N_EFF"],
    "n_cases": ["N_CAS", "NCASE", "N_CASE", "N_CASES", "NCAS", "NC", "CASES"],
    "n_controls": ["N_CON", "NCONTROL", "N_CONTROL", "N_CONTROLS", "NCON", "N_CTRL", "CONTROLS"],
    "build": ["BUILD", "GENOME_BUILD", "ASSEMBLY", "GRCH", "HG_BUILD"],
    "test": ["TEST"],
}


@dataclass(frozen=True)
class Layout:
    """A known layout: headers that identify it and its own column mapping (upper-case names)."""
    name: str
    signature: tuple[frozenset, ...]          # any one of these header sets identifies it
    mapping: dict = field(default_factory=dict)


def _sig(*sets):
    return tuple(frozenset(s) for s in sets)


# most specific first
FORMATS = [
    Layout("bolt", _sig({"ALLELE1", "ALLELE0", "P_BOLT_LMM"}, {"ALLELE1", "ALLELE0", "P_BOLT_LMM_INF"}),
           {"snp": "SNP", "chrom": "CHR", "pos": "BP", "a1": "ALLELE1", "a2": "ALLELE0", "af": "A1FREQ",
            "info": "INFO", "beta": "BETA", "se": "SE", "p": ["P_BOLT_LMM", "P_BOLT_LMM_INF", "P_LINREG"]}),
    Layout("regenie", _sig({"ALLELE0", "ALLELE1", "LOG10P", "GENPOS"}),
           {"snp": "ID", "chrom": "CHROM", "pos": "GENPOS", "a1": "ALLELE1", "a2": "ALLELE0", "af": "A1FREQ",
            "info": "INFO", "n": "N", "beta": "BETA", "se": "SE", "lp": "LOG10P", "test": "TEST"}),
    Layout("saige", _sig({"ALLELE1", "ALLELE2", "AF_ALLELE2", "P.VALUE"}),
           {"snp": ["MARKERID", "SNPID", "RSID"], "chrom": "CHR", "pos": "POS", "a1": "ALLELE2",
            "a2": "ALLELE1", "af": "AF_ALLELE2", "info": "IMPUTATIONINFO", "n": "N", "beta": "BETA",
            "se": "SE", "p": "P.VALUE", "n_cases": "N_CASE", "n_controls": "N_CTRL"}),
    Layout("finngen", _sig({"#CHROM", "POS", "REF", "ALT", "MLOGP", "SEBETA"}),     # FinnGen R5+ summary stats
           {"snp": "RSIDS", "chrom": "#CHROM", "pos": "POS", "a1": "ALT", "a2": "REF", "p": "PVAL",
            "lp": "MLOGP", "beta": "BETA", "se": "SEBETA", "af": "AF_ALT"}),
    Layout("fastgwa", _sig({"CHR", "SNP", "POS", "A1", "A2", "AF1", "BETA", "SE", "P"}),   # GCTA fastGWA
           {"snp": "SNP", "chrom": "CHR", "pos": "POS", "a1": "A1", "a2": "A2", "af": "AF1", "n": "N",
            "beta": "BETA", "se": "SE", "p": "P", "info": "INFO", "z": []}),
    Layout("metal", _sig({"MARKERNAME", "ALLELE1", "ALLELE2", "P-VALUE"}),   # METAL: SCHEME STDERR or SAMPLESIZE
           {"snp": "MARKERNAME", "chrom": "CHROMOSOME", "pos": "POSITION", "a1": "ALLELE1", "a2": "ALLELE2",
            "af": "FREQ1", "beta": "EFFECT", "se": "STDERR", "z": "ZSCORE", "n": ["N", "WEIGHT"],
            "p": "P-VALUE"}),
    Layout("plink2_glm", _sig({"#CHROM", "POS", "ID", "REF", "ALT", "A1"}),
           {"snp": "ID", "chrom": "#CHROM", "pos": "POS", "a1": "A1", "a2": [], "ref": "REF", "alt": "ALT",
            "af": "A1_FREQ", "n": "OBS_CT", "beta": "BETA", "or": "OR", "se": ["SE", "LOG(OR)_SE"],
            "p": "P", "z": ["T_STAT", "Z_STAT"], "test": "TEST", "info": "MACH_R2"}),
    Layout("plink_assoc", _sig({"CHR", "SNP", "BP", "A1", "TEST", "NMISS"}, {"CHR", "SNP", "BP", "A1", "F_A", "F_U"},
                               {"CHR", "SNP", "BP", "A1", "A2", "F_A", "F_U"}),
           {"snp": "SNP", "chrom": "CHR", "pos": "BP", "a1": "A1", "a2": "A2", "beta": "BETA", "or": "OR",
            "se": "SE", "p": "P", "z": "STAT", "n": "NMISS", "test": "TEST"}),
    Layout("gwas_catalog", _sig({"HM_EFFECT_ALLELE", "HM_OTHER_ALLELE"}),    # GWAS Catalog harmonised (hm_*)
           {"snp": ["HM_RSID", "RSID", "VARIANT_ID"], "chrom": ["HM_CHROM", "CHROMOSOME"],
            "pos": ["HM_POS", "BASE_PAIR_LOCATION"], "a1": ["HM_EFFECT_ALLELE", "EFFECT_ALLELE"],
            "a2": ["HM_OTHER_ALLELE", "OTHER_ALLELE"], "beta": ["HM_BETA", "BETA"],
            "or": ["HM_ODDS_RATIO", "ODDS_RATIO"], "se": "STANDARD_ERROR", "p": "P_VALUE",
            "af": ["HM_EFFECT_ALLELE_FREQUENCY", "EFFECT_ALLELE_FREQUENCY"], "n": "N"}),
    Layout("gwas_ssf", _sig({"CHROMOSOME", "BASE_PAIR_LOCATION", "EFFECT_ALLELE", "OTHER_ALLELE"}),
           {"snp": ["RSID", "VARIANT_ID"], "chrom": "CHROMOSOME", "pos": "BASE_PAIR_LOCATION",
            "a1": "EFFECT_ALLELE", "a2": "OTHER_ALLELE", "beta": "BETA", "or": "ODDS_RATIO",
            "se": "STANDARD_ERROR", "af": "EFFECT_ALLELE_FREQUENCY", "p": "P_VALUE", "lp": "NEG_LOG10_P_VALUE",
            "n": "N", "info": "INFO", "z": []}),
    Layout("metaxcan", _sig({"EFFECT_ALLELE", "NON_EFFECT_ALLELE"}),
           {"snp": ["SNP", "VARIANT_ID", "RSID", "PANEL_VARIANT_ID"], "chrom": ["CHROMOSOME", "CHR"],
            "pos": ["POSITION", "BP", "POS"], "a1": "EFFECT_ALLELE", "a2": "NON_EFFECT_ALLELE",
            "beta": ["EFFECT_SIZE", "BETA"], "se": ["STANDARD_ERROR", "SE"], "p": ["PVALUE", "P"],
            "z": ["ZSCORE", "Z"], "af": "FREQUENCY", "n": "SAMPLE_SIZE", "n_cases": "N_CASES"}),
    Layout("ldsc", _sig({"SNP", "A1", "A2", "Z", "N"})),        # ldsc .sumstats; FOCUS adds CHR/BP
]


@dataclass
class Header:
    """A sumstats file's header as read: its path, column names, separator and the meta lines skipped."""

    path: Path
    columns: list[str]
    sep: str | None            # "\t", "," or None for runs of white space
    skip_rows: int             # lines before the header (## meta lines)
    meta: list[str]            # those lines
    is_vcf: bool


def open_text(path):
    """Open a plain or gzip-compressed file for reading text (gzip recognised by its magic bytes, not
    its name).

    Parameters
    ----------
    path : str or pathlib.Path
        File to open.

    Returns
    -------
    io.TextIOBase
        A text-mode file object; the caller closes it.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path, "rt")


def read_header(path) -> Header:
    r"""First non-``##`` line of a (gzipped) text file, its delimiter and the meta lines before it.

    The delimiter is a tab when the header holds one, else a comma when it holds commas and no inner
    spaces, else runs of white space. The file is a VCF when a meta line is ``##fileformat=VCF...`` or
    the header starts ``#CHROM POS`` and has a ``FORMAT`` column.

    Parameters
    ----------
    path : str or pathlib.Path
        Summary-statistics file (plain or gzip).

    Returns
    -------
    Header
        Path, column names (stripped), separator (``"\t"``, ``","`` or None for white space), number of
        ``##`` lines skipped, those lines, and whether the file is a VCF.

    Raises
    ------
    InputError
        When the file does not exist, cannot be read as text, or has no header line.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "summary statistics file not found")
    meta = []
    try:
        with open_text(path) as fh:
            for line in fh:
                if line.startswith("##"):
                    meta.append(line.rstrip("\n"))
                    continue
                break
            else:
                line = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"a readable text file (plain or gzip): {exc}") from None
    line = line.rstrip("\r\n")
    if not line.strip():
        raise InputError(path, "a header line naming the columns", row=0)
    sep = "\t" if "\t" in line else ("," if "," in line and " " not in line.strip() else None)
    cols = line.split(sep) if sep else line.split()
    cols = [c.strip() for c in cols]
    is_vcf = any(m.startswith("##fileformat=VCF") for m in meta) or cols[:2] == ["#CHROM", "POS"] and "FORMAT" in cols
    return Header(path, cols, sep, len(meta), meta, is_vcf)


def detect_format(header: Header) -> str:
    """Name of the layout: ``gwas_vcf``, one of :data:`FORMATS`, or ``generic``.

    The first layout in :data:`FORMATS` one of whose signatures (sets of upper-case column names) is
    contained in the header wins.

    Parameters
    ----------
    header : Header
        Result of :func:`read_header`.

    Returns
    -------
    str
        ``"gwas_vcf"`` for a VCF, else the matching layout's name, else ``"generic"``.
    """
    if header.is_vcf:
        return "gwas_vcf"
    up = {c.upper() for c in header.columns}
    for lay in FORMATS:
        if any(sig <= up for sig in lay.signature):
            return lay.name
    return "generic"


FORMAT_NAMES = ["auto", "generic", "gwas_vcf"] + [f.name for f in FORMATS]


def resolve_columns(header: Header, fmt: str, overrides: dict | None = None) -> dict:
    """canonical field -> actual header name, for the fields the file has.

    ``overrides`` (field -> header name, case-insensitive; None = ignore the field) win; a named
    column that is not in the file is an :class:`InputError` listing what was found.
    Then the layout's own mapping of ``fmt`` is applied (a field it maps to nothing present is not
    looked for further), then :data:`SYNONYMS`; no header column is used for two fields.

    Parameters
    ----------
    header : Header
        Result of :func:`read_header`.
    fmt : str
        Layout name (a :data:`FORMATS` name; ``generic`` uses the synonyms only).
    overrides : dict, optional
        Canonical field -> header name, or None to leave the field out.

    Returns
    -------
    dict
        Canonical field -> header name as spelt in the file, for the fields found (none mapped to None).

    Raises
    ------
    InputError
        When an override names a field not in :data:`FIELDS` or a column the header lacks.

    References
    ----------
    ldsc ``munge_sumstats.py`` ``default_cnames``; MungeSumstats ``sumstatsColHeaders``
    (Murphy AE et al. (2021) Bioinformatics 37:4593).
    """
    actual = {}
    for c in header.columns:
        actual.setdefault(c.upper(), c)
    out: dict = {}
    for fld, name in (overrides or {}).items():
        if name is None:           # explicitly: do not use this field
            out[fld] = None
            continue
        if fld not in FIELDS:
            raise InputError(header.path, f"a column override for one of {sorted(FIELDS)}", column=fld)
        if name.upper() not in actual:
            raise InputError(header.path, f"column '{name}' (given for {fld}) in the header; found {header.columns}",
                             row=0, column=name)
        out[fld] = actual[name.upper()]
    lay = next((f for f in FORMATS if f.name == fmt), None)
    used = set(out.values())
    if lay is not None:
        for fld, names in lay.mapping.items():
            if fld in out:
                continue
            for nm in ([names] if isinstance(names, str) else names):
                if nm in actual and actual[nm] not in used:
                    out[fld] = actual[nm]
                    used.add(actual[nm])
                    break
            else:
                out.setdefault(fld, None)     # the layout says: not this field by synonym
    for fld, names in SYNONYMS.items():
        if fld in out:
            continue
        for nm in names:
            if nm in actual and actual[nm] not in used:
                out[fld] = actual[nm]
                used.add(actual[nm])
                break
    return {k: v for k, v in out.items() if v is not None}


def vcf_build(meta: list[str]) -> str | None:
    """Genome build named by a VCF's ``##reference`` / ``##contig assembly`` lines, if any.

    Parameters
    ----------
    meta : list of str
        The ``##`` meta lines (:attr:`Header.meta`).

    Returns
    -------
    str or None
        ``"GRCh38"`` (grch38, hg38, b38) or ``"GRCh37"`` (grch37, hg19, b37, hs37, v37) from the first
        ``##reference`` or ``assembly=`` line naming one; None otherwise.
    """
    for m in meta:
        if m.startswith("##reference") or "assembly=" in m:
            low = m.lower()
            if re.search(r"grch38|hg38|b38", low):
                return "GRCh38"
            if re.search(r"grch37|hg19|b37|hs37|v37", low):
                return "GRCh37"
    return None


def vcf_sample_n(meta: list[str]) -> float | None:
    """Total sample size from a GWAS-VCF ``##SAMPLE=<...TotalCases=..,TotalControls=..>`` line.

    Parameters
    ----------
    meta : list of str
        As :func:`vcf_build`.

    Returns
    -------
    float or None
        Cases + controls of the first ``##SAMPLE`` line with both, else its ``SampleSize``; None when
        no ``##SAMPLE`` line gives either.

    References
    ----------
    Lyon MS et al. (2021) Genome Biol 22:32 (GWAS-VCF specification).
    """
    for m in meta:
        if m.startswith("##SAMPLE="):
            cases = re.search(r"TotalCases=([0-9.]+)", m)
            ctrls = re.search(r"TotalControls=([0-9.]+)", m)
            if cases and ctrls:
                return float(cases.group(1)) + float(ctrls.group(1))
            ss = re.search(r"SampleSize=([0-9.]+)", m)
            if ss:
                return float(ss.group(1))
    return None
