"""Fine-tuning the shipped chr20 DNA LM on a labelled task of GRCh37 chr20: promoters or splice sites.

``--task promoter`` (default; locusflow.dnalm.promoters.promoter_task): 256-bp windows centred on the TSS of each bundled GENCODE v18
protein-coding gene of chr20 (strand-aware) against 4 GC-matched, N-free random windows per promoter, >= 5 kb
from any TSS. Held out: chr20:50,000,001-52,000,000 (the pretraining hold-out: the LM never saw it); early
stopping on whole 1-Mb bins of the rest. Reports held-out AUROC/AUPRC of each fine-tuning mode and of the
k-mer (4-6) logistic regression on the same split, with a locus-bootstrap interval of the AUROC difference,
the process CPU seconds of each run and the load average.

``--task splice-donor`` / ``splice-acceptor`` (locusflow.dnalm.splice.splice_task): 128-bp windows (``--window``)
centred on the exon-intron boundary of every distinct canonical donor (acceptor) of the bundled refGene hg19
chr20 GTF, in transcript orientation, against 2 (``--ratio``) GC-matched decoy windows per site centred the
same way on a GT (AG) of the same genes >= 64 bp from any annotated site.

Run (one thread):
    OMP_NUM_THREADS=1 PYTHONPATH=lib python bench/dnalm_finetune.py [--modes head lora full] [--held-out R ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FASTA = ROOT.parent / "shared" / "realdata" / "reference_genome" / "GRCh37_chr20.fa.gz"
GENES = ROOT / "lib" / "locusflow" / "data" / "gencode" / "gencode_v18_grch37_protein_coding.tsv.gz"


def random_backbone(path: Path) -> Path:
    """The shipped model's architecture with random weights (seed 0): the control for what pretraining adds."""
    import torch

    from locusflow.dnalm.model import SHIPPED, LocusConvConfig, LocusConvForMaskedLM
    torch.manual_seed(0)
    LocusConvForMaskedLM(LocusConvConfig.from_pretrained(str(SHIPPED))).save_pretrained(path)
    return path


