"""The finemap stage reading R from the LD stage's stored matrices gives the PIPs it gets computing R
from the genotype store (same blocks, same variants), and reports what the LD stage's MAF filter dropped."""
import numpy as np

from locusflow.config import load_config
from locusflow.io.dataset import read_dataset
from locusflow.pipeline import run_pipeline

from conftest import EXAMPLES


def _cfg(out, ld, maf):
    return load_config(None, {
        "out": str(out), "stages": ["ingest", "munge", "ld", "finemap"],
        "ingest": {"plink": str(EXAMPLES / "1000G_EUR_chr20_22")},
        "munge": {"sumstats": str(EXAMPLES / "bolt_chr20_22.sumstats.gz"), "n": 337000},
        "ld": {"blocks": "EUR", "maf": maf},
        "finemap": {"method": "susie", "ld": ld, "blocks": {"dataset": str(out / "ld" / "blocks")}, "n": 337000}})


def test_finemap_from_stored_ld_equals_store_ld(tmp_path):
    out = tmp_path / "run"
    run_pipeline(_cfg(out, True, 0.0))
    from_ld = read_dataset(out / "finemap" / "snp", "finemap_snp")
    blocks_ld = read_dataset(out / "finemap" / "blocks", "finemap_block")
    run_pipeline(_cfg(out, None, 0.0), force=True)
    from_store = read_dataset(out / "finemap" / "snp", "finemap_snp")
    assert len(from_ld) == len(from_store) > 3000
    assert list(from_ld["variant_id"]) == list(from_store["variant_id"])
    np.testing.assert_allclose(from_ld["pip"], from_store["pip"], atol=1e-5)
    assert (blocks_ld["n_not_in_ld"] == 0).all()
    # top PIP of each block is the same variant either way
    top = lambda d: d.sort_values("pip").groupby("block_id").tail(1).set_index("block_id")["variant_id"]  # noqa
    assert top(from_ld).to_dict() == top(from_store).to_dict()


def test_finemap_reports_variants_missing_from_stored_ld(tmp_path):
    out = tmp_path / "run"
    run_pipeline(_cfg(out, True, 0.05))
    b = read_dataset(out / "finemap" / "blocks", "finemap_block")
    snp = read_dataset(out / "finemap" / "snp", "finemap_snp")
    assert b["n_not_in_ld"].sum() > 0 and (b["status"] == "ok").all()
    # every fine-mapped variant has MAF >= 5% in the panel (it is in the stored matrix)
    from locusflow.io.genotypes import GenotypeStore
    af = GenotypeStore(out / "ingest" / "genotypes.vcz").variants.set_index("variant_id")["af"]
    fitted = snp[snp["pip"].notna()]
    assert len(fitted) == int(b["n_fitted"].sum()) > 1000
    maf = np.minimum(af[fitted["variant_id"]], 1 - af[fitted["variant_id"]])
    assert (maf >= 0.05 - 1e-12).all()
