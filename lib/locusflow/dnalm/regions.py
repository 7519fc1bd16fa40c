"""What a masked DNA language model learned where: accuracy and cross-entropy by annotated region type.

Each position of the evaluated segments gets one region type from a GTF, the first that applies:
``start_codon`` > ``stop_codon`` > coding ``cds_pos1`` / ``cds_pos2`` / ``cds_pos3`` (codon position from
the CDS record's frame: ``(pos - start - frame) mod 3 + 1`` on +, ``(end - pos - frame) mod 3 + 1`` on -;
``cds_multi_frame`` where overlapping transcripts disagree or the frame is missing) > ``utr5`` > ``utr3`` >
``ncrna_exon`` (other exonic bases) > ``splice_donor`` / ``splice_acceptor`` (the intron's first / last two
bases in transcript orientation: GT..AG) > ``promoter`` (``promoter_up`` bp upstream .. ``promoter_down``
bp downstream of a transcript's TSS) > ``intron`` > ``intergenic``. ``repeat`` / ``non_repeat`` cut across
them: soft-masked (lower-case) bases of the FASTA when it has any, else a repeats BED, else ``unavailable``.

Per region type, up to ``max_per_region`` positions are drawn at random (all of them when fewer) from the
segment's non-N positions; the base there is masked in a window of the model's length centred on it
(forward strand; ``strands=2`` averages the probabilities of both strands) and the model's distribution
read out, as in held-out pretraining evaluation (:func:`locusflow.dnalm.pretrain.evaluate`).
Accuracy = fraction where the most probable base is the reference base (Wilson 95% interval);
cross-entropy = mean of -ln P(ref) in nats (normal 95% interval), perplexity = exp(cross-entropy).
``repeat``, ``non_repeat`` and ``all`` pool the region samples with weights N_region / n_region
(stratified estimates; effective n = (sum w)^2 / sum w^2 in the intervals).
``composition_entropy`` is the entropy (nats) of the reference bases evaluated in the region: the
cross-entropy of a predictor that knows only the region's base composition.

References
----------
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (GPN; masked-base accuracy by region type).
Frankish A et al. (2019) GENCODE reference annotation for the human and mouse genomes. NAR 47:D766
(GTF features and frame).
Wilson EB (1927) Probable inference, the law of succession, and statistical inference. JASA 22:209.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .annotate import read_bed, read_gtf, split_utrs
from .intervals import covered, overlap_pairs
from .windows import N_TOKEN

REGION_TYPES = ("start_codon", "stop_codon", "cds_pos1", "cds_pos2", "cds_pos3", "cds_multi_frame", "utr5",
                "utr3", "ncrna_exon", "splice_donor", "splice_acceptor", "promoter", "intron", "intergenic")
POOLED = ("repeat", "non_repeat", "all")
Z95 = 1.959963984540054
BUNDLED_GTF = Path(__file__).resolve().parent.parent / "data" / "annotation" / "refgene_hg19_chr20.gtf.gz"


def _spans(ann: pd.DataFrame, feature: str) -> tuple[np.ndarray, np.ndarray]:
    f = ann[ann["feature"] == feature]
    return f["start"].to_numpy(np.int64), f["end"].to_numpy(np.int64)


def splice_sites(ann: pd.DataFrame) -> dict:
    """Donor and acceptor dinucleotides of every intron (consecutive exons of a transcript).

    Parameters
    ----------
    ann : DataFrame
        One chromosome's records of :func:`locusflow.dnalm.annotate.read_gtf`.

    Returns
    -------
    dict
        ``splice_donor`` and ``splice_acceptor`` -> (start, end) arrays, 1-based inclusive (2 bp each):
        the first two intronic bases in transcript orientation are the donor, the last two the acceptor;
        ``transcript_id`` and ``strand``: the intron's transcript and strand (same order).
    """
    ex = ann[ann["feature"] == "exon"].sort_values(["transcript_id", "start"])
    same = ex["transcript_id"].to_numpy()[1:] == ex["transcript_id"].to_numpy()[:-1]
    left_end, right_start = ex["end"].to_numpy(np.int64)[:-1][same], ex["start"].to_numpy(np.int64)[1:][same]
    ok = right_start - left_end - 1 >= 4                         # an intron of >= 4 bp
    strand = ex["strand"].to_numpy()[:-1][same][ok]
    plus = strand != "-"
    ls, rs = left_end[ok] + 1, right_start[ok] - 2               # the intron's two first / last bases
    return {"splice_donor": (np.where(plus, ls, rs), np.where(plus, ls, rs) + 1),
            "splice_acceptor": (np.where(plus, rs, ls), np.where(plus, rs, ls) + 1),
            "transcript_id": ex["transcript_id"].to_numpy()[:-1][same][ok], "strand": strand}


def _codon_class(pos: np.ndarray, ann: pd.DataFrame) -> np.ndarray:
    """Codon position bit mask (1, 2, 4 = positions 1, 2, 3; 8 = unknown frame) of each position, 0 outside CDS."""
    cds = ann[ann["feature"] == "CDS"]
    s, e = cds["start"].to_numpy(np.int64), cds["end"].to_numpy(np.int64)
    vi, ci = overlap_pairs(pos, s, e)
    f = cds["frame"].to_numpy(np.int64)[ci]
    plus = cds["strand"].to_numpy()[ci] != "-"
    phase = np.where(plus, pos[vi] - s[ci] - f, e[ci] - pos[vi] - f) % 3
    bits = np.zeros(len(pos), np.int64)
    np.bitwise_or.at(bits, vi, np.where(f >= 0, 1 << phase, 8))
    return bits


def classify_positions(pos, ann: pd.DataFrame, *, promoter_up: int = 1000, promoter_down: int = 100) -> np.ndarray:
    """Region type (:data:`REGION_TYPES`, module docstring) of each position of one chromosome.

    Parameters
    ----------
    pos : array-like of int
        1-based positions.
    ann : DataFrame
        This chromosome's GTF records (:func:`locusflow.dnalm.annotate.read_gtf`; ``UTR`` records are split
        into utr5/utr3 here).
    promoter_up, promoter_down : int
        Promoter window around each transcript's TSS (bp upstream, downstream).

    Returns
    -------
    ndarray of str
        One region type per position.

    References
    ----------
    Frankish A et al. (2019) NAR 47:D766 (GTF features and frame).
    """
    pos = np.asarray(pos, dtype=np.int64)
    ann = split_utrs(ann)
    tx = ann[ann["feature"] == "transcript"]
    if tx.empty:                      # no transcript records: each transcript's exon span
        tx = ann[ann["feature"] == "exon"].groupby("transcript_id", as_index=False).agg(
            start=("start", "min"), end=("end", "max"), strand=("strand", "first"))
    ts, te = tx["start"].to_numpy(np.int64), tx["end"].to_numpy(np.int64)
    plus = tx["strand"].to_numpy() != "-"
    tss = np.where(plus, ts, te)
    ps, pe = np.where(plus, tss - promoter_up, tss - promoter_down), np.where(plus, tss + promoter_down, tss + promoter_up)
    bits = _codon_class(pos, ann)
    sp = splice_sites(ann)
    tests = [("start_codon", covered(pos, *_spans(ann, "start_codon"))),
             ("stop_codon", covered(pos, *_spans(ann, "stop_codon"))),
             ("cds_pos1", bits == 1), ("cds_pos2", bits == 2), ("cds_pos3", bits == 4), ("cds_multi_frame", bits > 0),
             ("utr5", covered(pos, *_spans(ann, "utr5"))), ("utr3", covered(pos, *_spans(ann, "utr3"))),
             ("ncrna_exon", covered(pos, *_spans(ann, "exon"))),
             ("splice_donor", covered(pos, *sp["splice_donor"])), ("splice_acceptor", covered(pos, *sp["splice_acceptor"])),
             ("promoter", covered(pos, ps, pe)), ("intron", covered(pos, ts, te))]
    return np.select([t for _, t in tests], [r for r, _ in tests], "intergenic")


def _window_tokens(tok: np.ndarray, pos0: np.ndarray, length: int) -> np.ndarray:
    """Token windows with the site at ``length // 2``; N beyond the chromosome."""
    idx = pos0[:, None] - length // 2 + np.arange(length)[None, :]
    w = tok[np.clip(idx, 0, len(tok) - 1)]
    w[(idx < 0) | (idx >= len(tok))] = N_TOKEN
    return w


