"""`locusflow run` from genotypes: gwas replaces munge; finemap reads its sumstats (known causal variant)."""
import subprocess
import sys

import numpy as np
import pandas as pd
import yaml

from locusflow.io.dataset import read_dataset
from locusflow.io.plink import BedReader, read_bim, read_fam

from conftest import EXAMPLES, ROOT


def test_run_from_genotypes(tmp_path):
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    g = BedReader(prefix).read().astype(float)
    bim, fam = read_bim(prefix), read_fam(prefix)
    f = g.mean(1) / 2
    causal = int(np.flatnonzero((np.minimum(f, 1 - f) > 0.3) & (bim["chrom"] == "22").to_numpy())[0])
    rng = np.random.default_rng(4)
    y = 0.6 * (g[causal] - g[causal].mean()) / g[causal].std() + rng.normal(size=len(fam))
    pd.DataFrame({"IID": fam["iid"], "y": y}).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    out = tmp_path / "out"
    cfg = {"out": str(out), "genome_build": "GRCh37", "engine": "local", "stages": ["ingest", "gwas", "ld", "finemap"],
           "paths": {"sumstats": str(out / "gwas" / "sumstats")},
           "ingest": {"plink": str(prefix)}, "gwas": {"phenotypes": str(tmp_path / "pheno.tsv")},
           "ld": {"blocks": "EUR", "maf": 0.01},
           "finemap": {"method": "susie", "ld": True, "p_threshold": 5e-8, "n": len(fam),
                       "susie": {"L": 5, "coverage": 0.95, "min_abs_corr": 0.5}}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "run", str(tmp_path / "p.yaml")],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    ss = read_dataset(out / "gwas" / "sumstats", "sumstats")
    vid = f"22:{bim['pos'].iloc[causal]}:{bim['a2'].iloc[causal]}:{bim['a1'].iloc[causal]}"
    assert ss.set_index("variant_id").loc[vid, "p"] < 1e-12
    snp = read_dataset(out / "finemap" / "snp", "finemap_snp")
    cs = snp[snp["cs"].notna()]
    assert vid in set(cs["variant_id"])
