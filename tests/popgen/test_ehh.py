"""iHS, nSL and XP-EHH equal scikit-allel on shared inputs; a sweep simulated with msprime is found."""
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.popgen.ehh import ihs, nsl, standardize, standardize_by_allele_count, xpehh

from conftest import peer_venv

HERE = Path(__file__).parent
ALLEL = ["scikit-allel==1.3.13", "numpy<2.3", "scipy<1.16"]
ALLEL_RUN = """
import sys, numpy as np, allel
d = np.load(sys.argv[1]); h, pos = d["h"], d["pos"]; k = h.shape[1] // 2
a = allel.ihs(h, pos, use_threads=False, include_edges=bool(d["edges"]))
s, bins = allel.standardize_by_allele_count(a, h.sum(1), diagnostics=False)
ns = allel.nsl(h, use_threads=False)
x = allel.xpehh(h[:, :k], h[:, k:], pos, use_threads=False, include_edges=bool(d["edges"]))
np.savez(sys.argv[2], ihs=a, sihs=s, bins=bins, nsl=ns, xpehh=x, sxpehh=allel.standardize(x))
"""


def mosaic(seed, m=3000, n=200):
    """Haplotypes copied from 12 founders in blocks, with mutations: long shared segments of many lengths."""
    rng = np.random.default_rng(seed)
    founders = (rng.random((m, 12)) < rng.uniform(0.05, 0.5, m)[:, None]).astype(np.int8)
    starts = np.sort(rng.integers(0, m, (n, 8)), axis=1)
    src = rng.integers(0, 12, (n, 9))
    block = (np.arange(m)[None, :, None] >= starts[:, None, :]).sum(-1)           # (n, m)
    h = founders[np.arange(m)[None, :], np.take_along_axis(src, block, 1)].T
    h ^= (rng.random((m, n)) < 0.002).astype(np.int8)
    return h, np.cumsum(rng.integers(1, 3000, m)) + 1000


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    py = peer_venv("msprime", ["msprime==1.4.4"])
    out = tmp_path_factory.mktemp("sweep") / "sweep.npz"
    subprocess.run([str(py), str(HERE / "sim_sweep.py"), str(out), "200", "7"], check=True, capture_output=True)
    d = np.load(out)
    return d["h"], d["pos"], int(d["site"])


def _allel(tmp_path, h, pos, edges=False):
    py = peer_venv("scikit-allel", ALLEL)
    np.savez(tmp_path / "in.npz", h=h, pos=pos, edges=edges)
    (tmp_path / "run.py").write_text(ALLEL_RUN)
    subprocess.run([str(py), str(tmp_path / "run.py"), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                   check=True, capture_output=True)
    return np.load(tmp_path / "out.npz")


def _same(ours, theirs, name):
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=name)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6, equal_nan=True, err_msg=name)


@pytest.mark.parametrize("seed,edges", [(0, False), (1, True)])
def test_equal_to_scikit_allel_on_mosaic(tmp_path, seed, edges):
    h, pos = mosaic(seed)
    ref = _allel(tmp_path, h, pos, edges)
    a = ihs(h, pos, include_edges=edges)
    s, bins = standardize_by_allele_count(a, h.sum(1))
    k = h.shape[1] // 2
    x = xpehh(h[:, :k], h[:, k:], pos, include_edges=edges)
    for name, ours in (("ihs", a), ("sihs", s), ("nsl", nsl(h)), ("xpehh", x), ("sxpehh", standardize(x))):
        _same(ours, ref[name], name)
        assert np.isfinite(ours).sum() > 1000, name
    np.testing.assert_array_equal(bins, ref["bins"])


def test_sweep_equal_to_allel_and_detected(tmp_path, sweep):
    h, pos, site = sweep
    ref = _allel(tmp_path, h, pos)
    a = ihs(h, pos)
    _same(a, ref["ihs"], "ihs")
    _same(nsl(h), ref["nsl"], "nsl")
    s, _ = standardize_by_allele_count(a, h.sum(1))
    # the most extreme standardised iHS lies within 50 kb of the selected site (1 Mb simulated)
    top = int(np.nanargmax(np.abs(s)))
    assert abs(int(pos[top]) - site) < 50_000, (pos[top], site)
    assert np.nanmax(np.abs(s)) > 2.5


def test_missing_or_multiallelic_alleles_are_errors():
    h, pos = mosaic(2, m=50, n=20)
    h[7, 3] = -1
    with pytest.raises(InputError, match=r"row 8, column 'haplotype 3'.*without missing calls"):
        ihs(h, pos)
    h[7, 3] = 2
    with pytest.raises(InputError, match="split multi-allelic"):
        nsl(h)


def test_scan_from_a_phased_vcf_store(tmp_path, sweep):
    """The sweep haplotypes as a phased VCF (100 samples, two groups of 50), ingested, scanned per chromosome."""
    from locusflow.io.genotypes import ingest_vcf
    from locusflow.popgen.ehh import run_selection_scan

    h, pos, site = sweep
    n = h.shape[1] // 2
    gt = np.char.add(np.char.add(h[:, 0::2].astype(str), "|"), h[:, 1::2].astype(str))
    head = ["##fileformat=VCFv4.2", "##contig=<ID=5,length=2000000>",
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{i}" for i in range(n))]
    body = [f"5\t{p}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(row) for p, row in zip(pos, gt)]
    (tmp_path / "s.vcf").write_text("\n".join(head + body) + "\n")
    store = ingest_vcf(tmp_path / "s.vcf", tmp_path / "s.vcz")
    pops = pd.Series(np.where(np.arange(n) < 50, "A", "B"), index=[f"S{i}" for i in range(n)])
    res = run_selection_scan(store.path, pops, "A", "B")
    ha, hb = h[:, :100], h[:, 100:]
    _same(res["ihs_unstd"].to_numpy(), ihs(ha, pos), "ihs")
    _same(res["nsl_unstd"].to_numpy(), nsl(ha), "nsl")
    _same(res["xpehh_unstd"].to_numpy(), xpehh(ha, hb, pos), "xpehh")
    _same(res["ihs"].to_numpy(), standardize_by_allele_count(ihs(ha, pos), ha.sum(1))[0], "ihs std")
    assert set(res["chrom"]) == {"5"} and (res["population"] == "A").all()
    # the popgen stage runs the same scan with its tasks writing (two passes: scan, then standardise)
    import json
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    pops.rename("pop").rename_axis("IID").reset_index().to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    assert main(["popgen", "--store", str(store.path), "--populations", str(tmp_path / "p.tsv"), "--scan-population",
                 "A", "--scan-reference", "B", "--out", str(tmp_path / "o")]) == 0
    got = read_dataset(tmp_path / "o" / "popgen" / "selection", "selection_scan")
    for c in ("variant_id", "alt_count", "ihs_unstd", "nsl_unstd", "xpehh_unstd"):
        np.testing.assert_array_equal(got[c].to_numpy(), res[c].to_numpy())
    for c in ("ihs", "nsl", "xpehh"):      # bins' means and sds merged from per-chromosome moments: rounding only
        np.testing.assert_allclose(got[c], res[c], rtol=1e-12, atol=1e-13, equal_nan=True)
    summ = json.loads((tmp_path / "o" / "popgen" / "_stage.json").read_text())["summary"]["selection_scan"]
    assert summ["variants"] == len(res) and summ["ihs_scored"] == int(np.isfinite(res["ihs"]).sum())
    assert summ["ihs_abs_over_2"] == int((res["ihs"].abs() > 2).sum()) > 0
