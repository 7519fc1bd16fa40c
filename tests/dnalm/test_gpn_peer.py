"""locusflow's GPN-style LLR against PyPI gpn 0.9.0a1's own scoring code (gpn/ss/run_vep.py) on one model.

In gpn's environment (tests/peers/gpn.lock; torch, transformers and numpy from the project's environment
through a .pth file), tests/peers/gpn_vep.py builds a tiny seeded GPN ConvNet masked LM with gpn's own
GPNConfig/GPNForMaskedLM, saves it, and scores 50 SNVs at random positions of the real GRCh37 chr20 FASTA,
128-bp windows: gpn's windowing/masking/tokenising closure from ``run_vep`` on gpn's ``Genome``, then
``MLMforVEPModel`` (logit(alt) - logit(ref) at the masked site, mean of the two strands); ours:
``site_logprobs`` + ``llr_from_logprobs`` on the same loaded model, and ``score_variants_frame`` loading the
saved directory (importing gpn registers its classes with AutoModelForMaskedLM).

Conventions, which agree exactly (no mapping needed):
- window: 0-based ``[pos-1 - L//2, pos-1 - L//2 + L)``, site at ``L//2``; on the reverse complement the site
  is at ``L-1 - L//2`` (gpn: ``pos_fwd - 1`` for even L, ``pos_fwd`` for odd L);
- reverse strand scored with the complemented alleles at that index; score = (fwd + rev) / 2;
- gpn takes raw logits, we log-softmax over A,C,G,T: the difference log P(alt) - log P(ref) is the same.
- token ids: gpn reads them from the tokenizer; here a local character-level tokenizer with locusflow's ids
  (A C G T N [MASK] = 0..5; our kernel reads logits[..., :4] as A,C,G,T). A GPN checkpoint trained with
  another id layout (a hub tokenizer) is not scored correctly by our kernel without an id map.
"""
from __future__ import annotations

import json
import os
import site
import subprocess

import numpy as np
import pytest
from conftest import REALDATA, ROOT, peer_venv
from peers.venv import HERE

FASTA = REALDATA / "reference_genome" / "GRCh37_chr20.fa.gz"
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real chr20 FASTA not present")
REQS = ["gpn==0.9.0a1", "biopython==1.88", "datasets==4.0.0", "bioframe==0.8.0", "pybigwig==0.3.29"]


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    py = peer_venv("gpn", REQS)
    assert (HERE / "gpn.lock").exists()
    sp = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                        text=True, check=True).stdout.strip()
    with open(os.path.join(sp, "locusflow_project_env.pth"), "w") as fh:
        fh.write("\n".join(site.getsitepackages()) + "\n")
    work = tmp_path_factory.mktemp("gpn")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    r = subprocess.run([str(py), str(HERE / "gpn_vep.py"), str(FASTA), str(work), "50", "128"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return {k: np.asarray(v) for k, v in json.loads((work / "scores.json").read_text()).items()}


def test_llr_equals_gpn_run_vep_per_strand_and_averaged(scores):
    assert len(scores["pos"]) == 50 and scores["same_fwd_windows"]
    assert np.abs(scores["gpn_llr"]).mean() > 0.05          # a model whose scores are not all ~0
    np.testing.assert_allclose(scores["ours_fwd"], scores["gpn_fwd"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(scores["ours_rev"], scores["gpn_rev"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(scores["ours_llr"], scores["gpn_llr"], atol=1e-5, rtol=0)
    assert np.abs(scores["ours_fwd"] - scores["ours_rev"]).max() > 1e-2    # the strands differ: averaging is tested


def test_score_variants_frame_from_the_saved_gpn_model_equals_gpn(scores):
    assert set(scores["frame_status"]) == {"ok"}
    np.testing.assert_allclose(scores["frame_llr"], scores["gpn_llr"], atol=1e-5, rtol=0)
