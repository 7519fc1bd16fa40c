"""Any chromosome naming (pigs: 1-18, X, Y; 'chr' prefixes): gwas and Fst give the same numbers."""
import shutil

import numpy as np
import pandas as pd

from locusflow.gwas.task import run_gwas
from locusflow.io.genotypes import ingest_plink
from locusflow.popgen.fst import run_fst, window_fst

from conftest import EXAMPLES
from peers.plink_glm import simulate

PREFIX = EXAMPLES / "1000G_EUR_chr20_22"


def test_pig_chromosomes(tmp_path):
    pig = tmp_path / "pig"
    for ext in ("bed", "fam"):
        shutil.copy(f"{PREFIX}.{ext}", f"{pig}.{ext}")
    bim = pd.read_csv(f"{PREFIX}.bim", sep="\t", header=None, dtype=str)
    bim[0] = bim[0].map({"20": "chrX", "22": "18"})
    bim.to_csv(f"{pig}.bim", sep="\t", header=False, index=False)
    a = ingest_plink(PREFIX, tmp_path / "human.vcz")
    b = ingest_plink(pig, tmp_path / "pig.vcz", genome_build="Sscrofa11.1")
    sim = simulate(PREFIX, tmp_path)
    ra, _ = run_gwas(a.path, sim["pheno"], sim["covar"], traits=["q1", "rare"])
    rb, _ = run_gwas(b.path, sim["pheno"], sim["covar"], traits=["q1", "rare"])
    assert set(rb["chrom"]) == {"X", "18"} and set(rb["genome_build"]) == {"Sscrofa11.1"}
    assert rb["variant_id"].str.match(r"^(X|18):\d+:").all()
    for c in ("beta", "se", "p", "n", "af"):
        np.testing.assert_array_equal(ra[c], rb[c])
    pops = pd.Series(np.where(np.arange(489) % 3, "Duroc", "Landrace"), index=a.samples)
    fa, fb = run_fst(a.path, pops), run_fst(b.path, pops)
    np.testing.assert_array_equal(fa["wc_fst"], fb["wc_fst"])
    w = window_fst(fb, 100_000)
    assert set(w["chrom"]) == {"X", "18"}
