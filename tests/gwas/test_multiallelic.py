"""Multi-allelic records: ingest splits them (bcftools norm -m-); gwas equals plink2 on the split file.

plink2 --glm on the unsplit record fits all alt alleles jointly (the commonest allele omitted); locusflow
tests each alt against all other alleles, which is what plink2 gives after ``multiallelics=-``.
"""
import subprocess

import numpy as np
import pandas as pd

from locusflow.gwas.task import run_gwas
from locusflow.io.genotypes import ingest_vcf

from conftest import apt_tool

HALF_DIGIT = 5.01e-6


def _vcf(path, n=300, m=40, multi=(5, 17), seed=3):
    rng = np.random.default_rng(seed)
    head = ["##fileformat=VCFv4.2", "##contig=<ID=7,length=1000000>",
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{i}" for i in range(n))]
    rows, calls = [], {}
    for j in range(m):
        k = 3 if j in multi else 2
        a = rng.choice(k, (n, 2), p=rng.dirichlet(np.ones(k) * 3))
        calls[j] = a
        gt = "\t".join(f"{x}|{y}" for x, y in a)
        rows.append(f"7\t{1000 + 100 * j}\tv{j}\tA\t{','.join('CGT'[:k - 1])}\t.\tPASS\t.\tGT\t{gt}")
    path.write_text("\n".join(head + rows) + "\n")
    y = (calls[multi[0]] == 2).sum(1) * 0.5 + (calls[multi[1]] == 1).sum(1) * 0.4 + rng.normal(size=n)
    return pd.DataFrame({"IID": [f"S{i}" for i in range(n)], "y": y})


def test_split_alleles_equal_plink2(tmp_path):
    vcf = tmp_path / "x.vcf"
    _vcf(vcf).to_csv(tmp_path / "p.txt", sep="\t", index=False)
    plink2 = apt_tool("plink2", "plink2")
    subprocess.run([plink2, "--vcf", str(vcf), "--make-pgen", "multiallelics=-", "--out", str(tmp_path / "split")],
                   check=True, capture_output=True)
    subprocess.run([plink2, "--pfile", str(tmp_path / "split"), "--pheno", str(tmp_path / "p.txt"), "--glm",
                    "allow-no-covars", "--threads", "1", "--out", str(tmp_path / "s")], check=True, capture_output=True)
    p = pd.read_csv(tmp_path / "s.y.glm.linear", sep="\t")
    store = ingest_vcf(vcf, tmp_path / "x.vcz")
    ours, _ = run_gwas(store.path, tmp_path / "p.txt")
    assert len(ours) == len(p) == 42
    assert set(ours.loc[ours["pos"] == 1500, "variant_id"]) == {"7:1500:A:C", "7:1500:A:G"}
    p = p.set_index(["POS", "ALT"]).loc[list(zip(ours["pos"], ours["alt"]))]
    sign = np.where(p["A1"] == p.index.get_level_values(1), 1.0, -1.0)
    np.testing.assert_allclose(ours["beta"], p["BETA"] * sign, rtol=HALF_DIGIT)
    np.testing.assert_allclose(ours["se"], p["SE"], rtol=HALF_DIGIT)
    np.testing.assert_allclose(ours["p"], p["P"], rtol=HALF_DIGIT)
