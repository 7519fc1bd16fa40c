"""The DNA-LM scoring kernel on a GPU: the same scores as on CPU, and its throughput.

Two steps, so that the GPU machine (no network, no Spark, no ../shared) needs only this checkout and a
folder of inputs carried to it:

``prepare DIR`` (here, on CPU): the real 1000G EUR chr20 SNPs of polyfun's polypred example (2,873 SNPs,
GRCh37) with the genome's alleles, the GRCh37 chr20 FASTA copied beside them, a small BPE-tokenised
BertForMaskedLM built with the ``tokenizers`` package (random weights, DNABERT-2-like tokenisation), and
the CPU float32 scores of both models through :func:`locusflow.dnalm.task.score_variants_frame` (the
function the score_variants stage's pandas UDF calls for each unit), with the CPU throughput of the
shipped model's masked-site forward passes on one thread.

``device DIR OUT`` (on the GPU machine): the same scores with ``device="cuda"`` in float32 and bfloat16,
their largest difference from the CPU scores, and the shipped model's windows per second at several
batch sizes; one JSON record to ``OUT/dnalm_gpu.json`` (docs/benchmarks.md quotes it).

Usage:
    PYTHONPATH=lib python bench/dnalm_gpu.py prepare .gpu
    (device)  PYTHONPATH=lib python3 bench/dnalm_gpu.py device .gpu $OUT
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
REAL = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
if not REAL.exists():
    REAL = Path("/work/shared/realdata")
FASTA = REAL / "reference_genome" / "GRCh37_chr20.fa.gz"
BIM = REAL / "polyfun_1kg_eur" / "polypred_example" / "1000G.subset.20.bim"
SCORES = ["llr", "llr_fwd", "llr_rev", "emb_l2", "emb_cosine"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _bpe_model(path: Path) -> Path:
    """A DNABERT-2-like tokenised masked LM (BPE over the raw sequence), random weights, saved locally."""
    import torch
    from tokenizers import Tokenizer, models as tm, processors, trainers
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast
    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("ACGT"), 400)) for _ in range(400)]
    tok = Tokenizer(tm.BPE(unk_token="[UNK]"))
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIAL,
                                                        initial_alphabet=list("ACGTN")))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(path)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=1024, max_position_embeddings=512, pad_token_id=tok.token_to_id("[PAD]"))
    BertForMaskedLM(cfg).save_pretrained(path)
    return path


def _variants() -> pd.DataFrame:
    bim = pd.read_csv(BIM, sep=r"\s+", header=None, names=["chrom", "rsid", "cm", "pos", "a1", "a2"])
    return pd.DataFrame({"chrom": bim["chrom"].astype(str), "pos": bim["pos"], "ref": bim["a2"], "alt": bim["a1"]})


def _site_rate(model, n: int, batch_size: int, device: str, seed: int = 0) -> float:
    """Windows per second of the masked-site forward passes (both strands) on random 128-bp windows."""
    import torch
    from locusflow.dnalm.llr import site_logprobs
    w = np.random.default_rng(seed).integers(0, 4, size=(n, 128)).astype(np.int64)
    site_logprobs(model, w[:batch_size], batch_size=batch_size, device=device)          # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    site_logprobs(model, w, batch_size=batch_size, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t)


def prepare(d: Path) -> None:
    import torch
    from locusflow.dnalm.model import load_model
    from locusflow.dnalm.task import score_variants_frame
    torch.set_num_threads(1)
    d.mkdir(parents=True, exist_ok=True)
    for f in (FASTA, Path(f"{FASTA}.fai"), Path(f"{FASTA}.gzi")):
        shutil.copy(f, d / f.name)
    v = _variants()
    v.to_csv(d / "variants.tsv", sep="\t", index=False)
    bpe = _bpe_model(d / "bpe")
    rec = {}
    for name, model, kw in (("shipped", None, {"embeddings": True}), ("bpe", str(bpe), {})):
        t = time.process_time()
        s = score_variants_frame(v, fasta=d / FASTA.name, model=model, device="cpu", dtype="float32", **kw)
        rec[f"cpu_seconds_{name}"] = time.process_time() - t
        s.drop(columns=["emb_delta"]).to_parquet(d / f"cpu_{name}.parquet")
    rec["cpu_windows_per_s_1thread"] = _site_rate(load_model(device="cpu", dtype="float32"), 8192, 256, "cpu")
    (d / "cpu.json").write_text(json.dumps(rec, indent=1))
    print(json.dumps(rec, indent=1))


def device(d: Path, out: Path) -> None:
    import torch
    from locusflow.dnalm.model import load_model
    from locusflow.dnalm.task import score_variants_frame
    assert torch.cuda.is_available(), "no CUDA device"
    v = pd.read_csv(d / "variants.tsv", sep="\t", dtype={"chrom": str})
    rec = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cpu": json.loads((d / "cpu.json").read_text())}
    for name, model, kw in (("shipped", None, {"embeddings": True}), ("bpe", str(d / "bpe"), {})):
        cpu = pd.read_parquet(d / f"cpu_{name}.parquet")
        for dtype in ("float32", "bfloat16"):
            torch.cuda.synchronize()
            t = time.perf_counter()
            s = score_variants_frame(v, fasta=d / FASTA.name, model=model, device="cuda", dtype=dtype, **kw)
            torch.cuda.synchronize()
            r = {"wall_s": time.perf_counter() - t, "rows": int(len(s)),
                 "status_equal": bool((s["status"].to_numpy() == cpu["status"].to_numpy()).all())}
            for c in SCORES:
                a, b = s[c].to_numpy(float), cpu[c].to_numpy(float)
                ok = np.isfinite(a) & np.isfinite(b)
                if ok.any():
                    r[c] = {"scored": int(ok.sum()), "nan_pattern_equal": bool((np.isfinite(a) == np.isfinite(b)).all()),
                            "max_abs_diff": float(np.abs(a[ok] - b[ok]).max()),
                            "max_abs_cpu": float(np.abs(b[ok]).max()),
                            "pearson": float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 2 else None}
            rec[f"{name}_{dtype}"] = r
            print(name, dtype, json.dumps(r), flush=True)
    for dtype in ("float32", "bfloat16"):
        m = load_model(device="cuda", dtype=dtype)
        for bs in (256, 1024, 4096, 16384):
            rec[f"windows_per_s_{dtype}_batch{bs}"] = _site_rate(m, 262144, bs, "cuda")
            print(dtype, bs, rec[f"windows_per_s_{dtype}_batch{bs}"], flush=True)
    best = max(v for k, v in rec.items() if k.startswith("windows_per_s_"))
    rec["speedup_best_vs_cpu_1thread"] = best / rec["cpu"]["cpu_windows_per_s_1thread"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "dnalm_gpu.json").write_text(json.dumps(rec, indent=1))
    print(json.dumps(rec, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    else:
        device(Path(sys.argv[2]), Path(sys.argv[3]))
