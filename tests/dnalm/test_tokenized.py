"""Tokenised DNA LMs (a BPE one like DNABERT-2, a k-mer one like Nucleotide Transformer), built here: tiny
randomly initialised BertForMaskedLM models with tokenizers trained by the `tokenizers` package, saved to a
local directory and loaded through transformers' Auto classes. Invariances (ref/alt swap, batching, strand
order) and the pseudo-log-likelihood computed by hand."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from locusflow.dnalm.tokenized import (covering_pll, is_tokenized, load_tokenized,  # noqa: E402
                                       reverse_complement_seq, tokenized_scores)
from locusflow.errors import InputError  # noqa: E402
from locusflow.io.fasta import Genome  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
L = 41                                               # sequence length; the allele starts at L // 2


def _save(tok, path, seed):
    from tokenizers import processors
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(path)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, initializer_range=0.3,
                     pad_token_id=tok.token_to_id("[PAD]"))
    BertForMaskedLM(cfg).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tokenizers import Regex, Tokenizer, models as tm, pre_tokenizers, trainers
    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("ACGT"), 200)) for _ in range(200)]
    bpe = Tokenizer(tm.BPE(unk_token="[UNK]"))                       # DNABERT-2: BPE over the raw sequence
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=80, special_tokens=SPECIAL,
                                                        initial_alphabet=list("ACGTN")))
    vocab = {t: i for i, t in enumerate(SPECIAL + list("ACGTN") + ["".join(k) for k in itertools.product("ACGT", repeat=3)])}
    kmer = Tokenizer(tm.WordLevel(vocab, unk_token="[UNK]"))         # NT: non-overlapping k-mers, single bases else
    kmer.pre_tokenizer = pre_tokenizers.Split(Regex("[ACGT]{3}|."), behavior="isolated")
    root = tmp_path_factory.mktemp("tokenized")
    return {"bpe": _save(bpe, root / "bpe", 1), "kmer": _save(kmer, root / "kmer", 2)}


def _variants(seed=3):
    """Random sequences with SNVs, an insertion and a deletion at L // 2."""
    rng = np.random.default_rng(seed)
    c = L // 2
    ref_seqs, alt_seqs, rl, al = [], [], [], []
    for k, (r_len, a_len) in enumerate([(1, 1)] * 5 + [(1, 3), (3, 1)]):
        s = "".join(rng.choice(list("ACGT"), L))
        ref = s[c:c + r_len]
        alt = ref[0] + "".join(rng.choice(list("ACGT"), a_len - 1)) if a_len > 1 else (
            ref[0] if r_len > 1 else next(b for b in "ACGT" if b != ref))
        ref_seqs.append(s)
        alt_seqs.append(s[:c] + alt + s[c + r_len:])
        rl.append(r_len)
        al.append(a_len)
    return ref_seqs, alt_seqs, c, np.array(rl), np.array(al)


def _real_chr20():
    """The real GRCh37 chr20 FASTA and its sequence (skip without it)."""
    from pathlib import Path
    fasta = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
    if not fasta.exists():
        pytest.skip("real GRCh37 chr20 FASTA not present")
    return fasta, Genome(fasta).sequence("20")


@pytest.mark.parametrize("kind", ["bpe", "kmer"])
def test_swap_batching_and_strand_invariances(models, kind):
    model, tok = load_tokenized(models[kind], device="cpu")
    assert is_tokenized(models[kind]) and model.has_mlm_head
    rs, as_, c, rl, al = _variants()
    s = tokenized_scores(model, tok, rs, as_, c, rl, al, batch_size=64, delta=True)
    assert np.all(np.isfinite(s["pll_llr"])) and np.abs(s["pll_llr"]).max() > 1e-3   # the model separates alleles
    assert np.all(s["emb_l2"] > 0)
    swap = tokenized_scores(model, tok, as_, rs, c, al, rl, batch_size=64, delta=True)
    np.testing.assert_allclose(swap["pll_llr"], -s["pll_llr"], atol=1e-5)
    np.testing.assert_allclose(swap["emb_l2"], s["emb_l2"], rtol=1e-5)
    np.testing.assert_allclose(swap["emb_delta"], -s["emb_delta"], atol=1e-6)
    one = tokenized_scores(model, tok, rs, as_, c, rl, al, batch_size=1, delta=True)
    for k in ("pll_ref", "pll_alt", "emb_cosine", "emb_l2", "emb_delta"):
        np.testing.assert_allclose(one[k], s[k], atol=1e-5, err_msg=k)
    # the same variants written on the minus strand: the allele starts at L - c - len(ref) in both sequences
    minus = tokenized_scores(model, tok, [reverse_complement_seq(x) for x in rs],
                             [reverse_complement_seq(x) for x in as_], L - c - rl, rl, al)
    for k in ("pll_llr", "emb_cosine", "emb_l2"):
        np.testing.assert_allclose(minus[k], s[k], atol=1e-5, err_msg=k)


