"""Validate a GWAS-SSF file with EBI's gwas-sumstats-tools (run in its own venv): every check of
``Validator.validate`` except the whole-genome chromosome check (the bundled example covers two windows
of chr20/chr22). argv: file. Prints "VALID" or the validator's message; exit 0 / 1."""
import sys
from pathlib import Path

from gwas_sumstats_tools.validate import Validator

v = Validator(pval_zero=False, minimum_rows=100, sumstats_file=Path(sys.argv[1]), chunksize=1_000_000)
steps = [v._validate_file_ext, v._validate_field_order]
ok, msg = True, ""
for step in steps:
    ok, msg = step()
    if not ok:
        break
if ok:
    df = v.as_pd_df(nrows=10_000_000)
    ok, msg = v._minrow_check(df=df)
    if ok:
        ok, msg = v._validate_df(df)
v.valid = ok
v._evaluate_errors()
print("VALID" if ok else f"INVALID: {msg} {v.primary_error_type}")
if not ok and v.errors_table:
    print(v.errors_table.head(5))
sys.exit(0 if ok else 1)
