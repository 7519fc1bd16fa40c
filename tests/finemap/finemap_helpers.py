"""Shared inputs of the finemap tests and bench: real loci and the bundled example as a results root."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES

N_EXAMPLE = 337000.0   # UK Biobank-like GWAS size of the polypred BOLT sumstats (conf/example.yaml)


def univariate_z(X, y):
    """susieR's univariate_regression: z = bhat / se with centred X and y, se on n-2 df."""
    Xc, yc = X - X.mean(0), y - y.mean()
    xx = (Xc ** 2).sum(0)
    bhat = Xc.T @ yc / xx
    s2 = ((yc[:, None] - Xc * bhat) ** 2).sum(0) / (len(y) - 2)
    return bhat / np.sqrt(s2 / xx)


def polypred_locus(realdata, chrom: int, half_width: int):
    """z (BOLT, aligned to the bim A1) and R (1000G EUR, 489) around the chromosome's top SNP."""
    from locusflow.io.plink import BedReader, read_bim, read_fam
    from locusflow.ld.matrix import ld_matrix
    d = realdata / "polyfun_1kg_eur" / "polypred_example"
    prefix = str(d / f"1000G.subset.{chrom}")
    bim, fam = read_bim(prefix), read_fam(prefix)
    ss = pd.read_csv(d / "bolt.sumstats.txt.gz", sep="\t")
    ss = ss[ss["CHR"] == chrom]
    top = int(ss["BP"].to_numpy()[np.argmin(ss["P_BOLT_LMM"].to_numpy())])
    sel = np.flatnonzero((bim["pos"] > top - half_width).to_numpy() & (bim["pos"] < top + half_width).to_numpy())
    dos = BedReader(prefix, n_samples=len(fam), n_variants=len(bim)).read(sel[0], sel[-1] + 1)
    R = ld_matrix(dos.astype(np.float32)).astype(np.float64)
    m = bim.iloc[sel].merge(ss, left_on="pos", right_on="BP", how="left")
    z = (m["BETA"] / m["SE"]).to_numpy()
    return np.where(m["ALLELE1"].to_numpy() != m["a1"].to_numpy(), -z, z), R


def example_sumstats(path):
    """The bundled BOLT sumstats as a `sumstats` dataset (BOLT ALLELE1 is the effect allele)."""
    from locusflow.io.dataset import write_dataset
    from locusflow.io.genotypes import make_variant_id
    b = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t")
    ss = pd.DataFrame({"chrom": b["CHR"].astype(str), "pos": b["BP"], "ref": b["ALLELE0"], "alt": b["ALLELE1"],
                       "rsid": b["SNP"], "z": b["BETA"] / b["SE"], "beta": b["BETA"], "se": b["SE"],
                       "p": b["P_BOLT_LMM"], "n": N_EXAMPLE, "af": b["A1FREQ"], "info": b["INFO"],
                       "genome_build": "GRCh37"})
    ss["variant_id"] = make_variant_id(ss["chrom"], ss["pos"], ss["ref"], ss["alt"]).to_numpy()
    write_dataset(ss, path, "sumstats")


@pytest.fixture(scope="module")
def example_out(tmp_path_factory):
    from locusflow.io.genotypes import ingest_plink
    from locusflow.layout import dataset_path
    out = tmp_path_factory.mktemp("finemap_example")
    ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", dataset_path({"out": str(out)}, "genotypes"))
    example_sumstats(dataset_path({"out": str(out)}, "sumstats"))
    return out


def example_paths(out) -> tuple:
    """(genotype store, sumstats) of :func:`example_out`'s results root."""
    from locusflow.layout import dataset_path
    return dataset_path({"out": str(out)}, "genotypes"), dataset_path({"out": str(out)}, "sumstats")


