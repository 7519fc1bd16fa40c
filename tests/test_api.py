"""A notebook user's session on the bundled example, through ``import locusflow as lf`` only: munge,
LD, SuSiE, FINEMAP-SSS, S-PrediXcan and FOCUS, each checked against a number it must reproduce."""
import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES

lf = pytest.importorskip("locusflow")


# public entry points that compute a published method: their docstrings name the paper / peer
METHODS = {"annotate_variants", "dnalm_region_metrics", "signal_enrichment", "munge", "ld_matrix", "build_ld", "resolve_blocks", "susie_rss", "finemap_sss",
           "finemap_prior_std", "spredixcan", "fusion",
           "susie_inf", "finemap_inf", "impute_z", "weighted_ld",
           "focus", "run_gwas", "linear_assoc", "logistic_assoc", "store_pca", "prune_store", "project_store", "run_fst", "ihs", "nsl", "xpehh",
           "vanraden_grm", "fit_gblup", "fit_rrblup", "fit_weighted_gblup", "fit_bayesc", "design_chip",
           "elastic_net_path", "cv_elastic_net", "nested_cv_performance", "train_gene", "train_weights",
           "ctpred_targets", "cis_eqtl", "cis_eqtl_permutations", "CtPred", "lctpred", "predixcan",
           "predixcan_association", "dnalm_finetune", "dnalm_splice_task",
           "dnalm_motifs", "discover_motifs", "motif_importance", "compare_motifs", "read_motifs"}


def test_api_names_are_exported_and_documented():
    """Every public name has a numpydoc docstring: Parameters (and Returns, for functions) everywhere,
    References on the methods that reproduce a paper or a peer."""
    import inspect
    assert {"munge", "ld_matrix", "susie_rss", "finemap_sss", "spredixcan", "fusion", "focus", "read_dataset",
            "run_pipeline"} <= set(lf.__all__)
    assert callable(lf.focus)
    missing = []
    for name in lf.__all__:
        obj = getattr(lf, name)
        if not callable(obj) or name == "get_logger":
            continue
        target = lf.focus.focus if obj is lf.focus else obj      # the callable package: its entry point
        doc = inspect.getdoc(target) or ""
        need = ["Parameters"] + (["Returns"] if not inspect.isclass(target) else [])
        need += ["References"] if name in METHODS else []
        missing += [f"{name}: {k}" for k in need if f"{k}\n---" not in doc]
    assert not missing, missing


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    store = lf.ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", root / "g.vcz")
    ss = lf.munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", root / "sumstats", n=337000,
                  reference=store.path).sumstats
    return {"root": root, "store": lf.GenotypeStore(store.path), "ss": ss}


def test_munge_ld_susie_sss_on_the_strongest_block(session):
    store, ss = session["store"], session["ss"]
    blocks = lf.resolve_blocks("EUR", "GRCh37")
    table, _ = lf.assign_blocks(store.variants, blocks, n_samples=store.n_samples)
    index = lf.build_ld(store.path, table, session["root"] / "ld", maf=0.01, progress=False)
    lead = ss.loc[ss["z"].abs().idxmax()]
    bid = index.loc[(index["chrom"] == lead["chrom"]) & (index["start"] <= lead["pos"])
                    & (index["stop"] > lead["pos"]), "block_id"].iloc[0]
    assert bid == lf.block_id(lead["chrom"], *index.set_index("block_id").loc[bid, ["start", "stop"]])
    ids = [v for v in index.set_index("block_id").loc[bid, "variant_ids"] if v in set(ss["variant_id"])]
    var, R = lf.read_block_ld(session["root"] / "ld", bid, ids)
    z = ss.set_index("variant_id").loc[ids, "z"].to_numpy()
    # LD: the stored block equals ld_matrix on the store's dosages
    rows = store.variants.set_index("variant_id").loc[ids, "store_index"].to_numpy()
    dos = store.dosages(index=np.sort(rows))
    order = np.argsort(np.argsort(rows))
    np.testing.assert_allclose(R, lf.ld_matrix(dos)[np.ix_(order, order)], atol=1e-6)
    fit = lf.susie_rss(z, R, 337000, L=5)
    pip_susie = np.asarray(fit.pip)
    snp, config, cred = lf.finemap_sss(z, R, 337000, max_causal=3)
    pip_sss = snp["pip"].to_numpy()
    # the lead SNP's signal is found by both: it sits in a SuSiE 95% credible set, and each method puts at
    # least 0.9 of posterior inclusion on the SNPs in strong LD (r^2 >= 0.8) with it
    top = int(np.argmax(np.abs(z)))
    assert any(top in set(cs) for cs in fit.sets.cs)
    tagged = R[:, top] ** 2 >= 0.8
    for pip in (pip_susie, pip_sss):
        assert pip[tagged].sum() >= 0.9
    # and they agree on where the mass is over the whole block
    assert np.corrcoef(pip_susie, pip_sss)[0, 1] > 0.8


