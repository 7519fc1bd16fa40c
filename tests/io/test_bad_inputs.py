"""Bad inputs of sumstats, genotypes, weights and LD-block BEDs through the CLI: each case asserts the one-line
message (file, row/column, what was expected), exit status 2, no traceback, and nothing published (no
`_SUCCESS`, no dataset directory under the output). The same table is in docs/reliability_inputs.md:
`python tests/io/test_bad_inputs.py` prints it from CASES."""
from __future__ import annotations

import gzip
import logging
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import EXAMPLES, REALDATA  # noqa: E402

PLINK = EXAMPLES / "1000G_EUR_chr20_22"
DB = EXAMPLES / "twas_sim_chr20_22.db"
COV = EXAMPLES / "twas_sim_chr20_22.cov.txt.gz"
GOOD = "CHR\tBP\tSNP\tA1\tA2\tBETA\tSE\tP\n20\t100\trs1\tA\tG\t0.1\t0.05\t0.04\n20\t200\trs2\tC\tT\t-0.1\t0.05\t0.04\n"


@dataclass
class Case:
    name: str
    area: str                              # sumstats | genotypes | weights | blocks
    what: str                              # the bad input, in words (the docs table)
    make: Callable[[Path], list]           # writes the inputs under tmp, returns the CLI argv (with --out tmp/out)
    expect: str                            # substring of the message (after "locusflow: error: ")
    realdata: bool = False                 # needs ../shared/realdata (skipped without it)


def text(tmp: Path, name: str, body: str) -> Path:
    p = tmp / name
    p.write_text(body)
    return p


def munge(tmp, body, *extra, name="s.tsv"):
    return ["munge", str(text(tmp, name, body)), "--out", str(tmp / "out"), *extra]


def plink_copy(tmp: Path, edit=None, ext="fam") -> Path:
    dst = tmp / "g"
    for e in ("bed", "bim", "fam"):
        shutil.copy(f"{PLINK}.{e}", f"{dst}.{e}")
    if edit is not None:
        p = Path(f"{dst}.{ext}")
        lines = p.read_text().splitlines()
        p.write_text("\n".join(edit(lines)) + "\n")
    return dst


def ingest(tmp, **kw):
    return ["ingest", "plink", str(plink_copy(tmp, **kw)), "--out", str(tmp / "out")]


def vcf(tmp, body_rows):
    head = "##fileformat=VCFv4.2\n##contig=<ID=20>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
    return ["ingest", "vcf", str(text(tmp, "x.vcf", head + body_rows)), "--out", str(tmp / "out")]


def db_copy(tmp, sql=None, name="w.db"):
    dst = tmp / name
    shutil.copy(DB, dst)
    if sql:
        con = sqlite3.connect(dst)
        con.executescript(sql)
        con.commit()
        con.close()
    return dst


def twas_direct(tmp, db, cov=COV):
    g = text(tmp, "g.txt", "SNP\tA1\tA2\tZSCORE\tBETA\nrs1\tA\tG\t1.0\t0.1\n")
    return ["twas", "--gwas", str(g), "--predictdb", str(db), "--covariance", str(cov), "--out", str(tmp / "out")]


def ld(tmp, bed_body):
    from locusflow.io.genotypes import ingest_plink
    ingest_plink(PLINK, tmp / "g.vcz")
    return ["ld", "--store", str(tmp / "g.vcz"), "--blocks", str(text(tmp, "b.bed", bed_body)),
            "--out", str(tmp / "out")]


