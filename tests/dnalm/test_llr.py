"""LLR identities with the shipped model on real chr20 variants: allele swap = sign flip, batch size and
strand order change nothing, and local, dask and spark give the same scores."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from locusflow.dnalm.llr import llr_from_logprobs, site_logprobs  # noqa: E402
from locusflow.dnalm.model import SHIPPED, load_model  # noqa: E402
from locusflow.dnalm.windows import LUT, reverse_complement, variant_status, windows  # noqa: E402
from locusflow.io.fasta import Genome  # noqa: E402

REAL = Path("/work/shared/realdata")
for _p in Path(__file__).resolve().parents:
    if (_p / "shared/realdata").exists():
        REAL = _p / "shared/realdata"
        break
FASTA = REAL / "reference_genome/GRCh37_chr20.fa.gz"
BIM = REAL / "polyfun_1kg_eur/polypred_example/1000G.subset.20.bim"
pytestmark = pytest.mark.skipif(not (FASTA.exists() and BIM.exists()), reason="real chr20 data not present")


def real_snvs(n=120):
    """Real 1000G chr20 SNVs, oriented so that ref is the genome's base."""
    bim = pd.read_csv(BIM, sep=r"\s+", header=None, names=["chrom", "id", "cm", "pos", "a1", "a2"])
    bim = bim.iloc[np.linspace(0, len(bim) - 1, 4 * n).astype(int)]
    g = Genome(FASTA)
    st = variant_status(bim.chrom, bim.pos, bim.a2, bim.a1, g)
    st2 = variant_status(bim.chrom, bim.pos, bim.a1, bim.a2, g)
    ref = np.where(st == "ok", bim.a2, bim.a1)
    alt = np.where(st == "ok", bim.a1, bim.a2)
    keep = (st == "ok") | (st2 == "ok")
    return pd.DataFrame({"chrom": "20", "pos": bim.pos.to_numpy(), "ref": ref, "alt": alt})[keep].head(n)


@pytest.fixture(scope="module")
def model():
    return load_model(SHIPPED, device="cpu")


def test_swap_flips_sign_and_batching_is_invisible(model):
    df = real_snvs()
    g = Genome(FASTA)
    w = windows(g, "20", df.pos, 128)
    r, a = LUT[df.ref.str.encode("ascii").str[0].astype(np.uint8)], LUT[df.alt.str.encode("ascii").str[0].astype(np.uint8)]
    lp = site_logprobs(model, w, batch_size=len(w))
    s = llr_from_logprobs(lp, r, a)
    w_alt = w.copy()
    w_alt[:, 64] = a                                   # the alt genome: same masked windows, alleles swapped
    s_swap = llr_from_logprobs(site_logprobs(model, w_alt, batch_size=7), a, r)
    np.testing.assert_allclose(s_swap["llr"], -s["llr"], atol=1e-5)
    np.testing.assert_allclose(s["llr"], (s["llr_fwd"] + s["llr_rev"]) / 2)
    assert np.abs(s["llr"]).max() > 0.05                # the model separates alleles (not a constant)
    lp1 = site_logprobs(model, w, batch_size=1)
    np.testing.assert_allclose(lp1, lp, atol=1e-5)


def test_strand_order_minus_strand_gives_the_same_score(model):
    df = real_snvs(60)
    g = Genome(FASTA)
    w = windows(g, "20", df.pos, 127)                  # odd: the site is the centre on both strands
    r, a = LUT[df.ref.str.encode("ascii").str[0].astype(np.uint8)], LUT[df.alt.str.encode("ascii").str[0].astype(np.uint8)]
    plus = llr_from_logprobs(site_logprobs(model, w), r, a)
    comp = np.array([3, 2, 1, 0])
    minus = llr_from_logprobs(site_logprobs(model, reverse_complement(w)), comp[r], comp[a])
    np.testing.assert_allclose(minus["llr_fwd"], plus["llr_rev"], atol=1e-5)
    np.testing.assert_allclose(minus["llr"], plus["llr"], atol=1e-5)


def test_engines_agree_and_mismatches_are_reported():
    from locusflow.dnalm.stage import score_variants
    from locusflow.engine.spark import get_spark
    df = real_snvs(80)
    swap = df.iloc[:3].assign(ref=df.alt.iloc[:3].to_numpy(), alt=df.ref.iloc[:3].to_numpy())  # ref/alt swapped
    third = df.iloc[3:5].assign(ref=[next(b for b in "ACGT" if b not in (r, a)) for r, a in zip(df.ref[3:5], df.alt[3:5])])
    indel = df.iloc[:1].assign(alt=df.ref.iloc[0] + "T")
    df = pd.concat([df, swap, third, indel], ignore_index=True)
    opts = {"fasta": str(FASTA), "batch_variants": 25, "batch_size": 16}
    local = score_variants(df, opts, engine="local", progress=False)
    dask = score_variants(df, opts, engine="dask")
    spark = score_variants(df, opts, engine="spark", spark=get_spark())
    pd.testing.assert_frame_equal(local, dask)
    pd.testing.assert_frame_equal(local.reset_index(drop=True), spark.reset_index(drop=True), atol=1e-6)
    st = local.status.to_numpy()
    assert (st == "swapped").sum() == 3 and (st == "ref_mismatch").sum() == 2 and (st == "indel").sum() == 1
    assert local.loc[~local.status.isin(["ok", "swapped"]), "llr"].isna().all()
    assert local.loc[local.status.isin(["ok", "swapped"]), "llr"].notna().all()
    # a swapped row is written and scored in the genome's orientation: the same row as the oriented input
    sw = local[local.status == "swapped"].set_index("variant_id")
    same = local[local.status == "ok"].set_index("variant_id").loc[sw.index]
    pd.testing.assert_frame_equal(sw.drop(columns="status"), same.drop(columns="status"))
    rejected = score_variants(df, {**opts, "swapped": "reject"}, progress=False)
    assert (rejected.status == "ref_mismatch").sum() == 5 and rejected.llr.notna().sum() == 80


def test_embedding_distance_zero_for_identical_symmetric_under_swap(model):
    from locusflow.dnalm.llr import embedding_distance
    df = real_snvs(40)
    w = windows(Genome(FASTA), "20", df.pos, 128)
    w_alt = w.copy()
    w_alt[:, 64] = LUT[df.alt.str.encode("ascii").str[0].astype(np.uint8)]
    same = embedding_distance(model, w, w)
    assert np.allclose(same["emb_l2"], 0) and np.allclose(same["emb_cosine"], 0, atol=1e-6)
    d, d_swap = embedding_distance(model, w, w_alt, batch_size=9), embedding_distance(model, w_alt, w)
    np.testing.assert_allclose(d["emb_l2"], d_swap["emb_l2"], rtol=1e-5)
    assert (d["emb_l2"] > 0).all()