def test_spredixcan_and_focus(session, tmp_path):
    w = lf.read_predictdb(EXAMPLES / "twas_sim_chr20_22.db", tissue="sim_EUR")
    cov = lf.read_covariance(EXAMPLES / "twas_sim_chr20_22.cov.txt.gz", tissue="sim_EUR")
    gwas = session["ss"]
    res = lf.spredixcan(w, gwas, covariance=cov)
    assert len(res) == w["model_id"].nunique()
    # S-PrediXcan by hand (Barbeira et al. 2018): z_g = sum_j w_j sigma_j z_j / sigma_g, sigma_g^2 = w' S w
    # over the model's SNPs found in the GWAS with matching alleles, S from the model's covariance file
    top = res.loc[res["zscore"].abs().idxmax()]
    wm = w[w["model_id"] == top["model_id"]].merge(gwas[["rsid", "ref", "alt", "z"]], on="rsid")
    sign = np.where((wm["effect_allele"] == wm["alt"]) & (wm["other_allele"] == wm["ref"]), 1.0,
                    np.where((wm["effect_allele"] == wm["ref"]) & (wm["other_allele"] == wm["alt"]), -1.0, 0.0))
    wm = wm[sign != 0].assign(z=lambda d: d["z"] * sign[sign != 0])
    c = cov[cov["gene"] == top["gene"]]
    S = pd.DataFrame(0.0, index=wm["rsid"], columns=wm["rsid"])
    for a, b, v in c[["rsid1", "rsid2", "value"]].itertuples(index=False):      # a handful of SNPs
        if a in S.index and b in S.index:
            S.loc[a, b] = S.loc[b, a] = v
    S = S.to_numpy()
    wt = wm["weight"].to_numpy()
    z_hand = float(np.sum(wt * np.sqrt(np.diag(S)) * wm["z"].to_numpy()) / np.sqrt(wt @ S @ wt))
    assert top["n_snps_used"] == len(wm)
    assert top["zscore"] == pytest.approx(z_hand, abs=1e-6)
    # FOCUS on the same weights, placed on the panel (rsid -> chrom, pos) as the twas stage imports them
    lf.import_weights([{"predictdb": EXAMPLES / "twas_sim_chr20_22.db", "tissue": "sim_EUR"}],
                      session["root"] / "weights", locate=session["store"].variants[["rsid", "chrom", "pos"]])
    genes = lf.focus(session["root"] / "sumstats", session["store"].path, session["root"] / "weights",
                     blocks="37:EUR")
    real = genes[genes["model_id"] != "NULL.MODEL"]
    assert len(real) and real["pip"].between(0, 1).all()
    # per block, the 90% credible gene set holds at least 90% of the normalised PIP (pyfocus's rule), and a
    # gene outside it has a PIP no larger than any gene in it
    for _, b in genes.groupby(["block_id", "population"]):
        inset = b["in_cred_set"] == 1
        assert b.loc[inset, "pip"].sum() / b["pip"].sum() >= 0.9 - 1e-9
        if (~inset).any():
            assert b.loc[~inset, "pip"].max() <= b.loc[inset, "pip"].min() + 1e-12
