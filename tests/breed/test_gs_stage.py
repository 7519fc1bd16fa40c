"""`locusflow gs` and `locusflow chip` on the bundled genotypes with a simulated trait of known causal
variants; bad phenotype tables end in one line and exit 2 with nothing published."""
import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES
from locusflow.cli import main
from locusflow.io.dataset import read_dataset


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from locusflow.io.genotypes import GenotypeStore, ingest_plink
    root = tmp_path_factory.mktemp("gs")
    st = GenotypeStore(ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", root / "g.vcz").path)
    d = st.dosages(0, len(st.variants)).astype(float).T
    d = np.where(np.isnan(d), np.nanmean(d, 0), d)
    f = d.mean(0) / 2
    rng = np.random.default_rng(7)
    causal = rng.choice(np.flatnonzero(np.minimum(f, 1 - f) > 0.1), 10, replace=False)
    g = (d[:, causal] - d[:, causal].mean(0)) @ rng.normal(size=10)
    g = g / g.std() * np.sqrt(0.8)
    y = g + rng.normal(scale=np.sqrt(0.2), size=g.size)
    ids = np.asarray(st.samples, str)
    tab = pd.DataFrame({"IID": ids, "sex": rng.integers(1, 3, ids.size), "yield": y, "y2": -y})
    tab.loc[:49, "yield"] = np.nan                   # 50 animals without a record: predicted
    extra = pd.DataFrame({"IID": ["notgenotyped1", "notgenotyped2"], "sex": [1, 2], "yield": [0.1, 0.2],
                          "y2": [0.0, 0.0]})
    pheno = root / "pheno.tsv"
    pd.concat([tab, extra]).to_csv(pheno, sep="\t", index=False, na_rep="NA")
    return {"root": root, "store": st.path, "pheno": pheno, "g": g, "ids": ids, "variants": st.variants,
            "causal": causal}


def test_gs_cli_predicts_the_simulated_breeding_values(sim, tmp_path):
    out = tmp_path / "res"
    rc = main(["gs", "--store", str(sim["store"]), "--phenotypes", str(sim["pheno"]), "--covariates", "sex",
               "--folds", "5", "--out", str(out)])
    assert rc == 0
    gebv = read_dataset(out / "gs" / "gebv", "gs_gebv")
    assert len(gebv) == 2 * len(sim["ids"]) and set(gebv["trait"]) == {"yield", "y2"}
    yv = gebv[gebv["trait"] == "yield"].set_index("sample_id").loc[sim["ids"]]
    unrecorded = ~yv["has_record"].to_numpy()
    assert unrecorded.sum() == 50
    # animals without a record: their GEBV tracks the true genetic value
    assert np.corrcoef(yv["gebv"].to_numpy()[unrecorded], sim["g"][unrecorded])[0, 1] > 0.5
    val = read_dataset(out / "gs" / "validation", "gs_validation")
    assert len(val) == 10 and (val["accuracy"] > 0.2).all()
    # y2 = -yield on more animals: accuracy is a property of the trait, not its sign
    assert val.groupby("trait")["accuracy"].mean()["y2"] > 0.3


def test_chip_cli_keeps_forced_and_beats_uniform(sim, tmp_path):
    forced = tmp_path / "forced.txt"
    forced.write_text("\n".join(sim["variants"]["variant_id"].to_numpy()[sim["causal"][:3]]) + "\n")
    out = tmp_path / "res"
    rc = main(["chip", "--store", str(sim["store"]), "--size", "300", "--forced", str(forced), "--blocks", "500",
               "--out", str(out)])
    assert rc == 0
    man = pd.read_csv(out / "chip" / "manifest.csv")
    assert len(man) == 300 and (man["Source"] == "forced").sum() == 3
    q = read_dataset(out / "chip" / "quality", "chip_quality").set_index("design")
    assert q.loc["designed", "coverage"] > q.loc["uniform", "coverage"]
    assert q.loc["designed", "imputation_r2"] > q.loc["uniform", "imputation_r2"]


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.assign(**{"yield": t["yield"].astype(object).where(t.index != 3, "high")}),
     "row 4, column 'yield': a number or NA (found 'high')"),
    (lambda t: t.assign(IID="x" + t["IID"]), "none of them matches"),
    (lambda t: t.assign(sex=1), "column 'sex': a covariate that varies"),
])
def test_bad_phenotypes_exit_2_and_publish_nothing(sim, tmp_path, capsys, edit, message):
    tab = pd.read_csv(sim["pheno"], sep="\t", dtype={"IID": str})
    bad = tmp_path / "bad.tsv"
    edit(tab).to_csv(bad, sep="\t", index=False, na_rep="NA")
    out = tmp_path / "res"
    rc = main(["gs", "--store", str(sim["store"]), "--phenotypes", str(bad), "--covariates", "sex",
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and str(bad) in err, err
    assert "Traceback" not in err
    assert not (out / "gs").exists()
