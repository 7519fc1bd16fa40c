"""Direct (MetaXcan-style) TWAS inputs: a GWAS text table read straight into the columns S-PrediXcan needs.

The pipeline reads munged sumstats (schema sumstats); :func:`read_gwas_text` is the shortcut used by
``bench/twas.py`` to read the same text file MetaXcan's ``SPrediXcan.py`` reads (``--snp_column``,
``--effect_allele_column``, ``--non_effect_allele_column``, ``--zscore_column``, ``--beta_column``).
Arrow's CSV reader, one thread; rsids stay Arrow strings and alleles dictionary-encoded (no Python
object per row), z and beta float64.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..io.fastread import maybe_gunzip, arrow_frame


def read_gwas_text(path, *, snp: str = "SNP", effect_allele: str = "A1", non_effect_allele: str = "A2",
                   zscore: str = "ZSCORE", beta: str | None = "BETA", delimiter: str = "\t") -> pd.DataFrame:
    """(rsid, alt = effect allele, ref, z[, beta]) from a delimited GWAS text file (gz allowed)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "a GWAS text file; not found")
    dic = pa.dictionary(pa.int32(), pa.string())
    cols = {snp: "rsid", effect_allele: "alt", non_effect_allele: "ref", zscore: "z", **({beta: "beta"} if beta else {})}
    try:
        t = pcsv.read_csv(maybe_gunzip(path), read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 22),
                          parse_options=pcsv.ParseOptions(delimiter=delimiter),
                          convert_options=pcsv.ConvertOptions(
                              include_columns=list(cols), column_types={
                                  snp: pa.string(), effect_allele: dic, non_effect_allele: dic,
                                  zscore: pa.float64(), **({beta: pa.float64()} if beta else {})}))
    except (pa.ArrowInvalid, pa.ArrowKeyError, KeyError) as exc:
        raise InputError(path, f"a {delimiter!r}-delimited table with columns {list(cols)} ({exc})") from None
    d = arrow_frame(t)
    d.columns = [cols[c] for c in t.column_names]
    for c in ("alt", "ref"):   # alleles compared upper-case
        d[c] = d[c].cat.rename_categories(d[c].cat.categories.astype(str).str.upper()) \
            if d[c].cat.categories.astype(str).str.upper().is_unique else d[c].astype(str).str.upper()
    return d
