"""DNA-LM features at the TSS (dnalm.features, stage dnalm_features) on the real GRCh37 chr20 and the 1000G EUR
panel: personal windows against sequences spelled out by hand, strand symmetry and batch invariance of the
embeddings, and `locusflow dnalm features --personal` against the kernels called directly."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REALDATA

pytest.importorskip("torch")
pytest.importorskip("transformers")

from locusflow.dnalm.features import gene_tss, personal_windows, window_embeddings  # noqa: E402
from locusflow.dnalm.model import load_model  # noqa: E402
from locusflow.dnalm.windows import encode, reverse_complement, windows  # noqa: E402
from locusflow.errors import InputError  # noqa: E402
from locusflow.io.fasta import Genome  # noqa: E402

FASTA = REALDATA / "reference_genome" / "GRCh37_chr20.fa.gz"
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")


@pytest.fixture(scope="module")
def genome():
    return Genome(FASTA)


def test_personal_windows_spell_each_haplotype(genome):
    seq = genome.sequence("20")
    centre, length = 20_400_000, 41
    start = centre - length // 2                               # 1-based first base of the window
    p = [start + 3, start + 10, start + 20, start + 30, start + 40]
    ref = [chr(seq[x - 1]) for x in p]
    other = {"A": "G", "C": "T", "G": "A", "T": "C"}
    alt = [other[r] for r in ref]
    wrong = other[ref[3]]                                      # a REF the genome does not have
    var = pd.DataFrame({"pos": p + [start + 5, start + 100], "ref": ref[:3] + [wrong] + ref[4:] + [chr(seq[start + 4]), "A"],
                        "alt": alt[:3] + [ref[3]] + alt[4:] + ["CT", "G"]})
    hap = np.array([[0, 1, 1, -1, 0, 1],                        # 3 individuals: haplotypes 2i, 2i + 1
                    [0, 0, 1, 0, 1, 0],
                    [1, 0, 1, 0, 0, 0],
                    [1, 1, 1, 1, 1, 1],
                    [0, 0, 0, 0, 1, 1],
                    [1, 1, 1, 1, 1, 1],
                    [0, 0, 0, 0, 0, 0]], dtype=np.int8)
    tok, idx, rep = personal_windows(genome, "20", centre, length, var, hap)
    assert rep == {"substituted": 4, "ref_mismatch": 1, "not_snv": 1}   # the far SNV is outside the window
    base = bytearray(seq[start - 1:start - 1 + length].tobytes())
    for h in range(6):
        s = bytearray(base)
        for k in (0, 1, 2, 4):                                 # SNV 3 has the wrong REF: never substituted
            if hap[k, h] == 1:
                s[p[k] - start] = ord(alt[k])
        np.testing.assert_array_equal(tok[idx.ravel()[h]], encode(bytes(s)))
    assert len(tok) == len({tuple(hap[[0, 1, 2, 4], h]) for h in range(6)})      # one row per distinct haplotype
    assert idx.shape == (3, 2)
    none, idx0, _ = personal_windows(genome, "20", centre, length, var.iloc[:0], hap[:0])
    assert len(none) == 1 and (idx0 == 0).all()
    np.testing.assert_array_equal(none[0], windows(genome, "20", np.array([centre]), length)[0])


def test_embeddings_strand_symmetric_and_batch_invariant(genome):
    lm = load_model(device="cpu")
    w = windows(genome, "20", np.arange(20_300_000, 20_300_000 + 7 * 5000, 5000), 129)
    e = window_embeddings(lm, w, batch_size=3)
    np.testing.assert_allclose(window_embeddings(lm, reverse_complement(w), batch_size=7), e, atol=1e-5)
    np.testing.assert_allclose(window_embeddings(lm, w[2:5], batch_size=1), e[2:5], atol=1e-5)
    assert e.shape == (7, lm.config.hidden_size) and np.linalg.norm(e[0] - e[1]) > 1e-3


def test_gene_tss_and_bad_tables():
    g = gene_tss(pd.DataFrame({"gene_id": ["A", "B"], "chrom": ["chr20", "20"], "start": [10, 50],
                               "end": [20, 90], "strand": ["+", "-"]}))
    assert list(g["tss"]) == [10, 90] and list(g["chrom"]) == ["20", "20"]
    with pytest.raises(InputError, match="'tss' column, or 'start', 'stop' and 'strand'"):
        gene_tss(pd.DataFrame({"gene": ["A"], "chrom": ["20"], "start": [1]}), source="g.tsv")


def test_cli_dnalm_features_personal(example_store, genome, tmp_path, capsys):
    from locusflow.cli import main
    from locusflow.dnalm.features import tss_features
    from locusflow.io.dataset import read_dataset
    genes = pd.DataFrame({"gene": ["INSM1", "L1", "L2"], "chrom": "20", "tss": [20_348_765, 20_002_505, 20_101_156]})
    genes.to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    argv = ["dnalm", "features", "--fasta", str(FASTA), "--genes", str(tmp_path / "genes.tsv"), "--length", "129",
            "--personal", "--store", str(example_store.path), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    ref = read_dataset(tmp_path / "out" / "dnalm_features" / "tss", "tss_features").set_index("gene")
    lm = load_model(device="cpu")
    direct = tss_features(lm, genome, "20", genes["tss"].to_numpy(), 129)
    np.testing.assert_allclose(np.stack(ref.loc[genes["gene"], "features"].to_numpy()), direct, atol=1e-6)
    per = read_dataset(tmp_path / "out" / "dnalm_features" / "personal", "personal_features")
    var = example_store.variants
    for g, tss in zip(genes["gene"], genes["tss"]):
        rows = per[per["gene"] == g].sort_values("haplotype")
        seq = np.flatnonzero(np.abs(var["pos"].to_numpy() - tss) <= 64)
        hap = example_store.haplotypes(int(seq.min()), int(seq.max()) + 1)[seq - seq.min()] if len(seq) else \
            np.zeros((0, 2 * example_store.n_samples), np.int8)
        tok, idx, _ = personal_windows(genome, "20", tss, 129, var.iloc[seq], hap)
        slots = np.full(2 * example_store.n_samples, -1)
        for h, c in zip(rows["haplotype"], rows["carriers"]):
            slots[np.asarray(c)] = h
        np.testing.assert_array_equal(slots, idx.ravel())                      # every slot, exactly once
        np.testing.assert_allclose(np.stack(rows["features"].to_numpy()), window_embeddings(lm, tok), atol=1e-6)
    assert per.groupby("gene")["haplotype"].count().max() > 1
    (tmp_path / "bad.tsv").write_text("gene\tstart\nA\t1\n")
    argv[argv.index("--genes") + 1] = str(tmp_path / "bad.tsv")
    assert main(argv) == 2
    assert "bad.tsv" in capsys.readouterr().err
