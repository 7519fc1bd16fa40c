"""SuSiE-inf (Cui et al. 2024) against the authors' reference implementation (FinucaneLab/fine-mapping-inf),
whose outputs on N3finemapping are committed fixtures (tests/fixtures/finemap, with provenance and the
script that regenerates them): PIPs to 1e-4 (measured <= 3.2e-9), sigma^2 and tau^2, the infinitesimal
effects and identical credible sets, for both responses and both variance estimators."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from finemap_helpers import univariate_z

from locusflow.finemap.susie_inf import susie_inf

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "finemap" / "susie_inf_n3.npz"


@pytest.mark.parametrize("method", ["moments", "MLE"])
@pytest.mark.parametrize("response", [1, 2])
def test_susie_inf_matches_reference(realdata, response, method):
    ref = np.load(FIXTURE)
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    x = d["X"]
    fit = susie_inf(univariate_z(x, d["Y"][:, response - 1]), np.corrcoef(x.T), len(x), method=method)
    key = f"r{response}_{method}"
    assert np.abs(fit.pip - ref[f"{key}_pip"]).max() < 1e-4
    np.testing.assert_allclose(fit.alpha, ref[f"{key}_alpha_l"], atol=1e-4)
    assert fit.sigmasq == pytest.approx(float(ref[f"{key}_sigmasq"]), rel=1e-6)
    assert fit.tausq == pytest.approx(float(ref[f"{key}_tausq"]), rel=1e-4)
    assert fit.tausq > 0                                   # the background is estimated, not zero
    np.testing.assert_allclose(fit.infinitesimal, ref[f"{key}_infinitesimal"], atol=1e-8)
    assert [list(map(int, s)) for s in fit.sets] == json.loads(str(ref[f"{key}_sets"]))
    coef = d["true_coef"][:, response - 1]                  # known truth: the top PIP is a causal SNP
    assert coef[np.argmax(fit.pip)] != 0


def test_stage_method_susie_inf(tmp_path):
    """``method: susie_inf`` through the stage: the z-vs-LD check ran, credible sets named by effect."""
    from finemap_helpers import example_sumstats
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.dataset import read_dataset
    from locusflow.io.genotypes import ingest_plink
    from conftest import EXAMPLES
    ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path / "g.vcz")
    example_sumstats(tmp_path / "ss")
    out = tmp_path / "run"
    summary = run_finemap({"out": str(out), "finemap": {
        "method": "susie_inf", "store": str(tmp_path / "g.vcz"), "sumstats": str(tmp_path / "ss"),
        "blocks": {"window_kb": 250}, "p_threshold": 1e-15}})
    assert summary["blocks_ok"] == 2
    blocks = read_dataset(out / "finemap" / "blocks", "finemap_block")
    snp = read_dataset(out / "finemap" / "snp", "finemap_snp")
    cs = read_dataset(out / "finemap" / "cs", "finemap_cs")
    assert (blocks["method"] == "susie_inf").all() and blocks["ld_mismatch"].notna().all()
    assert snp["pip"].between(0, 1).all() and len(cs) >= 2 and (cs["method"] == "susie_inf").all()