def _segment(spec: str, n: int) -> tuple[str, int, int]:
    """``chrom`` or ``chrom:start-end`` -> (chrom, start0, end0) within a chromosome of length n."""
    from .pretrain import parse_region
    if ":" not in str(spec):
        return str(spec).removeprefix("chr"), 0, n
    c, a, b = parse_region(spec, "segments")
    if b > n:
        raise InputError("segments", f"a segment within the chromosome (length {n})", value=spec)
    return c, a, b


def _stats(correct, nll, ref, w) -> dict:
    """Weighted accuracy (Wilson), cross-entropy (normal) with 95% intervals, composition entropy."""
    sw = w.sum()
    if len(w) == 0 or sw <= 0:
        return {}
    n_eff = sw ** 2 / (w ** 2).sum()
    p = float((w * correct).sum() / sw)
    d = 1 + Z95 ** 2 / n_eff
    mid, half = (p + Z95 ** 2 / (2 * n_eff)) / d, Z95 / d * np.sqrt(p * (1 - p) / n_eff + Z95 ** 2 / (4 * n_eff ** 2))
    ce = float((w * nll).sum() / sw)
    se = float(np.sqrt((w ** 2 * (nll - ce) ** 2).sum()) / sw)
    comp = np.bincount(ref, weights=w, minlength=4)[:4] / sw
    ent = float(-(comp[comp > 0] * np.log(comp[comp > 0])).sum())
    return {"accuracy": p, "accuracy_lo": mid - half, "accuracy_hi": mid + half, "cross_entropy": ce,
            "cross_entropy_lo": ce - Z95 * se, "cross_entropy_hi": ce + Z95 * se, "perplexity": float(np.exp(ce)),
            "perplexity_lo": float(np.exp(ce - Z95 * se)), "perplexity_hi": float(np.exp(ce + Z95 * se)),
            "composition_entropy": ent}