@pytest.mark.parametrize("kind", ["bpe", "kmer"])
def test_pll_by_hand(models, kind):
    model, tok = load_tokenized(models[kind], device="cpu")
    rs, as_, c, rl, al = _variants()

    def hand(seq, a, b):
        """Mask each token overlapping characters [a, b) alone; sum log P(token) (one unpadded sequence)."""
        enc = tok(seq, return_offsets_mapping=True)
        ids = enc["input_ids"]
        total = 0.0
        for t, (x, y) in enumerate(enc["offset_mapping"]):
            if y > x and x < b and y > a:
                masked = list(ids)
                masked[t] = tok.mask_token_id
                with torch.no_grad():
                    lg = model(input_ids=torch.tensor([masked])).logits[0, t]
                total += float(torch.log_softmax(lg, -1)[ids[t]])
        return total

    for i in (0, 5, 6):                                               # an SNV, the insertion, the deletion
        r_rc, a_rc = reverse_complement_seq(rs[i]), reverse_complement_seq(as_[i])
        want_ref = (hand(rs[i], c, c + rl[i]) + hand(r_rc, L - c - rl[i], L - c)) / 2
        la = len(as_[i])
        want_alt = (hand(as_[i], c, c + al[i]) + hand(a_rc, la - c - al[i], la - c)) / 2
        got = tokenized_scores(model, tok, rs[i:i + 1], as_[i:i + 1], c, rl[i:i + 1], al[i:i + 1])
        assert got["pll_ref"][0] == pytest.approx(want_ref, abs=1e-5)
        assert got["pll_alt"][0] == pytest.approx(want_alt, abs=1e-5)
    assert covering_pll(model, tok, rs[:1], [c], [c + 1])[0] == pytest.approx(hand(rs[0], c, c + 1), abs=1e-5)


def test_loading_is_local_only(models, tmp_path):
    with pytest.raises(InputError, match="local model directory"):
        load_tokenized(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert not is_tokenized(tmp_path) and is_tokenized(models["bpe"])


def test_score_variants_with_a_tokenised_model_scores_indels(models):
    """Through the stage kernel on real chr20: SNVs and indels scored, a REF mismatch reported, not scored."""
    import pandas as pd

    from locusflow.dnalm.task import score_variants_frame
    fasta, seq = _real_chr20()
    pos = [30_000_000 + 1009 * i for i in range(6)]
    base = [chr(seq[p - 1]) for p in pos]
    nxt = [chr(seq[p]) for p in pos]
    other = [next(b for b in "ACGT" if b != x) for x in base]
    df = pd.DataFrame({"chrom": "20", "pos": pos,
                       "ref": [base[0], base[1], base[2] + nxt[2], base[3], other[4], base[5]],
                       "alt": [other[0], base[1] + "GA", base[2], other[3], base[4], other[5]]})
    df.loc[5, "ref"] = next(b for b in "ACGT" if b not in (base[5], other[5]))          # the genome has neither
    got = score_variants_frame(df, fasta=fasta, model=models["kmer"], window=41, batch_size=4, delta=True)
    assert list(got.status) == ["ok", "indel", "indel", "ok", "swapped", "ref_mismatch"]
    done = got.status != "ref_mismatch"
    assert got.loc[done, ["emb_l2", "pll_llr"]].notna().all().all() and got.loc[~done, "pll_llr"].isna().all()
    assert got.llr.isna().all() and len(got.emb_delta[0]) == 32 and got.emb_delta[5] is None
    model, tok = load_tokenized(models["kmer"], device="cpu")
    from locusflow.dnalm.tokenized import variant_sequences
    r = got.iloc[[1, 4]]
    rs, as_ = variant_sequences(Genome(fasta), "20", r.pos.to_numpy(), list(r.ref), list(r.alt), 41)
    want = tokenized_scores(model, tok, rs, as_, 20, r.ref.str.len(), r.alt.str.len())
    np.testing.assert_allclose(r.pll_llr, want["pll_llr"], atol=1e-5)
    assert r.ref.iloc[1] == base[4] and r.alt.iloc[1] == other[4]                     # swapped: genome orientation


def test_tokenised_scores_equal_on_local_dask_and_spark(models, spark):
    """The stage's engines on a tokenised model, the delta vector (a list column) included."""
    import pandas as pd

    from locusflow.dnalm.stage import score_variants
    fasta, seq = _real_chr20()
    pos = [31_000_000 + 2003 * i for i in range(8)]
    ref = [chr(seq[p - 1]) for p in pos]
    alt = [next(b for b in "ACGT" if b != r) if i % 4 else r + "TT" for i, r in enumerate(ref)]
    df = pd.DataFrame({"chrom": "20", "pos": pos, "ref": ref, "alt": alt})
    opts = {"fasta": str(fasta), "model": str(models["bpe"]), "window": 41, "batch_variants": 3, "delta": True}
    local = score_variants(df, opts, progress=False)
    assert local["pll_llr"].notna().all() and (local.status == "indel").sum() == 2
    pd.testing.assert_frame_equal(local, score_variants(df, opts, engine="dask"))
    pd.testing.assert_frame_equal(local.reset_index(drop=True),
                                  score_variants(df, opts, engine="spark", spark=spark).reset_index(drop=True),
                                  atol=1e-6)
