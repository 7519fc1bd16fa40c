"""GPN-style variant scores from a single-nucleotide masked LM (pure functions of tensors).

LLR of a SNV: the variant site is masked and the model's distribution at it read out,
``llr = log P(alt) - log P(ref)``, averaged over the forward strand and the reverse complement (where
the site sits at ``L - 1 - L/2`` and the alleles are complemented). One forward pass per strand gives
the distribution over all four bases, so every alt at a site comes from the same pass; negative = the
alt is less likely than the ref (putatively deleterious).

Embedding score (for any model with hidden states): ``1 - cos(mean_ref, mean_alt)`` and the Euclidean
distance between mean-pooled last hidden states of the ref and alt windows (unmasked), averaged over
strands.

References
----------
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (LLR; reference code: PyPI ``gpn``, ``gpn/ss/run_vep.py``).
Dalla-Torre H et al. (2024) The Nucleotide Transformer. Nature Methods (embedding distances).
"""
from __future__ import annotations

import numpy as np

from .windows import COMPLEMENT, MASK, reverse_complement


def site_logprobs(model, windows: np.ndarray, *, batch_size: int = 256, device=None, strands: int = 2) -> np.ndarray:
    """log P(A, C, G, T) at the masked centre of each window, per strand.

    Parameters
    ----------
    model : transformers model
        Masked LM whose ``logits[..., :4]`` are A, C, G, T.
    windows : ndarray of int, (n, L)
        Token windows with the site at ``L // 2`` (:func:`locusflow.dnalm.windows.windows`).
    batch_size : int
        Windows per forward pass.
    device : str, optional
        [the model's device].
    strands : {2, 1}
        1: the forward strand only (one forward pass per window).

    Returns
    -------
    ndarray, (strands, n, 4)
        [0] forward strand; [1] reverse complement, columns mapped back to the forward bases.
    """
    import torch
    n, length = windows.shape
    c = length // 2
    device = device or next(model.parameters()).device
    fwd = windows.copy()
    fwd[:, c] = MASK
    rev = reverse_complement(fwd)
    out = np.empty((strands, n, 4))
    with torch.inference_mode():
        for k, (w, site) in enumerate(((fwd, c), (rev, length - 1 - c))[:strands]):
            for s in range(0, n, batch_size):
                ids = torch.from_numpy(np.ascontiguousarray(w[s:s + batch_size])).to(device)
                lg = model(input_ids=ids).logits[:, site, :4].float()
                out[k, s:s + batch_size] = torch.log_softmax(lg, -1).cpu().numpy()
    if strands == 2:
        out[1] = out[1][:, ::-1]    # reverse strand: A,C,G,T of the complement -> forward bases
    return out


def llr_from_logprobs(logp: np.ndarray, ref_tok, alt_tok) -> dict:
    """LLR per strand and averaged from :func:`site_logprobs` output.

    Parameters
    ----------
    logp : ndarray, (2, n, 4)
    ref_tok, alt_tok : array-like of int
        Alleles as tokens 0..3 (A, C, G, T) on the forward strand.

    Returns
    -------
    dict of ndarray
        ``llr_fwd``, ``llr_rev``, ``llr`` (their mean).
    """
    r, a = np.asarray(ref_tok), np.asarray(alt_tok)
    i = np.arange(len(r))
    fwd = logp[0, i, a] - logp[0, i, r]
    rev = logp[1, i, a] - logp[1, i, r]
    return {"llr_fwd": fwd, "llr_rev": rev, "llr": (fwd + rev) / 2}


def embedding_distance(model, ref_windows: np.ndarray, alt_windows: np.ndarray, *, batch_size: int = 256,
                       device=None, delta: bool = False) -> dict:
    """Distances between mean-pooled hidden states of ref and alt windows, averaged over strands.

    Parameters
    ----------
    model : transformers model
        Returns ``hidden_states`` when called with ``output_hidden_states=True``.
    ref_windows, alt_windows : ndarray of int, (n, L)
    batch_size : int
    device : str, optional
    delta : bool
        Also ``emb_delta``: the mean over strands of ``e_alt - e_ref``, (n, hidden).

    Returns
    -------
    dict of ndarray
        ``emb_cosine`` (1 - cosine similarity) and ``emb_l2`` (Euclidean distance) [and ``emb_delta``].

    References
    ----------
    Dalla-Torre H et al. (2024) The Nucleotide Transformer. Nature Methods.
    """
    import torch
    device = device or next(model.parameters()).device

    def pooled(w):
        outs = []
        with torch.inference_mode():
            for s in range(0, len(w), batch_size):
                ids = torch.from_numpy(np.ascontiguousarray(w[s:s + batch_size])).to(device)
                hs = model(input_ids=ids, output_hidden_states=True).hidden_states[-1]
                outs.append(hs.float().mean(1).cpu().numpy())
        return np.concatenate(outs) if outs else np.zeros((0, 1))

    cos, l2, d = 0.0, 0.0, 0.0
    for r, a in ((ref_windows, alt_windows), (reverse_complement(ref_windows), reverse_complement(alt_windows))):
        er, ea = pooled(r), pooled(a)
        cos = cos + 1 - (er * ea).sum(1) / (np.linalg.norm(er, axis=1) * np.linalg.norm(ea, axis=1))
        l2 = l2 + np.linalg.norm(er - ea, axis=1)
        d = d + (ea - er) / 2
    return {"emb_cosine": cos / 2, "emb_l2": l2 / 2, **({"emb_delta": d} if delta else {})}


def complement_tokens(tok) -> np.ndarray:
    """Complement of base tokens (A<->T, C<->G).

    Parameters
    ----------
    tok : array-like of int
        Tokens (``A C G T N [MASK]`` = 0..5), any shape.

    Returns
    -------
    ndarray of int64
        Same shape, each base complemented in place (no reversal); N and MASK stay.
    """
    return COMPLEMENT[np.asarray(tok)]