def _repeat_flags(rep: np.ndarray, chrom: str, pos: np.ndarray, repeats) -> tuple[np.ndarray | None, str]:
    if rep.any():
        return rep[pos - 1], "soft-mask"
    if repeats is not None:
        bed = read_bed(repeats)
        b = bed[bed["chrom"] == chrom]
        return covered(pos, b["start"].to_numpy(np.int64), b["end"].to_numpy(np.int64)), f"BED {Path(repeats).name}"
    return None, "unavailable (no soft-masked bases in the FASTA and no repeats BED)"


def model_window(model_dir, default: int = 128) -> int:
    """Window length a model was trained on (``training.json`` beside its weights), else ``default``.

    Parameters
    ----------
    model_dir : str or Path, optional
        Model directory (None: the shipped model).
    default : int
        Returned when the directory has no ``training.json`` with a ``window``.

    Returns
    -------
    int
    """
    from .model import SHIPPED
    f = Path(model_dir or SHIPPED) / "training.json"
    return int(json.loads(f.read_text()).get("window", default)) if f.exists() else default


def held_out_segment(model_dir) -> str | None:
    """The segment a model was never trained on (``held_out`` of its ``training.json``), or None.

    Parameters
    ----------
    model_dir : str or Path, optional
        Model directory (None: the shipped model).

    Returns
    -------
    str or None
    """
    from .model import SHIPPED
    f = Path(model_dir or SHIPPED) / "training.json"
    return json.loads(f.read_text()).get("held_out") if f.exists() else None


