"""`locusflow munge` read in row chunks (bounded memory): the same table, dropped rows, report and dataset
files as one pass over the whole file, on the bundled example, the real polypred BOLT-LMM file against its
1000G panel, a real file with malformed rows, and a white-space file with varying N, duplicates and
multi-allelic positions; the rows held at once are bounded by the chunk size and one chromosome."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from locusflow.io.munge import munge
from locusflow.io.plink import join_filesets

from conftest import EXAMPLES

POLY = "polyfun_1kg_eur/polypred_example"


def _same(whole, chunked):
    pd.testing.assert_frame_equal(whole.sumstats, chunked.sumstats)
    pd.testing.assert_frame_equal(whole.dropped, chunked.dropped)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("seconds", "chunks")}  # noqa: E731
    assert strip(whole.report) == strip(chunked.report)


def _same_files(a, b):
    files = sorted(p.relative_to(a) for p in a.rglob("*.parquet"))
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.parquet")) and files
    for f in files:
        assert pq.read_table(a / f).equals(pq.read_table(b / f)), f
    assert (a / "_munge_report.tsv").read_text() == (b / "_munge_report.tsv").read_text()


def test_example_chunked_dataset_identical(tmp_path):
    kw = dict(reference=EXAMPLES / "1000G_EUR_chr20_22", n=337000)
    whole = munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", tmp_path / "one", chunk_rows=None, **kw)
    part = munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", tmp_path / "many", chunk_rows=400, keep_table=False, **kw)
    assert part.sumstats is None and part.path == tmp_path / "many"
    part.sumstats = whole.sumstats                  # not kept: the files below are the table
    _same(whole, part)
    _same_files(tmp_path / "one", tmp_path / "many")
    ch = part.report["chunks"]
    assert ch["chunks"] == int(np.ceil(5481 / 400)) and ch["largest_chunk"] == 400 and ch["spilled"]
    assert not whole.report["chunks"]["spilled"] and whole.report["chunks"]["chunks"] == 1


def test_polypred_and_malformed_rows_chunked(realdata, tmp_path):
    src = realdata / POLY
    ref = join_filesets([src / f"1000G.subset.{c}" for c in range(1, 23)], tmp_path / "panel")
    path = src / "bolt.sumstats.txt.gz"
    kw = dict(reference=ref, n=337000)
    whole, part = munge(path, chunk_rows=None, **kw), munge(path, chunk_rows=5000, **kw)
    _same(whole, part)
    assert whole.report["kept"] == 54847        # as measured with the one-pass code
    # bounded memory: rows held at once are one chunk, or one chromosome's rows left after the row filters
    raw = pd.read_csv(path, sep="\t", usecols=["CHR"])
    ch = part.report["chunks"]
    assert ch["largest_chunk"] == 5000 and ch["chunks"] == int(np.ceil(len(raw) / 5000))
    assert ch["largest_chromosome"] <= raw["CHR"].value_counts().max() < len(raw) / 15
    ieu = realdata / "sumstats_format_fixtures" / "ieu-a-298.tsv.gz"     # 2 malformed rows, renumbered
    whole, part = munge(ieu, chunk_rows=None), munge(ieu, chunk_rows=37)
    _same(whole, part)
    assert whole.report["dropped"] == {"malformed_row": 2}


@pytest.fixture
def messy(tmp_path):
    """The bundled example white-space separated, N varying (some rows far below), repeated rows, copies
    with another effect, and positions with a second allele pair, shuffled."""
    d = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t")
    rng = np.random.default_rng(1)
    d["N"] = rng.integers(1000, 5000, len(d))
    d.loc[::7, "N"] = 100
    other = d.iloc[5::97].assign(BETA=lambda x: x["BETA"] + 0.1)
    multi = d.iloc[3::131].assign(ALLELE0=lambda x: np.where(x["ALLELE1"] == "A", "C", "A"), ALLELE1="T")
    out = tmp_path / "messy.txt"
    pd.concat([d, d.iloc[::50], other, multi]).sample(frac=1, random_state=2).to_csv(out, sep=" ", index=False)
    return out


def test_whitespace_varying_n_duplicates_chunked(messy):
    kw = dict(reference=EXAMPLES / "1000G_EUR_chr20_22", min_info=None)
    whole, part = munge(messy, chunk_rows=None, **kw), munge(messy, chunk_rows=333, **kw)
    _same(whole, part)
    drops = whole.report["dropped"]
    assert {"low_n", "duplicate", "conflicting_duplicate", "multi_allelic"} <= set(drops)