def truncated_gz(tmp):
    raw = gzip.compress((GOOD + "20\t300\trs3\tA\tG\t0.1\t0.05\t0.04\n" * 2000).encode())
    (tmp / "t.tsv.gz").write_bytes(raw[: len(raw) // 2])
    return ["munge", str(tmp / "t.tsv.gz"), "--out", str(tmp / "out")]


def no_fai(tmp):
    fa = tmp / "g.fa"
    fa.write_text(">20\nACGT\n")
    return munge(tmp, GOOD, "--fasta", str(fa), "--min-maf", "0")


CHAIN = REALDATA / "munging_resources" / "hg19ToHg38.over.chain.gz"

CASES = [
    Case("sumstats_not_a_number", "sumstats", "BETA 'abc' in data row 3",
         lambda t: munge(t, GOOD + "20\t300\trs3\tA\tG\tabc\t0.05\t0.04\n"), "s.tsv, row 3, column 'BETA': a number (found 'abc')"),
    Case("sumstats_p_out_of_range", "sumstats", "P = 1.5",
         lambda t: munge(t, GOOD.replace("0.04\n20", "1.5\n20")), "s.tsv, row 1, column 'P': a p-value in [0, 1] (found 1.5)"),
    Case("sumstats_no_effect_allele", "sumstats", "no A1/ALLELE1/EFFECT_ALLELE column",
         lambda t: munge(t, GOOD.replace("\tA1\t", "\tXX\t")), "s.tsv, row 0: columns for effect allele"),
    Case("sumstats_empty", "sumstats", "empty file", lambda t: munge(t, ""), "s.tsv, row 0: a header line naming the columns"),
    Case("sumstats_truncated_gzip", "sumstats", "gzip cut in the middle", truncated_gz,
         "t.tsv.gz: a complete, readable file (OSError: Truncated compressed stream)"),
    Case("sumstats_fractional_position", "sumstats", "BP = 12.5",
         lambda t: munge(t, GOOD.replace("\t100\t", "\t12.5\t")), "s.tsv, row 1, column 'BP': a positive integer base-pair position (found 12.5)"),
    Case("sumstats_mixed_builds", "sumstats", "BUILD column hg19 and hg38",
         lambda t: munge(t, "CHR\tBP\tSNP\tA1\tA2\tBETA\tSE\tBUILD\n20\t1\tr1\tA\tG\t1\t1\thg19\n20\t2\tr2\tA\tG\t1\t1\thg38\n"),
         "s.tsv, row 2, column 'BUILD': one genome build throughout"),
    Case("sumstats_override_not_in_header", "sumstats", "--beta-col names a missing column",
         lambda t: munge(t, GOOD, "--beta-col", "EFFECT"), "s.tsv, row 0, column 'EFFECT': column 'EFFECT' (given for beta) in the header"),
    Case("sumstats_liftover_wrong_chain", "sumstats", "hg19->hg38 chain for a GRCh38 -> GRCh37 run",
         lambda t: munge(t, GOOD, "--liftover-chain", str(CHAIN), "--source-build", "GRCh38", "--set", "genome_build=GRCh37"),
         "hg19ToHg38.over.chain.gz: a chain from GRCh38 to GRCh37 (found 'hg19ToHg38.over.chain.gz')", True),
    Case("sumstats_liftover_unknown_build", "sumstats", "--liftover-chain, build of the file unknown",
         lambda t: munge(t, GOOD, "--liftover-chain", str(CHAIN), "--set", "genome_build=GRCh38"),
         "s.tsv: the build of the file's positions for liftover", True),
    Case("sumstats_fasta_without_index", "sumstats", "--fasta without .fai", no_fai, "g.fa: a .fai index beside the FASTA"),
    Case("plink_fam_surplus_rows", "genotypes", ".fam with 2 extra rows (same .bed size: padding slots)",
         lambda t: ingest(t, edit=lambda ls: ls + ["X1 X1 0 0 1 -9", "X2 X2 0 0 1 -9"]),
         "g.bed: 491 samples as listed in "),
    Case("plink_fam_missing_row", "genotypes", ".fam one row short (.bed bytes per variant differ)",
         lambda t: ingest(t, edit=lambda ls: ls[:-1]), "g.bed: 3 + 122 x 5481 bytes for the 488 samples of "),
    Case("plink_fam_short_row", "genotypes", ".fam row with 5 fields",
         lambda t: ingest(t, edit=lambda ls: ls[:3] + [" ".join(ls[3].split()[:5])] + ls[4:]),
         "g.fam, row 4: 6 whitespace-separated columns: FID IID father mother sex phenotype"),
    Case("plink_bim_bad_position", "genotypes", ".bim position 'x12'",
         lambda t: ingest(t, ext="bim", edit=lambda ls: ls[:9] + ["\t".join(ls[9].split()[:3] + ["x12"] + ls[9].split()[4:])] + ls[10:]),
         "g.bim, row 10, column 'pos (4)': an integer base-pair position (found 'x12')"),
    Case("plink_bed_magic", "genotypes", ".bed without the PLINK magic bytes",
         lambda t: _bad_magic(t), "g.bed: PLINK 1 variant-major .bed (magic bytes 6c 1b 01)"),
    Case("vcf_short_row", "genotypes", "VCF data line with 1 of 2 sample columns",
         lambda t: vcf(t, "20\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n20\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0|1\n"),
         "x.vcf, row 2, column '20:200': 11 tab-separated fields per line (9 + 2 samples in the #CHROM header) (found '10 fields')"),
    Case("vcf_surplus_column", "genotypes", "VCF data line with 3 sample columns for 2 samples",
         lambda t: vcf(t, "20\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n"),
         "x.vcf, row 1, column '20:100': 11 tab-separated fields per line (9 + 2 samples in the #CHROM header) (found '12 fields')"),
    Case("predictdb_no_extra_table", "weights", "PredictDB without table 'extra'",
         lambda t: twas_direct(t, db_copy(t, "drop table extra;")),
         "w.db, column 'extra': a PredictDB model database with a 'extra' table"),
    Case("predictdb_null_allele", "weights", "PredictDB weight row without eff_allele",
         lambda t: twas_direct(t, db_copy(t, "update weights set eff_allele = NULL where rowid = 3;")),
         "w.db table weights, row 3, column 'eff_allele': a number / allele / rsid in every row"),
    Case("predictdb_all_empty", "weights", "every --predictdb has 0 weights (GTEx v6p Pituitary-like)",
         lambda t: twas_direct(t, db_copy(t, "delete from weights; delete from extra;")),
         "command line, column '--predictdb': at least one --predictdb with weights; every one is empty"),
    Case("covariance_not_a_number", "weights", "covariance VALUE 'high'",
         lambda t: twas_direct(t, DB, text(t, "c.txt", "GENE RSID1 RSID2 VALUE\ng1 rs1 rs1 high\n")),
         "c.txt, row 1, column 'VALUE': a number or NA (found 'high')"),
    Case("bed_stop_before_start", "blocks", "LD-block BED row with stop < start",
         lambda t: ld(t, "chr20\t100\t50\n"), "b.bed, row 1, column 'stop': stop > start (found 50)"),
    Case("bed_not_integer", "blocks", "LD-block BED start 'ten'",
         lambda t: ld(t, "chr20\t0\t100\nchr20\tten\t300\n"), "b.bed, row 2, column 'start': a non-negative integer (BED coordinate)"),
    Case("bed_overlap", "blocks", "overlapping LD blocks",
         lambda t: ld(t, "chr20\t0\t100\nchr20\t50\t300\n"), "b.bed, row 2, column 'start': non-overlapping blocks"),
]


def _bad_magic(tmp):
    argv = ingest(tmp)
    bed = Path(f"{tmp / 'g'}.bed")
    raw = bytearray(bed.read_bytes())
    raw[2] = 0
    bed.write_bytes(bytes(raw))
    return argv


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, capsys):
    from locusflow.cli import main
    if case.realdata and not REALDATA.exists():
        pytest.skip("real data not present")
    handlers = [h for h in logging.getLogger("locusflow").handlers if hasattr(h, "stream")]
    old = [h.stream for h in handlers]
    for h in handlers:          # the package's handler writes to this test's captured stderr
        h.stream = sys.stderr
    try:
        argv = case.make(tmp_path)
        capsys.readouterr()
        code = main(argv)
    finally:
        for h, st in zip(handlers, old):
            h.stream = st
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) >= 1 and err[-1].startswith("locusflow: error: "), err
    assert "Traceback" not in "\n".join(err)
    assert case.expect in err[-1], err[-1]
    out = tmp_path / "out"              # nothing published, nothing half-written (.locusflow: the run's own state)
    visible = [p for p in out.iterdir() if p.name != ".locusflow"] if out.exists() else []
    assert not visible, visible[:5]


def markdown() -> str:
    rows = ["| # | area | bad input | message contains |", "|---|---|---|---|"]
    for i, c in enumerate(CASES, 1):
        rows.append(f"| {i} | {c.area} | {c.what} | `{c.expect}` |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())