def _sample(region: np.ndarray, max_per_region: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Stratified draw: up to max_per_region indices per region type (sorted) and their weights N_r / n_r."""
    pick, weight = [], []
    for r in REGION_TYPES:                         # a loop over the 14 types, not over positions
        idx = np.flatnonzero(region == r)
        k = min(len(idx), max_per_region)
        if k:
            pick.append(np.sort(rng.choice(idx, k, replace=False)))
            weight.append(np.full(k, len(idx) / k))
    return (np.concatenate(pick), np.concatenate(weight)) if pick else (np.zeros(0, np.int64), np.zeros(0))


def region_metrics(fasta, annotation=None, *, model=None, segments=None, repeats=None, window: int | None = None,
                   max_per_region: int = 2000, max_candidates: int = 5_000_000, strands: int = 1, seed: int = 0,
                   promoter_up: int = 1000, promoter_down: int = 100, batch_size: int = 512, device=None,
                   positions: bool = False):
    """Masked-base accuracy and cross-entropy of a DNA language model by region type (schema ``dnalm_regions``).

    Parameters
    ----------
    fasta : str or Path
        Indexed FASTA of the model's genome (soft-masked repeats in lower case, when it has them).
    annotation : str or Path, optional
        GTF with exon, CDS (with frame), start_codon, stop_codon and UTR records [bundled UCSC refGene hg19
        chr20, ``data/annotation/refgene_hg19_chr20.gtf.gz``].
    model : str or Path or transformers model, optional
        Single-nucleotide masked-LM directory (or a loaded model) [the shipped chr20 model]; a directory with a
        tokenizer (BPE / k-mer model) is refused.
    segments : list of str, optional
        ``chrom:start-end`` (1-based) or ``chrom`` (whole chromosome) [the model's held-out segment].
    repeats : str or Path, optional
        BED of repeats, used when the FASTA has no soft-masked bases.
    window : int, optional
        Window length (bp) [the model's training window, else 128].
    max_per_region : int
        Positions drawn per region type and segment.
    max_candidates : int
        Larger segments are first thinned to this many uniformly drawn positions.
    strands : {1, 2}
        2: average the probabilities of the forward and reverse-complement windows.
    seed : int
        Random draws.
    promoter_up, promoter_down : int
        Promoter window around each transcript's TSS (bp).
    batch_size : int
        Windows per forward pass.
    device : str, optional
        Where the model runs [cuda when available].
    positions : bool
        Also return the evaluated positions.

    Returns
    -------
    DataFrame or (DataFrame, DataFrame)
        One row per segment and region type (:data:`REGION_TYPES`, then repeat, non_repeat, all): model,
        segment, rank, region, n_total, n, accuracy (+ _lo, _hi), cross_entropy (+ _lo, _hi), perplexity
        (+ _lo, _hi), composition_entropy, status, repeat_source. With ``positions``: also one row per
        evaluated position (segment, chrom, pos, region, repeat, ref, weight, logp_ref, correct).

    References
    ----------
    Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
    effects. PNAS 120:e2311219120.
    Wilson EB (1927) JASA 22:209.
    """
    from .llr import site_logprobs
    from .model import SHIPPED, load_model
    from .pretrain import read_tokens
    from .tokenized import is_tokenized
    loaded = model is not None and not isinstance(model, (str, Path))
    if not loaded and is_tokenized(model):
        raise InputError(model, "a single-nucleotide masked LM (one token per base): per-base accuracy by region "
                         "type is not defined for a tokenised (BPE / k-mer) model")
    mdl = model if loaded else load_model(model, device=device)
    name = type(model).__name__ if loaded else Path(model or SHIPPED).name
    if not segments and not loaded:
        segments = [s for s in (held_out_segment(model),) if s]
    if not segments:
        raise InputError("segments", "one or more chrom:start-end (the model has no held_out in training.json)")
    window = int(window or (128 if loaded else model_window(model)))
    ann_path = annotation or BUNDLED_GTF
    ann_all = read_gtf(ann_path)
    rng = np.random.default_rng(seed)
    rows, per, seqs = [], [], {}
    for spec in segments:
        chrom = str(spec).split(":")[0].removeprefix("chr")
        if chrom not in seqs:
            seqs[chrom] = read_tokens(fasta, chrom)
        tok, rep = seqs[chrom]
        c, a, b = _segment(spec, len(tok))
        seg = f"{c}:{a + 1}-{b}"
        ann = ann_all[ann_all["chrom"] == c]
        if ann.empty:
            raise InputError(ann_path, f"GTF records on chromosome {c} (segment {spec})")
        cand = np.arange(a, b)
        cand = cand[tok[cand] < N_TOKEN]
        if len(cand) > max_candidates:
            cand = np.sort(rng.choice(cand, max_candidates, replace=False))
        region = classify_positions(cand + 1, ann, promoter_up=promoter_up, promoter_down=promoter_down)
        flags, source = _repeat_flags(rep, c, cand + 1, repeats)
        pick, w = _sample(region, max_per_region, rng)
        lp = site_logprobs(mdl, _window_tokens(tok, cand[pick], window), batch_size=batch_size, strands=strands)
        lp = lp[0] if strands == 1 else np.log(np.exp(lp).mean(0))
        ref = tok[cand[pick]]
        nll, correct = -lp[np.arange(len(ref)), ref], lp.argmax(1) == ref
        counts = pd.Series(region).value_counts()
        rp = flags[pick] if flags is not None else np.zeros(len(pick), bool)
        for k, r in enumerate(REGION_TYPES + POOLED):
            if r in REGION_TYPES:
                m, n_total = region[pick] == r, int(counts.get(r, 0))
                ww = np.ones(int(m.sum()))
            elif r == "all":
                m, n_total, ww = np.ones(len(pick), bool), len(cand), w
            else:
                want = r == "repeat"
                m = rp == want if flags is not None else np.zeros(len(pick), bool)
                n_total, ww = (int((flags == want).sum()) if flags is not None else 0), w[m]
            st = _stats(correct[m], nll[m], ref[m], ww)
            status = "ok" if st else ("unavailable" if r in POOLED[:2] and flags is None else "empty")
            rows.append({"model": name, "segment": seg, "rank": k, "region": r, "n_total": n_total,
                         "n": int(m.sum()), **st, "status": status, "repeat_source": source})
        if positions:
            per.append(pd.DataFrame({"segment": seg, "chrom": c, "pos": cand[pick] + 1, "region": region[pick],
                                     "repeat": rp, "ref": ref, "weight": w, "logp_ref": -nll, "correct": correct}))
    cols = ["model", "segment", "rank", "region", "n_total", "n", "accuracy", "accuracy_lo", "accuracy_hi",
            "cross_entropy", "cross_entropy_lo", "cross_entropy_hi", "perplexity", "perplexity_lo", "perplexity_hi",
            "composition_entropy", "status", "repeat_source"]
    table = pd.DataFrame(rows).reindex(columns=cols)
    return (table, pd.concat(per, ignore_index=True)) if positions else table
