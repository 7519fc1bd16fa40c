"""The one allele-matching rule (locusflow.io.harmonise.allele_sign) and the variant matcher built on it
(locusflow.io.matching.match_variants: chrom:pos or rsid keys, multi-allelic sites), against hand-derived truth; munge's
harmonise() gives the same cases on the same pairs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from locusflow.io.harmonise import (AMBIGUOUS, FLIP, FLIP_SWAP, MATCH, MISMATCH, SWAP, allele_sign, harmonise,
                                    load_reference)
from locusflow.io.matching import match_variants

# (a_eff, a_oth, b_eff, b_oth, how with strand flips, how without)
CASES = [
    ("A", "G", "A", "G", MATCH, MATCH),
    ("A", "G", "G", "A", SWAP, SWAP),
    ("A", "G", "T", "C", FLIP, MISMATCH),            # complement of b is a
    ("A", "G", "C", "T", FLIP_SWAP, MISMATCH),       # complement of b is a, swapped
    ("A", "G", "A", "C", MISMATCH, MISMATCH),        # the other alt of a multi-allelic site
    ("AT", "A", "A", "AT", SWAP, SWAP),              # indel, swapped
    ("AC", "A", "GT", "T", FLIP, MISMATCH),          # indel on the other strand: reverse complement
    ("a", "c", "A", "C", MATCH, MATCH),              # case-insensitive
]


def test_cases_with_and_without_strand_flips():
    a1, a2, b1, b2, flip, noflip = map(list, zip(*CASES))
    sign, how = allele_sign(a1, a2, b1, b2)
    assert list(how) == flip
    assert list(sign) == [1, -1, 1, -1, 0, -1, 1, 1]
    sign, how = allele_sign(a1, a2, b1, b2, strand_flip=False)
    assert list(how) == noflip
    assert list(sign) == [1, -1, 0, 0, 0, -1, 0, 1]
    # categoricals (as read from Parquet) give the same answer through their categories
    cat = [pd.Categorical(x) for x in (a1, a2, b1, b2)]
    np.testing.assert_array_equal(allele_sign(*cat)[1], flip)


def test_strand_ambiguous_keep_drop_frequency():
    # A/T against A/T (as written: same) and T/A (as written: swapped); complementing cannot be told apart
    a1, a2, b1, b2 = ["A", "A", "A", "A", "C"], ["T", "T", "T", "T", "G"], ["A", "T", "A", "A", "G"], \
        ["T", "A", "T", "T", "C"]
    sign, how = allele_sign(a1, a2, b1, b2, ambiguous="keep")        # MetaXcan: matched as written
    assert list(how) == [MATCH, SWAP, MATCH, MATCH, SWAP] and list(sign) == [1, -1, 1, 1, -1]
    sign, how = allele_sign(a1, a2, b1, b2, ambiguous="drop")        # FUSION allele.qc: dropped
    assert list(how) == [AMBIGUOUS] * 5 and not sign.any()
    # frequencies: a's effect allele at 0.2; b's effect allele at 0.8 (row 0: disagree as written, so it is
    # the other strand, swapped), 1 - 0.8 (row 1 swapped: agree), 0.1 (agree), inside the window (0.45:
    # unresolved), unknown (NaN: unresolved)
    fa = [0.2, 0.2, 0.2, 0.2, 0.2]
    fb = [0.8, 0.8, 0.1, 0.45, np.nan]
    sign, how = allele_sign(a1, a2, b1, b2, ambiguous="frequency", af_a=fa, af_b=fb)
    assert list(how) == [FLIP_SWAP, SWAP, MATCH, AMBIGUOUS, AMBIGUOUS]
    assert list(sign) == [-1, -1, 1, 0, 0]
    with pytest.raises(ValueError, match="ambiguous"):
        allele_sign(a1, a2, b1, b2, ambiguous="guess")


def test_match_variants_positions_rsids_multiallelic():
    """Placed rows match on chrom:pos, unplaced ('NA') on rsid; at a multi-allelic site the row whose
    alleles match wins wherever it is, and a same-allele row beats a swapped one."""
    table = pd.DataFrame({"chrom": ["1", "1", "1", "2", "2"], "pos": [100, 100, 200, 50, 50],
                          "rsid": ["rs1", "rs1b", "rs2", "rs3", "rs3"],
                          "ref": ["A", "A", "C", "G", "T"], "alt": ["G", "C", "T", "T", "G"]})
    query = pd.DataFrame({"chrom": ["1", "1", "1", "NA", "NA", "2", "1"],
                          "pos": pd.array([100, 100, 100, None, None, 50, 300], dtype="Int64"),
                          "rsid": ["x", "y", "z", "rs2", "rs9", "w", "rs1"],
                          "effect_allele": ["C", "G", "T", "C", "A", "T", "G"],
                          "other_allele": ["A", "A", "A", "T", "G", "G", "A"]})
    idx, sign, how = match_variants(query, table)
    # row 0: A/C is the second row at 1:100; row 1: A/G the first; row 2: A/T neither (mismatch, first row);
    # row 3: rsid rs2 swapped; row 4: rsid absent; row 5: 2:50 has G/T and T/G: the same-allele row wins;
    # row 6: placed at 1:300, nothing there (its rsid is not used)
    assert list(idx) == [1, 0, 0, 2, -1, 3, -1]
    assert list(sign) == [1, 1, 0, -1, 0, 1, 0]
    assert list(how) == [MATCH, MATCH, MISMATCH, SWAP, -1, MATCH, -1]
    # a table without positions: every row matches on rsid
    idx, sign, _ = match_variants(query, table.drop(columns=["chrom", "pos"]))
    assert list(idx) == [-1, -1, -1, 2, -1, -1, 0] and list(sign) == [0, 0, 0, -1, 0, 0, 1]


def test_harmonise_cases_are_allele_sign_cases():
    """munge's harmonise() reports, per GWAS row, the case allele_sign gives (same rule, one function)."""
    a1, a2, b1, b2, flip, _ = map(list, zip(*CASES))
    a1 = [x.upper() for x in a1]
    a2 = [x.upper() for x in a2]
    ref = load_reference(pd.DataFrame({"chrom": "1", "pos": np.arange(len(CASES)) + 10, "ref": b2, "alt": b1}))
    gwas = pd.DataFrame({"chrom": "1", "pos": np.arange(len(CASES)) + 10, "a1": a1, "a2": a2,
                         "z": np.arange(len(CASES)) + 1.0})
    kept, reasons, case = harmonise(gwas, ref)
    names = {MATCH: "same", SWAP: "swapped", FLIP: "flipped", FLIP_SWAP: "swapped_flipped", MISMATCH: ""}
    assert list(case) == [names[h] for h in flip]
    assert [r or "" for r in reasons] == ["allele_mismatch" if h == MISMATCH else "" for h in flip]
    sign = allele_sign(a1, a2, b1, b2)[0]
    np.testing.assert_array_equal(kept["z"], (gwas["z"] * sign)[sign != 0])
