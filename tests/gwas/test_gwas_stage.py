"""`locusflow gwas` and `locusflow popgen`: CLI -> stage -> published datasets; bad input exits 2."""
import numpy as np
import pandas as pd

from locusflow.cli import main
from locusflow.io.dataset import read_dataset
from locusflow.io.genotypes import ingest_plink
from locusflow.popgen.fst import run_fst

from conftest import EXAMPLES
from peers.plink_glm import simulate

PREFIX = EXAMPLES / "1000G_EUR_chr20_22"


def test_gwas_and_popgen_commands(tmp_path):
    store = ingest_plink(PREFIX, tmp_path / "g.vcz")
    sim = simulate(PREFIX, tmp_path)
    out = tmp_path / "o"
    rc = main(["gwas", "--store", str(store.path), "--phenotypes", str(sim["pheno"]), "--covariates",
               str(sim["covar"]), "--traits", "q1", "b1", "--downstream-trait", "q1", "--out", str(out)])
    assert rc == 0
    assoc = read_dataset(out / "gwas" / "assoc", "gwas_assoc")
    ss = read_dataset(out / "gwas" / "sumstats", "sumstats")
    assert set(assoc["trait"]) == {"q1", "b1"} and len(ss) == 5481
    top = ss.set_index("variant_id").loc[store.variants["variant_id"].iloc[sim["causal"][0]]]
    assert top["p"] < 1e-6
    # populations: the two halves of the samples (no structure: Fst ~ 0, but the numbers are the API's)
    pops = pd.DataFrame({"IID": store.samples, "pop": np.where(np.arange(489) % 2, "A", "B")})
    pops.to_csv(tmp_path / "pops.tsv", sep="\t", index=False)
    assert main(["popgen", "--store", str(store.path), "--populations", str(tmp_path / "pops.tsv"),
                 "--window", "200000", "--out", str(out)]) == 0
    fst = read_dataset(out / "popgen" / "fst", "fst_variants").sort_values(["chrom", "pos"]).reset_index(drop=True)
    ref = run_fst(store.path, pops.set_index("IID")["pop"]).sort_values(["chrom", "pos"]).reset_index(drop=True)
    np.testing.assert_allclose(fst["hudson_fst"], ref["hudson_fst"], equal_nan=True)
    assert len(read_dataset(out / "popgen" / "fst_windows", "fst_windows")) >= 10
    fr = read_dataset(out / "popgen" / "frequencies", "pop_allele_freq")
    assert set(fr["population"]) == {"A", "B"} and len(fr) == 2 * 5481


def test_gwas_bad_phenotype_exits_2(tmp_path, capsys):
    store = ingest_plink(PREFIX, tmp_path / "g.vcz")
    sim = simulate(PREFIX, tmp_path)
    ph = pd.read_csv(sim["pheno"], sep="\t").astype({"q1": object})
    ph.loc[2, "q1"] = "n/a?"
    ph.to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    out = tmp_path / "o"
    rc = main(["gwas", "--store", str(store.path), "--phenotypes", str(tmp_path / "bad.tsv"), "--out", str(out)])
    assert rc == 2
    assert "bad.tsv, row 3, column 'q1': a number or NA (found 'n/a?')" in capsys.readouterr().err
    assert not (out / "gwas").exists()
