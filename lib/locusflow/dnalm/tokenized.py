"""Variant scores from tokenised DNA language models (BPE like DNABERT-2, k-mers like Nucleotide Transformer).

Sequences, not token windows: the ref window is the genome's ``window`` bases around the variant (its
first ref base at index ``window // 2``), the alt window the same with the ref allele replaced by the alt
(lengths differ for indels, which the tokenizer absorbs). Two scores, each averaged over the forward
strand and the reverse complement:

- embedding: mean-pooled last hidden states over the sequence's tokens (special and padding tokens
  excluded), ``emb_cosine = 1 - cos(e_ref, e_alt)``, ``emb_l2 = |e_ref - e_alt|`` and optionally the
  delta vector ``e_alt - e_ref``;
- pseudo-log-likelihood over the tokens covering the variant: each token whose characters overlap the
  allele is masked alone and ``log P(token)`` read out; ``pll_ref``/``pll_alt`` sum them over the ref and
  alt sequences, ``pll_llr = pll_alt - pll_ref`` (negative: the alt sequence is less likely).

Swapping ref and alt flips the sign of ``pll_llr`` and of the delta vector and leaves the distances; the
minus-strand representation of a variant gives the same scores. Models load from a local directory only
(``AutoTokenizer``/``AutoModelForMaskedLM``, ``AutoModel`` when there is no MLM head: embeddings only);
``trust_remote_code`` only when asked (DNABERT-2 ships its own code).

References
----------
Zhou Z et al. (2024) DNABERT-2: Efficient foundation model and benchmark for multi-species genome. ICLR.
Dalla-Torre H et al. (2024) The Nucleotide Transformer. Nature Methods 22:287 (embedding distances).
Salazar J et al. (2020) Masked language model scoring. ACL (pseudo-log-likelihood).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..errors import InputError

_RC = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_TOKENIZER_LOCK = threading.Lock()     # a fast tokenizer is not thread-safe (Dask's threaded workers share it)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")


def is_tokenized(path) -> bool:
    """Whether a local model directory carries a tokenizer (else: a single-nucleotide model).

    Parameters
    ----------
    path : str or Path or None
        Model directory (None: the shipped single-nucleotide model).

    Returns
    -------
    bool
    """
    return path is not None and any((Path(path) / f).exists() for f in TOKENIZER_FILES)


def load_tokenized(path, *, device: str | None = None, dtype: str = "auto", trust_remote_code: bool = False):
    """Tokenizer and model from a local directory (never a hub), model in eval mode.

    Parameters
    ----------
    path : str or Path
        Directory with the tokenizer files, config.json and weights.
    device : str, optional
        "cuda" or "cpu" [cuda when available].
    dtype : {"auto", "float32", "bfloat16"}
        "auto": bfloat16 on CUDA, float32 on CPU.
    trust_remote_code : bool
        Run code shipped in the directory (DNABERT-2); explicit opt-in only.

    Returns
    -------
    model : transformers.PreTrainedModel
        The masked LM, or the bare encoder when the directory has no MLM head (``model.has_mlm_head``).
    tokenizer : transformers.PreTrainedTokenizerFast

    Raises
    ------
    InputError
        When the directory lacks config.json or a tokenizer, or the tokenizer is not a fast one (character
        offsets are needed).
    """
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer
    path = Path(path)
    if not (path / "config.json").exists() or not is_tokenized(path):
        raise InputError(path, "a local model directory with config.json, weights and a tokenizer "
                         "(models never load from a hub)")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=trust_remote_code)
    if not tok.is_fast:
        raise InputError(path, "a fast tokenizer (tokenizer.json): scores need character offsets")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    kw = {"local_files_only": True, "trust_remote_code": trust_remote_code, "dtype": getattr(torch, dtype)}
    try:
        model = AutoModelForMaskedLM.from_pretrained(str(path), **kw)
        model.has_mlm_head = True
    except ValueError:                       # an encoder without a masked-LM head: embeddings only
        model = AutoModel.from_pretrained(str(path), **kw)
        model.has_mlm_head = False
    return model.to(device).eval(), tok


def reverse_complement_seq(seq: str) -> str:
    """Reverse complement of a DNA string (N stays N, case kept).

    Parameters
    ----------
    seq : str

    Returns
    -------
    str
    """
    return seq.translate(_RC)[::-1]


def variant_sequences(genome, chrom: str, pos, ref, alt, length: int) -> tuple[list, list]:
    """Ref and alt sequences of ``length`` genome bases around each variant (allele at ``length // 2``).

    Parameters
    ----------
    genome : locusflow.io.fasta.Genome
    chrom : str
    pos : array-like of int
        1-based position of each variant's first ref base.
    ref, alt : sequence of str
        Alleles (ref checked against the genome beforehand).
    length : int
        Bases of the ref window (beyond the chromosome: N).

    Returns
    -------
    ref_seqs, alt_seqs : list of str
        The alt sequence is the ref one with ``ref`` replaced by ``alt`` (its length changes by
        ``len(alt) - len(ref)``).
    """
    from .windows import VOCAB, windows
    w = windows(genome, chrom, pos, length)
    letters = np.array(VOCAB[:5])
    ref_seqs = ["".join(r) for r in letters[w]]
    c = length // 2
    alt_seqs = [s[:c] + a + s[c + len(r):] for s, r, a in zip(ref_seqs, ref, alt)]
    return ref_seqs, alt_seqs


def _encode(tokenizer, seqs, **kw):
    with _TOKENIZER_LOCK:
        return tokenizer(list(seqs), **kw)


def _batches(n: int, size: int):
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))


def _device(model):
    return next(model.parameters()).device


def pooled_embeddings(model, tokenizer, seqs, *, batch_size: int = 64) -> np.ndarray:
    """Mean of the last hidden states over each sequence's own tokens (no special, no padding tokens).

    Parameters
    ----------
    model : transformers model
    tokenizer : transformers tokenizer
    seqs : list of str
    batch_size : int
        Sequences per forward pass (right-padded within a batch).

    Returns
    -------
    ndarray, (n, hidden)
    """
    import torch
    out = []
    with torch.inference_mode():
        for sl in _batches(len(seqs), batch_size):
            enc = _encode(tokenizer, seqs[sl], padding=True, return_special_tokens_mask=True, return_tensors="pt")
            keep = (enc["attention_mask"].bool() & ~enc.pop("special_tokens_mask").bool()).to(_device(model))
            res = model(input_ids=enc["input_ids"].to(_device(model)),
                        attention_mask=enc["attention_mask"].to(_device(model)), output_hidden_states=True)
            hs = (res.hidden_states[-1] if getattr(res, "hidden_states", None) else res.last_hidden_state).float()
            k = keep.unsqueeze(-1).float()
            out.append(((hs * k).sum(1) / k.sum(1).clamp(min=1)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size))


def covering_pll(model, tokenizer, seqs, starts, ends, *, batch_size: int = 64) -> np.ndarray:
    """Sum of log P(token) over the tokens overlapping characters ``[start, end)``, each masked alone.

    Parameters
    ----------
    model : transformers masked LM
    tokenizer : transformers fast tokenizer with a mask token
    seqs : list of str
    starts, ends : array-like of int
        The allele's character span in each sequence (0-based, end exclusive; ``end > start``).
    batch_size : int
        Masked copies per forward pass.

    Returns
    -------
    ndarray, (n,)
        Natural-log pseudo-log-likelihood of the covering tokens.

    References
    ----------
    Salazar J et al. (2020) Masked language model scoring. ACL.
    """
    import torch
    enc = _encode(tokenizer, seqs, return_offsets_mapping=True, return_special_tokens_mask=True)
    jobs = []                                                     # (sequence, token index): one masked copy each
    for i, (offs, spec) in enumerate(zip(enc["offset_mapping"], enc["special_tokens_mask"])):
        for t, ((a, b), sp) in enumerate(zip(offs, spec)):
            if not sp and b > a and a < ends[i] and b > starts[i]:
                jobs.append((i, t))
    if any(i not in {j for j, _ in jobs} for i in range(len(seqs))):
        raise InputError("tokenizer", "a token covering each variant's allele")
    pll = np.zeros(len(seqs))
    with torch.inference_mode():
        for sl in _batches(len(jobs), batch_size):
            part = jobs[sl]
            ids = [list(enc["input_ids"][i]) for i, _ in part]
            width = max(map(len, ids))
            x = torch.full((len(part), width), tokenizer.pad_token_id, dtype=torch.long)
            att = torch.zeros((len(part), width), dtype=torch.long)
            for r, ((i, t), row) in enumerate(zip(part, ids)):
                x[r, :len(row)] = torch.tensor(row)
                att[r, :len(row)] = 1
                x[r, t] = tokenizer.mask_token_id
            lg = model(input_ids=x.to(_device(model)), attention_mask=att.to(_device(model))).logits.float()
            rows, cols = torch.arange(len(part)), torch.tensor([t for _, t in part])
            true = torch.tensor([ids[r][t] for r, (_, t) in enumerate(part)])
            lp = torch.log_softmax(lg[rows, cols.to(lg.device)], -1)[rows, true.to(lg.device)].cpu().numpy()
            np.add.at(pll, np.array([i for i, _ in part]), lp)
    return pll


def tokenized_scores(model, tokenizer, ref_seqs, alt_seqs, centre, ref_len, alt_len, *, batch_size: int = 64,
                     delta: bool = False, pll: bool = True) -> dict:
    """Embedding distances and covering-token PLL of each variant, averaged over both strands.

    Parameters
    ----------
    model, tokenizer
        From :func:`load_tokenized`.
    ref_seqs, alt_seqs : list of str
        From :func:`variant_sequences`.
    centre : int or array-like of int
        Index of the allele's first character in both sequences (``window // 2``).
    ref_len, alt_len : array-like of int
        Allele lengths.
    batch_size : int
        Sequences (or masked copies) per forward pass.
    delta : bool
        Also return the mean delta vector ``e_alt - e_ref`` (``emb_delta``, (n, hidden)).
    pll : bool
        Compute the PLL scores (needs an MLM head).

    Returns
    -------
    dict of ndarray
        ``emb_cosine``, ``emb_l2``; with ``pll``: ``pll_ref``, ``pll_alt``, ``pll_llr``; with ``delta``:
        ``emb_delta``.

    References
    ----------
    Dalla-Torre H et al. (2024) Nature Methods 22:287; Salazar J et al. (2020) ACL.
    """
    n = len(ref_seqs)
    c = np.broadcast_to(np.asarray(centre, int), (n,))
    rl, al = np.asarray(ref_len, int), np.asarray(alt_len, int)
    rc_ref = [reverse_complement_seq(s) for s in ref_seqs]
    rc_alt = [reverse_complement_seq(s) for s in alt_seqs]
    out = {"emb_cosine": np.zeros(n), "emb_l2": np.zeros(n)}
    d = 0.0
    for r, a in ((ref_seqs, alt_seqs), (rc_ref, rc_alt)):
        er, ea = pooled_embeddings(model, tokenizer, r, batch_size=batch_size), \
            pooled_embeddings(model, tokenizer, a, batch_size=batch_size)
        cos = (er * ea).sum(1) / np.maximum(np.linalg.norm(er, axis=1) * np.linalg.norm(ea, axis=1), 1e-30)
        out["emb_cosine"] += (1 - cos) / 2
        out["emb_l2"] += np.linalg.norm(ea - er, axis=1) / 2
        d = d + (ea - er) / 2
    if delta:
        out["emb_delta"] = d
    if pll and getattr(model, "has_mlm_head", True):
        lr = np.array([len(s) for s in ref_seqs])
        la = np.array([len(s) for s in alt_seqs])
        p_ref = (covering_pll(model, tokenizer, ref_seqs, c, c + rl, batch_size=batch_size)
                 + covering_pll(model, tokenizer, rc_ref, lr - c - rl, lr - c, batch_size=batch_size)) / 2
        p_alt = (covering_pll(model, tokenizer, alt_seqs, c, c + al, batch_size=batch_size)
                 + covering_pll(model, tokenizer, rc_alt, la - c - al, la - c, batch_size=batch_size)) / 2
        out.update(pll_ref=p_ref, pll_alt=p_alt, pll_llr=p_alt - p_ref)
    return out