def onehot_lr(w_all: np.ndarray, y: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Held-out logits of an L2 logistic regression on the one-hot bases of the (oriented) windows: a positional
    reference (a position weight matrix over the whole window); C chosen on the validation rows' log-loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    n, length = w_all.shape
    x = np.zeros((n, length * 4), np.float32)
    r, c = np.nonzero(w_all < 4)
    x[r, c * 4 + w_all[r, c]] = 1
    tr, va, te = (where == s for s in ("train", "valid", "test"))
    fits = [LogisticRegression(C=c_, max_iter=2000).fit(x[tr], y[tr]) for c_ in (1e-3, 1e-2, 1e-1, 1.0)]
    best = min(fits, key=lambda f: log_loss(y[va], f.predict_proba(x[va])[:, 1]))
    return best.decision_function(x[te])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["promoter", "splice-donor", "splice-acceptor"], default="promoter")
    ap.add_argument("--modes", nargs="+", default=["head", "lora", "full"],
                    help="head lora full, and head-random: a frozen randomly initialised backbone + head (control)")
    ap.add_argument("--onehot", action="store_true", help="also a one-hot (position) logistic regression")
    ap.add_argument("--held-out", nargs="+", default=["20:50000001-52000000"])
    ap.add_argument("--window", type=int, default=None, help="[promoter 256, splice 128]")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--ratio", type=int, default=None, help="negatives per positive [promoter 4, splice 2]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shift", type=int, default=0, help="training-time jitter (bp) of lora/full windows")
    ap.add_argument("--pooling", default="meanmax", choices=["meanmax", "centre"], help="what the head reads")
    ap.add_argument("--json", default=None, help="write the results here")
    a = ap.parse_args(argv)
    splice = a.task.startswith("splice")
    a.window = a.window or (128 if splice else 256)
    a.ratio = a.ratio or (2 if splice else 4)
    if not FASTA.exists():
        print(f"skip: {FASTA} not present")
        return 0
    import torch
    torch.set_num_threads(1)
    from locusflow.dnalm.finetune import finetune
    from locusflow.dnalm.labels import label_windows, read_labels, split
    from locusflow.dnalm.promoters import promoter_task, write_bed
    from locusflow.dnalm.seqmetrics import bootstrap_auroc_difference
    from locusflow.dnalm.splice import splice_task
    from locusflow.dnalm.task import cached_genome
    tmp = Path(tempfile.mkdtemp(prefix="lf_ft_bench"))
    t = time.process_time()
    if splice:
        task = splice_task(FASTA, None, "20", site=a.task.split("-")[1], window=a.window, ratio=a.ratio, seed=a.seed)
    else:
        task = promoter_task(FASTA, GENES, "20", window=a.window, ratio=a.ratio, seed=a.seed)
    bed = write_bed(task, tmp / "labels.bed")
    print(f"task {a.task}: {int(task.label.sum())} positives, {int((task.label == 0).sum())} negatives "
          f"(GC mean {task.gc[task.label == 1].mean():.3f} vs {task.gc[task.label == 0].mean():.3f}); "
          f"{time.process_time() - t:.1f} CPU s")
    regions = read_labels(bed, cached_genome(FASTA))
    where = split(regions, a.held_out, a.window, seed=a.seed)
    test = np.flatnonzero(where == "test")
    y = regions["label"].to_numpy()[test]
    rows, res = [], {"task": a.task, "pooling": a.pooling, "held_out": a.held_out, "window": a.window, "n_test": int(len(test)),
                     "n_test_positive": int(y.sum()), "runs": {}}
    kmer = None
    for mode in a.modes:
        t0 = time.process_time()
        base = random_backbone(tmp / "random_backbone") if mode == "head-random" else None
        m = finetune(bed, FASTA, tmp / mode, base=base, mode=mode.split("-")[0], held_out=a.held_out, window=a.window,
                     epochs=a.epochs, seed=a.seed, baseline=kmer is None, shift=a.shift, pooling=a.pooling)
        cpu = time.process_time() - t0
        if kmer is None:
            kmer = m["kmer_lr"]
            rows.append(("k-mer LR (4-6)", kmer["test"]["auroc"], kmer["test"]["auprc"], float("nan"), "", ""))
            if a.onehot:
                from locusflow.dnalm.seqmetrics import auprc, auroc
                w_all = label_windows(cached_genome(FASTA), regions, a.window)
                oh = onehot_lr(w_all, regions["label"].to_numpy(), where)
                b = bootstrap_auroc_difference(y, oh, kmer["scores"], n_boot=2000, seed=a.seed)
                rows.append(("one-hot LR (window)", auroc(y, oh), auprc(y, oh), float("nan"), f"{4 * a.window + 1}",
                             f"{b['difference']:+.3f} [{b['lo']:+.3f}, {b['hi']:+.3f}]"))
                res["onehot_lr"] = {"test": {"auroc": auroc(y, oh), "auprc": auprc(y, oh)}, "auroc_minus_kmer": b}
                print(f"one-hot: {rows[-1]}", flush=True)
        from locusflow.dnalm.classifier import load_finetuned, predict_windows
        model, tok, meta = load_finetuned(tmp / mode, device="cpu")
        w = label_windows(cached_genome(FASTA), regions.iloc[test], a.window)
        score = predict_windows(model, tok, w, meta)[:, 0]
        boot = bootstrap_auroc_difference(y, score, kmer["scores"], n_boot=2000, seed=a.seed)
        rows.append((f"fine-tune: {mode}" + (f" +-{a.shift}" if a.shift and mode != "head" else ""), m["test"]["auroc"], m["test"]["auprc"], cpu,
                     f"{m['trainable_parameters']}", f"{boot['difference']:+.3f} [{boot['lo']:+.3f}, {boot['hi']:+.3f}]"))
        res["runs"][mode] = {"test": m["test"], "best_epoch": m["best_epoch"], "epochs_run": len(m["history"]),
                             "cpu_seconds": round(cpu, 1), "trainable_parameters": m["trainable_parameters"],
                             "auroc_minus_kmer": boot}
        res["kmer_lr"] = {k: v for k, v in kmer.items() if k != "scores"}
        print(f"{mode}: {rows[-1]}", flush=True)
        if a.json:                                   # after every mode: a long run killed midway keeps the rest
            Path(a.json).write_text(json.dumps(res, indent=1))
    print(f"\nheld out {', '.join(a.held_out)}: {len(test)} windows, {int(y.sum())} positives; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'model':<20} {'AUROC':>6} {'AUPRC':>6} {'CPU s':>7} {'trained':>8}  AUROC - k-mer [95% bootstrap]")
    for name, auc, ap_, cpu, npar, d in rows:
        print(f"{name:<20} {auc:6.3f} {ap_:6.3f} {cpu:7.1f} {npar:>8}  {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
