"""Run inside the gpn peer environment (tests/peers/gpn.lock): GPN's own VEP scoring next to locusflow's LLR
kernel on one tiny, seeded, randomly initialised GPN ConvNet masked LM (gpn.model.GPNForMaskedLM).

    python gpn_vep.py FASTA WORKDIR N_VARIANTS WINDOW  ->  WORKDIR/scores.json

GPN side (gpn 0.9.0a1, gpn/ss/run_vep.py): its windowing, reverse complement, masking and tokenising
closure ``get_tokenized_seq`` (taken from ``run_vep`` itself: the ``variants`` argument's ``set_transform``
receives it; run_vep then stops before building its fp16 + torch.compile Trainer, which cannot run on CPU)
on gpn's own ``Genome`` of the FASTA, then ``MLMforVEPModel.forward`` (the model loaded from the saved
directory through AutoModelForMaskedLM, as the script does): logit(alt) - logit(ref) at the masked site,
averaged over the two strands. locusflow side: ``site_logprobs`` + ``llr_from_logprobs`` on the same loaded
model object, and ``score_variants_frame`` loading the directory through its own loader.

Vocabulary: the model and a local character-level tokenizer use locusflow's ids (A C G T N [MASK] = 0..5),
which gpn's code takes from the tokenizer (``token_input_id``); nothing is fetched from a hub.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch


class _Captured(Exception):
    pass


class _Variants:
    """Stands in for run_vep's datasets.Dataset only to receive its transform (gpn's scoring closure)."""

    def set_transform(self, fn):
        self.transform = fn
        raise _Captured


def tokenizer_for(path: Path):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4, "[MASK]": 5}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="N"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"\[MASK\]|."), behavior="isolated")
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, mask_token="[MASK]", unk_token="N")
    tok.save_pretrained(str(path))
    return tok


def main(fasta: str, work: str, n: int, window: int) -> None:
    import gpn.ss.run_vep as rv              # registers gpn's classes with the Auto factories
    from gpn.data import Genome as GpnGenome
    from gpn.model import GPNConfig, GPNForMaskedLM

    from locusflow.dnalm.llr import llr_from_logprobs, site_logprobs
    from locusflow.dnalm.task import score_variants_frame
    from locusflow.dnalm.windows import LUT, windows
    from locusflow.io.fasta import Genome

    work = Path(work)
    torch.manual_seed(13)
    cfg = GPNConfig(vocab_size=6, num_hidden_layers=4, hidden_size=32, intermediate_size=64,
                    first_kernel_size=9, rest_kernel_size=5, dilation_max=8, dilation_cycle=4)
    net = GPNForMaskedLM(cfg)
    with torch.no_grad():          # larger random weights than the init's: LLRs of order 1, not 1e-3
        for name, p in net.named_parameters():
            if "norm" not in name.lower():
                p.normal_(0.0, 0.25)
    net.save_pretrained(str(work / "model"))
    tok = tokenizer_for(work / "tokenizer")      # beside the model: a directory with a tokenizer is a tokenised model to locusflow

    # n SNVs at seeded random positions of chr20 where the window holds no N; ref = the genome's base
    g = Genome(fasta)
    rng = np.random.default_rng(13)
    chrom = "20"
    pos = np.sort(rng.integers(100_000, 62_000_000, 8 * n))
    w = windows(g, chrom, pos, window)
    keep = np.flatnonzero((w < 4).all(1))[:n]
    pos, w = pos[keep], w[keep]
    ref_t = w[:, window // 2]
    alt_t = (ref_t + rng.integers(1, 4, len(ref_t))) % 4
    bases = np.array(list("ACGT"))
    ref, alt = bases[ref_t], bases[alt_t]

    # GPN's scoring
    vep = rv.MLMforVEPModel(str(work / "model")).eval()
    cap = _Variants()
    try:
        rv.run_vep(cap, GpnGenome(fasta, subset_chroms=[chrom]), window, tok, vep)
    except _Captured:
        pass
    batch = cap.transform({"chrom": [chrom] * len(pos), "pos": pos.tolist(), "ref": ref.tolist(),
                           "alt": alt.tolist()})
    with torch.inference_mode():
        t = {k: torch.tensor(np.asarray(v)) for k, v in batch.items()}
        gpn_llr = vep(**t).numpy()
        gpn_fwd = vep.get_llr(t["input_ids_fwd"], t["pos_fwd"], t["ref_fwd"], t["alt_fwd"]).numpy()
        gpn_rev = vep.get_llr(t["input_ids_rev"], t["pos_rev"], t["ref_rev"], t["alt_rev"]).numpy()

    # locusflow's kernel on the same model object, then the whole scoring path from the directory
    ours = llr_from_logprobs(site_logprobs(vep.model, w, batch_size=16), ref_t, alt_t)
    frame = score_variants_frame(
        pd.DataFrame({"chrom": chrom, "pos": pos, "ref": ref, "alt": alt}),
        fasta=fasta, model=work / "model", window=window, device="cpu", dtype="float32")
    same_windows = bool(np.array_equal(np.asarray(batch["input_ids_fwd"])[:, [i for i in range(window)
                                                                                 if i != window // 2]],
                                       np.delete(w, window // 2, axis=1)))
    out = {"pos": pos.tolist(), "ref": ref.tolist(), "alt": alt.tolist(), "same_fwd_windows": same_windows,
           "gpn_llr": gpn_llr.tolist(), "gpn_fwd": gpn_fwd.tolist(), "gpn_rev": gpn_rev.tolist(),
           "ours_llr": ours["llr"].tolist(), "ours_fwd": ours["llr_fwd"].tolist(),
           "ours_rev": ours["llr_rev"].tolist(), "frame_llr": frame["llr"].tolist(),
           "frame_status": frame["status"].tolist(), "lut_ok": bool((LUT[np.frombuffer(b"ACGT", np.uint8)]
                                                                    == np.arange(4)).all())}
    (work / "scores.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
