"""l-ctPred (twas.train.lctpred) on real data: the shipped DNA LM reads every 1000G EUR individual's own
sequence at the TSS of the GENCODE genes of chr20:20-21 Mb (GRCh37 FASTA, their alleles substituted), a
ctPred turns those features into personal expression, and the elastic net linearises it into SNP weights.

The check of the issue: on traits simulated from each gene's *nonlinear* personal expression, S-PrediXcan
with the l-ctPred weights (GWAS z of the same 489 individuals, their own LD) gives the z of PrediXcan with
the nonlinear predictor on the individual-level data, up to the linearisation error. With rho the
correlation of the linear and the nonlinear predictions, z_nl = rho z_lin + sqrt(1 - rho^2) z_e (z_e: the
association of the part of the nonlinear prediction the weights miss), so the bound asserted per gene is
(1 - rho)|z| + sqrt(1 - rho^2) (|z| + 4) + 0.05, plus S-PrediXcan's own approximation |z|^3 / n + 0.02
(GWAS t-statistics, not sqrt(n) r). Measured (2026-12, 6 loci): rho^2 0.968-0.996, |z_S - z_lin| <= 0.09
and |z_S - z_nl| <= 0.39 at |z| 4.3-6.1 (the table is printed by the test).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REALDATA

pytest.importorskip("torch")
pytest.importorskip("transformers")

from locusflow.dnalm.features import personal_windows, tss_features, window_embeddings  # noqa: E402
from locusflow.dnalm.model import load_model  # noqa: E402
from locusflow.io.fasta import Genome  # noqa: E402
from locusflow.twas.panel import PanelLD  # noqa: E402
from locusflow.twas.predixcan import association, predict_expression  # noqa: E402
from locusflow.twas.spredixcan import spredixcan  # noqa: E402
from locusflow.twas.train.ctpred import CtPred  # noqa: E402
from locusflow.twas.train.expression import percentile_rank  # noqa: E402
from locusflow.twas.train.lctpred import lctpred, personal_expression  # noqa: E402

FASTA = REALDATA / "reference_genome" / "GRCh37_chr20.fa.gz"
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")
GENCODE = Path(__file__).resolve().parents[2] / "lib/locusflow/data/gencode/gencode_v18_grch37_protein_coding.tsv.gz"
LENGTH = 513          # DNA-LM window at the TSS (bp)


def _tss(genes: pd.DataFrame) -> np.ndarray:
    return np.where(genes["strand"] == "+", genes["start"], genes["stop"]).astype(np.int64)


@pytest.fixture(scope="module")
def fitted(example_store):
    import torch
    torch.set_num_threads(1)
    lm = load_model(device="cpu")
    genome = Genome(FASTA)
    ann = pd.read_csv(GENCODE, sep="\t", dtype={"chrom": str})
    ann = ann[ann["chrom"] == "20"].assign(tss=lambda d: _tss(d)).drop_duplicates("tss")
    # a ctPred of the shipped LM's TSS features: 100 chr20 genes, a synthetic nonlinear expression target
    train = ann.iloc[np.linspace(0, len(ann) - 1, 100).astype(int)]
    x = tss_features(lm, genome, "20", train["tss"].to_numpy(), LENGTH)
    rng = np.random.default_rng(1)
    proj = rng.normal(size=(x.shape[1], 2))
    z = (x - x.mean(0)) / x.std(0) @ proj / np.sqrt(x.shape[1])
    y = percentile_rank(np.tanh(2 * z[:, 0]) + z[:, 0] * z[:, 1])
    split = np.where(np.arange(len(y)) % 5 == 0, "valid", "train")
    ct = CtPred(lr=3e-3, batch_size=32, max_epochs=60, patience=10, dropout=0.0).fit(x, y, split)

    memo = {}

    def featurise(chrom, tss, variants, haplotypes):          # computed once per locus, used twice below
        if tss not in memo:
            tokens, index, _ = personal_windows(genome, chrom, tss, LENGTH, variants, haplotypes)
            memo[tss] = window_embeddings(lm, tokens), index
        return memo[tss]

    # the loci: the GENCODE genes whose TSS lies in the store's window (INSM1, RALGAPA2) and, as the window
    # holds only two, TSS-like loci at SNP-dense spots 100 kb apart (the DNA LM reads them the same way)
    genes = ann[(ann["tss"] > 20_050_000) & (ann["tss"] < 20_950_000)][["gene_id", "gene_name", "chrom", "tss"]]
    pos = np.sort(example_store.variants["pos"].to_numpy()[example_store.variants["chrom"].to_numpy() == "20"])
    dense = pos[np.searchsorted(pos, pos + LENGTH // 2, "right") - np.searchsorted(pos, pos - LENGTH // 2) >= 5]
    spots = dense[np.r_[0, np.flatnonzero(np.diff(dense // 100_000)) + 1]][:6]
    genes = pd.concat([genes.rename(columns={"gene_id": "gene"}),
                       pd.DataFrame({"gene": [f"locus20:{p}" for p in spots], "gene_name": None, "chrom": "20",
                                     "tss": spots})], ignore_index=True)
    w, summary = lctpred(genes, example_store, ct, featurise, cell_type="synthetic", sequence_window=LENGTH,
                         cis_window=50_000, nested=False)
    # the nonlinear predictor on individual-level data: ctPred on each individual's own features
    var = example_store.variants
    nonlinear = {}
    for g in genes.itertuples(index=False):
        seq = np.flatnonzero((var["chrom"] == "20").to_numpy() & (np.abs(var["pos"].to_numpy() - g.tss) <= LENGTH // 2))
        hap = example_store.haplotypes(int(seq.min()), int(seq.max()) + 1)[seq - seq.min()] if len(seq) else \
            np.zeros((0, 2 * example_store.n_samples), np.int8)
        f, idx = featurise("20", g.tss, var.iloc[seq], hap)
        nonlinear[g.gene] = personal_expression(ct, f, idx)
    return genes, w, summary, pd.DataFrame(nonlinear, index=example_store.samples), ct


def test_ctpred_learned_something(fitted):
    *_, ct = fitted
    assert ct.metrics_["r_valid"] > 0.5, ct.metrics_


def test_lctpred_spredixcan_equals_nonlinear_predixcan(fitted, example_store):
    genes, w, summary, nonlinear, _ = fitted
    models = w.groupby("gene")["model_id"].first()
    assert len(models) >= 4, summary
    pred_lin, _ = predict_expression(w, example_store)
    var = example_store.variants
    used = var.index[var["rsid"].isin(set(w["rsid"]))]
    d = example_store.dosages(index=used.to_numpy()).astype(float)          # [snps, n]
    panel = PanelLD.from_dosages(var.loc[used, ["chrom", "pos", "rsid", "ref", "alt"]], d)
    dc = d - d.mean(1, keepdims=True)
    rng = np.random.default_rng(11)
    n = d.shape[1]
    rows = []
    for gene, mid in models.items():                    # one trait per gene, caused by its nonlinear prediction
        e = nonlinear[gene].to_numpy()
        yk = 0.25 * (e - e.mean()) / e.std() + rng.normal(size=n)
        yc = yk - yk.mean()
        r = dc @ yc / np.sqrt((dc ** 2).sum(1) * (yc ** 2).sum())
        t = r * np.sqrt((n - 2) / (1 - r ** 2))            # the GWAS: marginal OLS t per SNP
        gwas = var.loc[used, ["chrom", "pos", "rsid", "ref", "alt"]].assign(z=t, beta=np.nan)
        z_s = spredixcan(w[w["model_id"] == mid], gwas, panel=panel)["zscore"].iloc[0]
        z_lin = association(pred_lin[[mid]], yk)["zscore"].iloc[0]
        z_nl = association(nonlinear[[gene]], yk)["zscore"].iloc[0]
        rho = np.corrcoef(pred_lin[mid], e)[0, 1]
        rows.append({"gene": gene, "rho2": rho ** 2, "z_spredixcan": z_s, "z_predixcan_linear": z_lin,
                     "z_predixcan_nonlinear": z_nl, "bound": (1 - rho) * abs(z_nl) + np.sqrt(1 - rho ** 2) *
                     (abs(z_nl) + 4) + 0.05})
    res = pd.DataFrame(rows)
    print("\n" + res.to_string(float_format=lambda v: f"{v:.3f}"))
    r2 = summary.set_index("gene").loc[res["gene"], "r2_linear"].to_numpy()
    assert (r2 <= res["rho2"] + 1e-9).all()          # a shrunk linear fit's R^2 is at most its correlation^2
    approx = np.abs(res["z_spredixcan"]) ** 3 / n + 0.02       # S-PrediXcan's own approximation, O(z^3 / n)
    assert (np.abs(res["z_spredixcan"] - res["z_predixcan_linear"]) < approx).all()
    assert (np.abs(res["z_spredixcan"] - res["z_predixcan_nonlinear"]) <= res["bound"] + approx).all()
    assert res["rho2"].min() > 0.8
