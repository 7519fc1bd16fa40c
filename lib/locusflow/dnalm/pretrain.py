"""Masked-LM pretraining of :class:`~locusflow.dnalm.model.LocusConvForMaskedLM` from any indexed FASTA.

Training windows of ``window`` bp are drawn uniformly from the chromosomes' training part (windows
with more than 10% N skipped); a held-out segment (``held_out = "chrom:start-end"``, 1-based) is never
drawn. As in BERT/GPN, 15% of positions are chosen per window; of those 80% become [MASK], 10% a random
base, 10% stay. Loss = weighted cross-entropy over the chosen positions, soft-masked (lower-case,
repeat) positions weighted ``repeat_weight`` (GPN: 0.1).

Held-out metrics: at ``n_eval`` positions of the held-out segment (non-N, evenly spaced), the centre of
a window is masked and predicted; accuracy and cross-entropy (nats) of the model and of k-mer
baselines (:class:`~locusflow.dnalm.kmer.KmerModel`, fitted on the training part with the same weights),
on all positions and on non-repeat positions.

References
----------
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (GPN training: masking, repeat down-weighting).
Devlin J et al. (2019) BERT. NAACL (80/10/10 masking).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..logs import get_logger
from .kmer import KmerModel
from .windows import LUT, MASK, N_TOKEN

log = get_logger("dnalm")
BASELINES = {"markov5": (-5, -4, -3, -2, -1), "context3x3": (-3, -2, -1, 1, 2, 3)}


def read_tokens(fasta, chrom: str):
    """Tokens and soft-mask (lower case = repeat) of one chromosome of an indexed FASTA.

    Parameters
    ----------
    fasta : str or Path
        Indexed FASTA (bgzip + .fai/.gzi or plain + .fai).
    chrom : str
        Chromosome name, ``chr`` prefix optional on either side.

    Returns
    -------
    tokens : ndarray of int64
        One token per base (A C G T = 0..3, anything else N).
    repeat : ndarray of bool
        True where the base is lower case (soft-masked repeat).

    Raises
    ------
    InputError
        If htslib cannot open ``fasta`` as an indexed FASTA, or ``chrom`` is not in its index.
    """
    import pysam
    try:
        fa = pysam.FastaFile(str(fasta))
    except (OSError, ValueError) as exc:
        raise InputError(fasta, f"an indexed FASTA (bgzip or plain, with .fai) readable by htslib ({exc})") from None
    names = {c.removeprefix("chr"): c for c in fa.references}
    name = names.get(str(chrom).removeprefix("chr"))
    if name is None:
        raise InputError(fasta, f"chromosome {chrom} in the FASTA index (has {', '.join(list(names)[:10])})")
    raw = np.frombuffer(fa.fetch(name).encode("ascii"), dtype=np.uint8)
    return LUT[raw], raw >= ord("a")


def parse_region(spec: str, what: str = "held_out"):
    """``"chrom:start-end"`` (1-based, inclusive) -> (chrom, start0, end0 exclusive).

    Parameters
    ----------
    spec : str
        Region such as ``"chr20:1,000,001-2,000,000"`` (commas allowed, ``chr`` prefix dropped).
    what : str
        The setting named in the error.

    Returns
    -------
    chrom : str
        Chromosome without a ``chr`` prefix.
    start0 : int
        0-based start.
    end0 : int
        0-based exclusive end (equal to the 1-based inclusive end).

    Raises
    ------
    InputError
        If ``spec`` is not ``chrom:start-end`` with integer bounds.
    """
    try:
        chrom, rng = str(spec).rsplit(":", 1)
        a, b = (int(x.replace(",", "")) for x in rng.split("-"))
    except ValueError:
        raise InputError(what, "a region chrom:start-end", value=spec) from None
    if not (chrom and 1 <= a <= b):
        raise InputError(what, "a region chrom:start-end with 1 <= start <= end", value=spec)
    return chrom.removeprefix("chr"), a - 1, b


def mask_batch(tok: np.ndarray, rng, p: float = 0.15):
    """BERT masking of a batch of windows: (input ids, labels with -100 where not chosen).

    Each non-N position is chosen with probability ``p``; of the chosen, 80% become :data:`MASK`,
    10% a uniformly random base and 10% stay.

    Parameters
    ----------
    tok : ndarray of int, (batch, window)
        Token windows.
    rng : numpy.random.Generator
        Source of the random choices.
    p : float
        Probability that a (non-N) position is chosen.

    Returns
    -------
    inp : ndarray, (batch, window)
        Model input ids after masking (a copy; ``tok`` is not changed).
    labels : ndarray, (batch, window)
        The original token at chosen positions, -100 elsewhere (ignored by the loss).

    References
    ----------
    Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (GPN masking).
    Devlin J et al. (2019) BERT. NAACL (80/10/10 masking).
    """
    chosen = (rng.random(tok.shape) < p) & (tok < N_TOKEN)
    labels = np.where(chosen, tok, -100)
    u = rng.random(tok.shape)
    inp = tok.copy()
    inp[chosen & (u < 0.8)] = MASK
    rnd = chosen & (u >= 0.8) & (u < 0.9)
    inp[rnd] = rng.integers(0, 4, rnd.sum())
    return inp, labels


def evaluate(model, tok, rep, positions, window: int, kmers: dict, batch: int = 512) -> dict:
    """Held-out masked-centre accuracy and loss (nats) of the model and the k-mer baselines.

    Parameters
    ----------
    model : torch.nn.Module
        Masked LM returning ``.logits`` of shape (batch, window, vocab); run on CPU without gradients.
    tok : ndarray of int
        Tokens of the chromosome holding the held-out segment.
    rep : ndarray of bool
        Soft-mask (repeat) flag per base of ``tok``.
    positions : ndarray of int
        0-based centre positions to evaluate; windows running off the chromosome are clipped to its ends.
    window : int
        Window length (bp); the masked site is at ``window // 2``.
    kmers : dict of str to KmerModel
        Baselines, each scored with ``logp_both_strands`` on the same windows.
    batch : int
        Windows per forward pass.

    Returns
    -------
    dict
        ``n_positions``, ``n_nonrepeat`` and, for ``"model"`` and each baseline name, a dict of
        ``accuracy``, ``loss``, ``accuracy_nonrepeat``, ``loss_nonrepeat``.
    """
    import torch
    idx = positions[:, None] - window // 2 + np.arange(window)[None, :]
    w = tok[np.clip(idx, 0, len(tok) - 1)]
    truth = w[:, window // 2].copy()
    inp = w.copy()
    inp[:, window // 2] = MASK
    lps = []
    with torch.no_grad():
        for s in range(0, len(inp), batch):
            lg = model(input_ids=torch.from_numpy(inp[s:s + batch])).logits[:, window // 2].float()
            lps.append(torch.log_softmax(lg, -1).numpy())
    res = {"model": np.concatenate(lps)}
    for name, km in kmers.items():
        res[name] = km.logp_both_strands(w, window // 2)
    nonrep = ~rep[positions]
    out = {"n_positions": int(len(positions)), "n_nonrepeat": int(nonrep.sum())}
    for name, lp in res.items():
        ll = lp[np.arange(len(truth)), truth]
        acc = lp.argmax(1) == truth
        out[name] = {"accuracy": float(acc.mean()), "loss": float(-ll.mean()),
                     "accuracy_nonrepeat": float(acc[nonrep].mean()), "loss_nonrepeat": float(-ll[nonrep].mean())}
    return out


def pretrain(fasta, out, *, chroms=None, held_out: str, window: int = 128, steps: int = 300, batch_size: int = 64,
             lr: float = 2e-3, repeat_weight: float = 0.1, n_eval: int = 20000, seed: int = 0, model_kw=None,
             threads: int = 1) -> dict:
    """Train a small masked LM and save it (config, weights, training config, held-out metrics).

    Parameters
    ----------
    fasta : str or Path
        Indexed FASTA (bgzip + .fai/.gzi or plain + .fai), soft-masked repeats in lower case.
    out : str or Path
        Directory written by ``save_pretrained`` plus ``training.json`` and ``metrics.json``.
    chroms : list of str, optional
        Chromosomes to train on [every chromosome of the index].
    held_out : str
        ``chrom:start-end`` never trained on; metrics are measured there.
    window, steps, batch_size, lr, repeat_weight, n_eval, seed
        Training window (bp), optimiser steps, windows per step, AdamW learning rate (cosine decay),
        loss weight of soft-masked positions, held-out positions evaluated, random seed.
    threads : int
        torch CPU threads (1 is fastest for this small model on a shared machine).
    model_kw : dict, optional
        :class:`~locusflow.dnalm.model.LocusConvConfig` overrides.

    Returns
    -------
    dict
        The held-out metrics (also in ``metrics.json``).

    References
    ----------
    Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120.
    """
    import torch
    from .model import LocusConvConfig, LocusConvForMaskedLM
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    h_chrom, h_a, h_b = parse_region(held_out)
    if chroms is None:
        import pysam
        chroms = [c.removeprefix("chr") for c in pysam.FastaFile(str(fasta)).references]
    seqs = {c: read_tokens(fasta, c) for c in chroms}
    if h_chrom not in seqs:
        seqs[h_chrom] = read_tokens(fasta, h_chrom)
    starts = {}
    for c, (tok, _) in seqs.items():
        ok = np.ones(len(tok) - window, dtype=bool)
        if c == h_chrom:
            ok[max(0, h_a - window):h_b] = False            # no training window touches the held-out segment
        if c in chroms:
            starts[c] = np.flatnonzero(ok)
    cfg = LocusConvConfig(**(model_kw or {}))
    model = LocusConvForMaskedLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=max(0.05, 2.0 / steps))
    names = list(starts)
    sizes = np.array([len(starts[c]) for c in names], float)
    t0, losses = time.time(), []
    model.train()
    for step in range(steps):
        cs = rng.choice(len(names), batch_size, p=sizes / sizes.sum())
        rows, reps = [], []
        while len(rows) < batch_size:
            c = names[cs[len(rows)]]
            s = starts[c][rng.integers(len(starts[c]))]
            tok, rep = seqs[c]
            if (tok[s:s + window] == N_TOKEN).mean() <= 0.1:
                rows.append(tok[s:s + window])
                reps.append(rep[s:s + window])
        tok_b, rep_b = np.stack(rows), np.stack(reps)
        inp, lab = mask_batch(tok_b, rng)
        logits = model(input_ids=torch.from_numpy(inp)).logits
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), torch.from_numpy(lab).reshape(-1),
                                               ignore_index=-100, reduction="none")
        wt = torch.from_numpy(np.where(lab >= 0, np.where(rep_b, repeat_weight, 1.0), 0.0).reshape(-1)).float()
        loss = (ce * wt).sum() / wt.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step % 50 == 0:
            log.info("pretrain step %d loss %.4f (%.0f s)", step, np.mean(losses[-50:]), time.time() - t0)
    model.eval()
    tok, rep = seqs[h_chrom]
    cand = np.arange(h_a + window, h_b - window)
    cand = cand[tok[cand] < N_TOKEN]
    positions = cand[np.linspace(0, len(cand) - 1, min(n_eval, len(cand))).astype(int)]
    kmers = {}
    for name, offs in BASELINES.items():
        km = KmerModel(offs)
        for c in chroms:
            t, r = seqs[c]
            t = t.copy()
            if c == h_chrom:
                t[max(0, h_a - 8):h_b + 8] = N_TOKEN          # baselines never see the held-out segment either
            km_w = np.where(r, repeat_weight, 1.0)
            km.fit(t, km_w) if not hasattr(km, "counts_") else _add_counts(km, t, km_w)
        kmers[name] = km
    metrics = evaluate(model, tok, rep, positions, window, kmers)
    metrics["train_seconds"] = round(time.time() - t0, 1)
    metrics["final_train_loss"] = float(np.mean(losses[-50:]))
    out = Path(out)
    model.save_pretrained(out)
    n_par = sum(p.numel() for p in model.parameters())
    training = {"fasta": str(fasta), "chroms": list(chroms), "held_out": held_out, "window": window,
                "steps": steps, "batch_size": batch_size, "lr": lr, "repeat_weight": repeat_weight, "seed": seed,
                "mask_fraction": 0.15, "n_parameters": int(n_par), "model": cfg.to_dict()}
    (out / "training.json").write_text(json.dumps(training, indent=1, default=str))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    log.info("pretrain: %s", metrics)
    return metrics


def _add_counts(km: KmerModel, tok, w):
    prev = km.counts_
    km.fit(tok, w)
    km.counts_ = km.counts_ + prev
    sm, base = km.counts_ + km.alpha, km.counts_.sum(0) + km.alpha
    km.logp_, km.base_logp_ = np.log(sm / sm.sum(1, keepdims=True)), np.log(base / base.sum())
