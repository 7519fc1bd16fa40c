"""TWAS inputs: a tissue whose PredictDB holds no weight (real GTEx v6p TW_Pituitary_0.5.db) is reported and
skipped, the other tissues give exactly their single-tissue results; the README example
`locusflow twas --predictdb DB --covariance COV --sumstats ss --out t` runs as written (it crashed with
`argmax of an empty sequence`: without --store the LD reference defaulted to a store that did not exist,
so no weight SNP was placed and the model-placement step had no chromosome at all)."""
from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pandas as pd
import pytest

from locusflow.cli import main as cli_main
from locusflow.io.dataset import read_dataset
from locusflow.io.munge import munge
from locusflow.io.weights import read_weights

from conftest import EXAMPLES
from logcapture import warnings_log  # noqa: F401 (fixture)

DB = EXAMPLES / "twas_sim_chr20_22.db"
COV = EXAMPLES / "twas_sim_chr20_22.cov.txt.gz"


@pytest.fixture(scope="module")
def sumstats(tmp_path_factory):
    out = tmp_path_factory.mktemp("ss") / "ss"
    munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", out, reference=EXAMPLES / "1000G_EUR_chr20_22")
    return out




def empty_db(path):
    """A PredictDB with both tables and no rows, as GTEx v6p TW_Pituitary_0.5.db."""
    con = sqlite3.connect(path)
    con.execute("create table weights (rsid text, gene text, weight double, ref_allele text, eff_allele text)")
    con.execute("create table extra (gene text, genename text, `pred.perf.R2` double, `n.snps.in.model` integer,"
                " `pred.perf.pval` double)")
    con.commit()
    con.close()
    return path


def results(out):
    r = read_dataset(out / "twas" / "results", "twas_results")
    return r.sort_values("model_id").reset_index(drop=True)


def test_readme_example_runs(tmp_path, sumstats):
    assert cli_main(["twas", "--predictdb", str(DB), "--covariance", str(COV), "--sumstats", str(sumstats),
                     "--out", str(tmp_path / "t")]) == 0
    r = results(tmp_path / "t")
    assert len(r) == 24 and r["zscore"].notna().sum() == 23


def test_readme_example_store_without_store_is_a_clear_error(tmp_path, sumstats, capsys):
    code = cli_main(["twas", "--predictdb", str(DB), "--sumstats", str(sumstats), "--out", str(tmp_path / "t")])
    assert code == 2
    err = capsys.readouterr().err
    assert "genotypes.vcz: a genotype store for twas ld_reference 'store'" in err
    assert not (tmp_path / "t" / "twas" / "results").exists()


def test_empty_tissue_skipped_store_path(tmp_path, sumstats, warnings_log, realdata):
    pit = realdata / "metaxcan_test_models" / "dbs_3" / "TW_Pituitary_0.5.db"
    con = sqlite3.connect(f"file:{pit}?mode=ro", uri=True)
    assert con.execute("select count(*) from weights").fetchone()[0] == 0
    con.close()
    mine = empty_db(tmp_path / "TW_Empty_0.5.db")
    base = ["--sumstats", str(sumstats), "--predictdb", str(DB), "--covariance", str(COV)]
    assert cli_main(["twas", *base, "--out", str(tmp_path / "one")]) == 0
    assert cli_main(["twas", *base, "--predictdb", str(pit), "--covariance", str(COV), "--predictdb", str(mine),
                     "--covariance", str(COV), "--out", str(tmp_path / "three")]) == 0
    msgs = [r.getMessage() for r in warnings_log.records if r.levelno == logging.WARNING]
    assert any("TW_Pituitary_0.5.db holds no model (0 weights); skipped" in m for m in msgs)
    assert any("TW_Empty_0.5.db holds no model" in m for m in msgs)
    a, b = results(tmp_path / "one"), results(tmp_path / "three")
    assert len(a) == len(b) == 24
    np.testing.assert_array_equal(a["zscore"].to_numpy(), b["zscore"].to_numpy())


def test_empty_tissue_skipped_direct_mode(tmp_path, realdata, warnings_log):
    """`--gwas` (MetaXcan's direct mode) over real GTEx Liver, Adrenal and the empty Pituitary: the
    non-empty tissues give exactly their single-tissue z-scores (it raised IndexError before)."""
    m = realdata / "metaxcan_test_models"
    tissues = ["TW_Liver", "TW_Adrenal_Gland"]
    w = read_weights([{"predictdb": m / "dbs_3" / f"{t}_0.5.db"} for t in tissues])
    snps = w.drop_duplicates("rsid")
    rng = np.random.default_rng(3)
    z = rng.normal(size=len(snps))
    gwas = pd.DataFrame({"SNP": snps["rsid"], "A1": snps["effect_allele"], "A2": snps["other_allele"],
                         "ZSCORE": z, "BETA": z / 100})
    gwas.to_csv(tmp_path / "g.txt", sep="\t", index=False)

    def run(names, out):
        args = ["twas", "--gwas", str(tmp_path / "g.txt"), "--out", str(tmp_path / out)]
        for t in names:
            args += ["--predictdb", str(m / "dbs_3" / f"{t}_0.5.db"), "--covariance", str(m / "cov_3" / f"{t}.txt.gz")]
        assert cli_main(args) == 0
        return results(tmp_path / out)
    alone = pd.concat([run([t], t) for t in tissues]).sort_values("model_id").reset_index(drop=True)
    together = run(["TW_Liver", "TW_Pituitary", "TW_Adrenal_Gland"], "all")
    assert len(together) == len(alone) == w["model_id"].nunique() and together["zscore"].notna().all()
    np.testing.assert_array_equal(together["zscore"].to_numpy(), alone["zscore"].to_numpy())
    assert any("TW_Pituitary_0.5.db holds no model" in r.getMessage() for r in warnings_log.records)


