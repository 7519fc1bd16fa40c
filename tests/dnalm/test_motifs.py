"""Motifs from DNA-LM importance (locusflow.dnalm.motifs, tomtom, motif_db, logos, stage dnalm_motifs).

Known truth: JASPAR matrices planted into random sequence (forward and reverse complement) are recovered
as seqlet clusters whose top Tomtom-style match is the planted matrix; a database motif matched against
the database finds itself (offset 0, strand + / - for its reverse complement, smallest p); the MEME and
JASPAR copies of the bundled database parse to the same matrices (JASPAR MA0139.1 counts); malformed
files name the file, line and what was expected; the shipped model's predicted distribution carries
more information at planted strong sites than at the random background."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.dnalm.motif_db import Motif, bundled, read_jaspar, read_meme, read_motifs, write_meme
from locusflow.dnalm.motifs import discover_motifs, onehot, plant
from locusflow.dnalm.tomtom import compare_motifs, reverse_complement_pwm
from locusflow.errors import InputError

DB = read_motifs(bundled("meme"))
BY_NAME = {m.name: m for m in DB}


def test_meme_and_jaspar_copies_parse_to_the_same_matrices(tmp_path):
    meme, jas = read_meme(bundled("meme")), read_jaspar(bundled("jaspar"))
    assert [m.id for m in meme] == [m.id for m in jas] and len(meme) == 16
    assert [m.name for m in meme] == [m.name for m in jas]
    for a, b in zip(meme, jas):
        np.testing.assert_allclose(a.pwm, b.pwm, atol=2e-6)
    ctcf = next(m for m in jas if m.id == "MA0139.1")                 # JASPAR MA0139.1 counts, 913 sites
    assert ctcf.name == "CTCF" and ctcf.width == 19 and ctcf.nsites == 913
    np.testing.assert_allclose(ctcf.pwm[0], np.array([87, 291, 76, 459]) / 913)
    assert ctcf.consensus() == "TggCCACcAGGGGGCGCta"                 # the CTCF core CCAsyAGrkGGCr
    write_meme(jas, tmp_path / "x.meme")                              # round trip
    np.testing.assert_allclose(np.concatenate([m.pwm for m in read_motifs(tmp_path / "x.meme")]),
                               np.concatenate([m.pwm for m in jas]), atol=1e-6)


@pytest.mark.parametrize("text, line, expect", [
    (">MA1 X\nA [ 1 2 3 ]\nC [ 1 2 x ]\nG [ 1 1 1 ]\nT [ 1 1 1 ]\n", 3, "numbers in row C"),
    (">MA1 X\nA [ 1 2 3 ]\nG [ 1 2 3 ]\nC [ 1 1 1 ]\nT [ 1 1 1 ]\n", 3, "row 'C [ counts ]'"),
    (">MA1 X\nA [ 1 2 3 ]\nC [ 1 2 ]\nG [ 1 1 1 ]\nT [ 1 1 1 ]\n", 2, "of equal length"),
    ("MEME version 4\n\nMOTIF M1 x\nletter-probability matrix: alength= 4 w= 3\n0.25 0.25 0.25 0.25\n"
     "0.1 0.2 0.7\n", 6, "4 numbers (A C G T)"),
    ("MEME version 4\n\nMOTIF M1 x\nletter-probability matrix: alength= 4 w= 3\n0.25 0.25 0.25 0.25\n", 6,
     "3 matrix rows"),
    ("MEME version 4\n\nMOTIF M1 x\nMOTIF M2 y\n", 4, "before the next MOTIF"),
    ("hello\n>MA1\n", 1, "MEME ('MEME version ...') or JASPAR"),
])
def test_a_motif_file_that_does_not_parse_names_file_line_and_expectation(tmp_path, text, line, expect):
    path = tmp_path / "bad.motifs"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_motifs(path)
    msg = str(exc.value)
    assert "bad.motifs" in msg and f"row {line}" in msg and expect in msg, msg


def test_database_motif_matches_itself_at_offset_0_and_its_reverse_complement_on_minus():
    queries = [Motif(m.id, m.name, m.pwm) for m in DB] + \
              [Motif(m.id + "_rc", m.name, reverse_complement_pwm(m.pwm)) for m in DB]
    res = compare_motifs(queries, DB)
    assert len(res) == 32 * 16
    top = res[res["rank"] == 1].set_index("query_id")
    for m in DB:
        for qid, strand in ((m.id, "+"), (m.id + "_rc", "-")):
            t = top.loc[qid]
            assert t.target_id == m.id and t.strand == strand and t.offset == 0 and t.overlap == m.width
            assert t.score == pytest.approx(m.width) and t.mean_pcc == pytest.approx(1.0)
            others = res[(res.query_id == qid) & (res.target_id != m.id)]
            assert t.p_value < others.p_value.min() and t.q_value < 1e-3
    # CTCF against itself shifted by 3 columns: offset 3 (query column i faces target column i + 3)
    q = compare_motifs([Motif("ctcf_tail", "", BY_NAME["CTCF"].pwm[3:15])], DB)
    assert q.iloc[0].target_id == "MA0139.1" and q.iloc[0].offset == 3 and q.iloc[0].strand == "+"


def _planted_importance(rng, pwm, n, length, noise=0.3):
    """Sequences with one planted site each and a known-truth importance: the site's columns carry their
    information content (bits), the background exponential noise of mean ``noise``."""
    p = plant(rng, n, length, pwm)
    ic = 2 + (pwm * np.log2(np.clip(pwm, 1e-9, None))).sum(1)
    imp = rng.exponential(noise, size=(n, length))
    for k in range(n):                                        # n planted sites (test fixture only)
        cols = ic[::-1] if p["site_strand"][k] else ic
        imp[k, p["site_start"][k]:p["site_start"][k] + len(pwm)] += cols
    return p, imp


def test_planted_pwms_are_recovered_as_seqlet_clusters_and_matched_to_their_database_entry():
    rng = np.random.default_rng(7)
    ctcf, nrf1 = BY_NAME["CTCF"].pwm, BY_NAME["NRF1"].pwm
    pa, ia = _planted_importance(rng, ctcf, 60, 160)
    pb, ib = _planted_importance(rng, nrf1, 60, 160)
    tok = np.concatenate([pa["tokens"], pb["tokens"]])
    imp = np.concatenate([ia, ib])
    ref = tok.ravel()
    region = np.repeat(np.arange(len(tok)), tok.shape[1])
    contrib = onehot(ref) * imp.ravel()[:, None]
    seqlets, motifs = discover_motifs(imp.ravel(), contrib, ref, region, window=15, flank=5, min_seqlets=10)
    # every planted site is covered (at least half its width) by a seqlet of its sequence
    length = tok.shape[1]
    starts = np.concatenate([pa["site_start"], pb["site_start"]])
    widths = np.r_[np.full(60, len(ctcf)), np.full(60, len(nrf1))]
    s0 = seqlets.start.to_numpy() - seqlets.region.to_numpy() * length
    ov = np.minimum(s0 + 25, (starts + widths)[seqlets.region]) - np.maximum(s0, starts[seqlets.region])
    covered = np.zeros(len(tok), bool)
    covered[seqlets.region.to_numpy()[ov >= widths[seqlets.region] / 2]] = True
    assert np.mean(covered) >= 0.95
    res = compare_motifs([Motif(m["motif_id"], "", m["pwm"]) for m in motifs], DB)
    top = res[res["rank"] == 1].set_index("query_id")
    found = {top.loc[m["motif_id"]].target_name: m for m in motifs if top.loc[m["motif_id"]].q_value < 0.01}
    assert {"CTCF", "NRF1"} <= set(found)
    m = found["CTCF"]
    assert m["n_seqlets"] >= 50
    # the cluster holds the CTCF plants (regions < 60), and orients forward and reverse plants oppositely
    memb = seqlets.loc[m["members"]]
    assert (memb.region < 60).mean() >= 0.95
    planted_rc = pa["site_strand"][memb.region.to_numpy()[memb.region.to_numpy() < 60]]
    got_rc = (memb.motif_strand.to_numpy()[memb.region.to_numpy() < 60] == "-").astype(int)
    agree = (planted_rc == got_rc).mean()
    assert max(agree, 1 - agree) >= 0.95 and 0.2 < planted_rc.mean() < 0.8
    for name in ("CTCF", "NRF1"):                 # measured: mean PCC 0.995 / 0.999, q 6e-19 / 5e-13
        t = top.loc[found[name]["motif_id"]]
        assert t.mean_pcc > 0.95 and t.q_value < 1e-8
    # the discovered CTCF PWM's consensus agrees with JASPAR's on the strong columns it covers
    assert found["NRF1"]["n_seqlets"] >= 50 and top.loc[found["NRF1"]["motif_id"]].target_id == "MA0506.1"


def test_no_seqlets_in_pure_noise():
    rng = np.random.default_rng(3)
    imp = rng.exponential(0.3, size=(40, 150))
    ref = rng.integers(0, 4, size=imp.size)
    seqlets, motifs = discover_motifs(imp.ravel(), onehot(ref) * imp.ravel()[:, None], ref,
                                      np.repeat(np.arange(40), 150), min_seqlets=10)
    assert len(seqlets) <= 2 and motifs == []


def test_logo_files_are_written_for_discovered_motifs(tmp_path):
    pytest.importorskip("matplotlib")
    from locusflow.dnalm.logos import logo_matrix, motif_logo_files, write_motif_logos
    pwm = BY_NAME["SP1"].pwm
    np.testing.assert_allclose(logo_matrix(np.full((2, 4), 0.25)), 0, atol=1e-12)
    np.testing.assert_allclose(logo_matrix(np.eye(4)).sum(1), 2.0)
    motif = {"motif_id": "motif_1", "pwm": pwm, "cwm": pwm * 0.5, "n_seqlets": 12}
    res = compare_motifs([Motif("motif_1", "", pwm)], DB)
    files = write_motif_logos([motif], res, DB, tmp_path / "logos")
    assert [f.name for f in files] == ["motif_1.png", "motif_1.svg"]
    assert motif_logo_files(tmp_path / "logos") == [tmp_path / "logos/motif_1.png"]
    assert files[0].read_bytes()[:4] == b"\x89PNG" and "<svg" in files[1].read_text()[:500]
    from locusflow.dnalm.logos import region_logo_figure
    fig = region_logo_figure(np.r_[np.eye(4), np.full((2, 4), 0.25)], "ACGTNN", start=100)
    assert len(fig.axes[0].patches) == 4                                   # flat columns draw no letter
    assert [p.get_path().get_extents().height for p in fig.axes[0].patches] == pytest.approx([2.0] * 4, rel=1e-6)


# ---- the shipped model (torch) -----------------------------------------------------------------------

def _fasta(tmp_path, seqs: dict) -> Path:
    import pysam
    fa = tmp_path / "planted.fa"
    fa.write_text("".join(f">{k}\n{v}\n" for k, v in seqs.items()))
    pysam.faidx(str(fa))
    return fa


@pytest.fixture(scope="module")
def shipped():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch
    torch.set_num_threads(1)
    from locusflow.dnalm.model import SHIPPED, load_model
    return load_model(SHIPPED, device="cpu")


def test_shipped_model_predicts_more_information_at_planted_gc_box_sites(shipped):
    """Measured: the chr20 model's predicted distribution has ~0.07 bits more information content at a
    planted SP1 GC box (GGGGCGGGGC) than at the uniform random background around it (0.23 vs 0.17 bits,
    16 sequences of 80 bp); planted AT-rich sites (FOXA1) do not show it, so it is the GC/CpG context the
    model learned, not the TF motif as such."""
    from scipy.stats import mannwhitneyu
    from locusflow.dnalm.motifs import token_importance
    rng = np.random.default_rng(0)
    cons = np.eye(4)[BY_NAME["SP1"].pwm.argmax(1)] * 0.97 + 0.0075
    p = plant(rng, 16, 80, cons)
    imp = token_importance(shipped, p["tokens"], batch_size=512)
    m = p["mask"].ravel()
    site, bg = imp["ic"][m], imp["ic"][~m]
    assert site.mean() - bg.mean() > 0.04
    assert mannwhitneyu(site, bg, alternative="greater").pvalue < 1e-6
    assert np.all((imp["ic"] >= 0) & (imp["ic"] <= 2)) and np.allclose(imp["prob"].sum(1), 1)
    np.testing.assert_allclose(imp["heights"].sum(1), imp["ic"])


def test_cli_on_a_fasta_of_planted_contigs_and_a_bad_motif_file(shipped, tmp_path, capsys):
    from locusflow.cli import main
    from locusflow.dnalm.motif_run import dnalm_motifs
    from locusflow.dnalm.motifs import token_importance
    from locusflow.io.dataset import read_dataset
    from locusflow.io.fasta import Genome
    rng = np.random.default_rng(1)
    p = plant(rng, 4, 100, np.eye(4)[BY_NAME["SP1"].pwm.argmax(1)] * 0.97 + 0.0075)
    seqs = {f"chrS{k}": "".join("ACGT"[t] for t in row) for k, row in enumerate(p["tokens"])}
    fa = _fasta(tmp_path, seqs)
    bed = tmp_path / "r.bed"
    bed.write_text("".join(f"S{k}\t0\t100\tr{k}\n" for k in range(4)))
    # regions that are whole contigs: the FASTA path gives the same importance as the token path
    regions = pd.DataFrame({"chrom": ["S0", "S1", "S2", "S3"], "start": 1, "end": 100, "name": ["r0", "r1", "r2", "r3"]})
    res = dnalm_motifs(shipped, Genome(fa), regions, min_seqlets=2)
    tok = token_importance(shipped, p["tokens"])
    np.testing.assert_allclose(res["importance"]["ic"], tok["ic"], atol=1e-5)
    np.testing.assert_allclose(res["importance"]["ism"], tok["ism"], atol=1e-5)
    out = tmp_path / "out"
    rc = main(["dnalm", "motifs", "--fasta", str(fa), "--regions", str(bed), "--min-seqlets", "2", "--fdr", "0.5",
               "--seqlet-window", "9", "--flank", "3", "--out", str(out)])
    assert rc == 0
    st = read_dataset(out / "dnalm_motifs/seqlets", "seqlets")
    mt = read_dataset(out / "dnalm_motifs/motifs", "motifs")
    assert len(st) >= 4 and len(mt) >= 1                         # measured: 8 seqlets, 1 motif
    assert (st["end"] - st["start"] == 14).all() and st["region"].isin(["r0", "r1", "r2", "r3"]).all()
    assert (st["sequence"].str.len() == 15).all()
    for _, r in st.iterrows():                                   # the sequence is the genome's
        assert seqs["chr" + r.chrom][r.start - 1:r.end] == r.sequence
    assert (out / "dnalm_motifs/logos" / mt["logo"].iloc[0]).exists()
    assert (mt["n_seqlets"] >= 2).all() and (st["motif_id"].notna().sum() == mt["n_seqlets"].sum())
    from locusflow.dnalm.motif_run import motif_report
    rep = motif_report(out / "dnalm_motifs")
    assert list(rep["motif_id"]) == list(mt.sort_values("motif_rank")["motif_id"])
    assert all(Path(p).exists() for p in rep["logo_path"])
    assert motif_report(tmp_path / "nothing").empty
    imp = read_dataset(out / "dnalm_motifs/importance", "motif_importance").sort_values(["region", "pos"])
    np.testing.assert_allclose(imp["ic"], tok["ic"], atol=1e-5)           # the work units' rows
    assert "".join(imp["ref"]) == "".join(seqs.values())
    sites = read_dataset(out / "dnalm_motifs/sites", "motif_sites")
    assert len(sites) == 16 and sites.loc[sites.target_name == "SP1", "site_bp"].iloc[0] >= 3 * 11
    bad = tmp_path / "bad.meme"
    bad.write_text("MEME version 4\n\nMOTIF M1\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.3 0.4\n")
    capsys.readouterr()
    rc = main(["dnalm", "motifs", "--fasta", str(fa), "--regions", str(bed), "--motif-db", str(bad),
               "--out", str(tmp_path / "o2")])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.meme" in err and "row 6" in err and "2 matrix rows" in err
    assert not (tmp_path / "o2/dnalm_motifs/motifs").exists()
    rc = main(["dnalm", "motifs", "--fasta", str(fa), "--out", str(tmp_path / "o3")])   # neither regions nor tss
    assert rc == 2 and "exactly one of regions" in capsys.readouterr().err


def test_site_importance_is_raised_for_the_planted_motif_only():
    from locusflow.dnalm.motifs import motif_site_importance, pwm_hits
    rng = np.random.default_rng(11)
    p, imp = _planted_importance(rng, BY_NAME["CTCF"].pwm, 40, 120)
    ref, region = p["tokens"].ravel(), np.repeat(np.arange(40), 120)
    hit = pwm_hits(ref, region, BY_NAME["CTCF"].pwm)
    assert (hit & p["mask"].ravel()).sum() >= 0.8 * p["mask"].sum()       # most planted sites are found
    assert (hit & ~p["mask"].ravel()).sum() <= 0.01 * (~p["mask"]).sum()  # few random ones
    res = motif_site_importance(imp.ravel(), ref, region, DB).set_index("target_name")
    assert res.loc["CTCF", "p_value"] < 1e-30 and res.loc["CTCF", "difference"] > 0.5
    assert res.loc["FOXA1", "site_bp"] == 0 or not res.loc["FOXA1", "p_value"] < 1e-3


REAL_FASTA = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
for _p in Path(__file__).resolve().parents:
    if (_p / "shared/realdata").exists():
        REAL_FASTA = _p / "shared/realdata/reference_genome/GRCh37_chr20.fa.gz"
        break


@pytest.mark.skipif(not REAL_FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")
def test_cli_promoter_windows_of_real_chr20_tss(shipped, tmp_path):
    """`--tss 61`: windows of 61 bp centred on the bundled GENCODE v18 TSSs of chr20, first 4 by position."""
    from locusflow.cli import main
    from locusflow.dnalm.features import gene_tss
    from locusflow.io.dataset import read_dataset
    from locusflow.io.fasta import Genome
    from locusflow.io.gene_map import gene_map
    out = tmp_path / "out"
    assert main(["dnalm", "motifs", "--fasta", str(REAL_FASTA), "--tss", "61", "--max-regions", "4",
                 "--out", str(out)]) == 0
    imp = read_dataset(out / "dnalm_motifs/importance", "motif_importance").sort_values(["region", "pos"])
    genes = gene_tss(gene_map("GRCh37").rename(columns={"gene_id": "gene"}))
    first = genes[genes.chrom == "20"].drop_duplicates(["chrom", "tss"]).sort_values("tss").head(4)
    assert len(imp) == 4 * 61 and list(imp.groupby("region")["pos"].min()) == list(first["tss"] - 30)
    assert list(imp.groupby("region")["region_name"].first()) == list(first["gene_name"])
    seq = Genome(REAL_FASTA).sequence("20")
    assert "".join(imp["ref"]) == bytes(seq[imp["pos"].to_numpy() - 1]).decode()
    assert imp["ic"].between(0, 2).all() and imp["ism"].abs().max() < 10


def test_comparison_p_values_are_uniform_under_the_null():
    """Queries built from database columns drawn at random (the null the p-values assume) and Dirichlet(1)
    random matrices: the fraction of p below 0.01, 0.05, 0.1 is that level (measured 0.012, 0.052, 0.100 and
    0.010, 0.045, 0.090 with 150 queries each)."""
    rng = np.random.default_rng(0)
    cols = np.concatenate([m.pwm for m in DB])
    shuffled = [Motif(f"q{i}", "", cols[rng.integers(0, len(cols), size=rng.integers(8, 16))]) for i in range(100)]
    dirichlet = [Motif(f"d{i}", "", rng.dirichlet(np.ones(4), size=10)) for i in range(100)]
    for queries in (shuffled, dirichlet):
        p = compare_motifs(queries, DB)["p_value"].to_numpy()
        assert len(p) == 1600 and p.min() >= 0 and p.max() <= 1
        for level in (0.01, 0.05, 0.1):
            assert abs((p < level).mean() - level) < 0.35 * level + 0.004, (level, (p < level).mean())