def test_every_tissue_empty_is_an_error(tmp_path):
    with pytest.raises(Exception, match="at least one weight in the weight sources; every one is empty"):
        read_weights([{"predictdb": empty_db(tmp_path / "a.db")}, {"predictdb": empty_db(tmp_path / "b.db")}])


def test_rsid_only_weights_placed_by_a_lazy_locator():
    """io.weights.place: rsid-only SNPs (chrom 'NA') take the first chrom/pos of their rsid in the locating
    table; a Locator built from a function loads that table only when some SNP needs placing."""
    import pandas as pd

    from locusflow.io.weights import Locator, place

    calls = []

    def table():
        calls.append(1)
        return pd.DataFrame({"rsid": ["rs1", "rs2", "rs1", None], "chrom": ["1", "2", "3", "4"], "pos": [10, 20, 30, 40]})

    placed = pd.DataFrame({"rsid": ["rs1", "rs9"], "chrom": ["5", "6"], "pos": [1, 2]})
    loc = Locator(table)
    out = place(placed, loc)
    assert calls == [] and list(out["chrom"]) == ["5", "6"] and str(out["pos"].dtype) == "Int64"
    rsid_only = pd.DataFrame({"rsid": ["rs1", "rs2", "rs3", "rs2"], "chrom": ["NA", "NA", "NA", "7"],
                              "pos": [None, None, None, 70]})
    out = place(rsid_only, loc)
    assert calls == [1]
    assert list(out["chrom"]) == ["1", "2", "NA", "7"]
    assert out["pos"].tolist() == [10, 20, pd.NA, 70]
    place(rsid_only, loc)
    assert calls == [1]                     # built once, kept for every database
    # an Arrow table (a genotype store's rsid, chrom, pos: io.genotypes.store_columns), chrom dictionary-encoded
    import pyarrow as pa
    arrow = pa.table({"rsid": ["rs1", "rs2", "rs1", None], "chrom": pa.array(["1", "2", "3", "4"]).dictionary_encode(),
                      "pos": pa.array([10, 20, 30, 40], pa.int64())})
    out = place(rsid_only, Locator(lambda: arrow))
    assert list(out["chrom"]) == ["1", "2", "NA", "7"] and out["pos"].tolist() == [10, 20, pd.NA, 70]


def test_rsid_only_databases_placed_in_one_lookup(tmp_path):
    """io.weights.read_weights: the rsid-only SNPs of every database are placed after reading them all, by one
    call of the locating function; each SNP takes its rsid's first row (GTEx v6p/v7 databases have no varID)."""
    import pyarrow as pa
    dbs = []
    for k, rows in enumerate([[("rs1", "G1", 0.5, "A", "G"), ("rs2", "G1", -0.2, "C", "T")],
                              [("rs2", "G2", 0.3, "C", "T"), ("rs9", "G2", 0.1, "A", "C")]]):
        db = tmp_path / f"t{k}.db"
        con = sqlite3.connect(db)
        con.execute("create table weights (rsid text, gene text, weight double, ref_allele text, eff_allele text)")
        con.execute("create table extra (gene text, genename text, `n.snps.in.model` integer)")
        con.executemany("insert into weights values (?, ?, ?, ?, ?)", rows)
        con.execute("insert into extra values (?, ?, ?)", (rows[0][1], rows[0][1], len(rows)))
        con.commit()
        con.close()
        dbs.append({"predictdb": str(db), "tissue": f"T{k}"})
    calls = []

    def table():
        calls.append(1)
        return pa.table({"rsid": ["rs2", "rs1", "rs2"], "chrom": ["22", "20", "21"], "pos": [200, 100, 300]})

    w = read_weights(dbs, locate=table)
    assert calls == [1]
    got = {(r.tissue, r.rsid): (r.chrom, r.pos) for r in w.itertuples()}
    assert got == {("T0", "rs1"): ("20", 100), ("T0", "rs2"): ("22", 200), ("T1", "rs2"): ("22", 200),
                   ("T1", "rs9"): ("NA", pd.NA)}
