"""Interoperability with the BLUPF90 family (renumf90, blupf90+, preGSf90): files out, solutions in.

Written (:func:`write_blupf90`), in the layouts of the BLUPF90 manual (Misztal et al.):

- ``data.txt``: one line per animal with a phenotype: trait value(s), fixed-effect columns (an
  intercept ``1`` first), then the animal id; space separated.
- ``snp.txt``: fixed-width genotype file: the animal id left-justified in a field as wide as the
  longest id, one space, then one character per SNP (0, 1, 2 = copies of the counted allele; 5 missing).
- ``ped.txt``: animal sire dam (0 = unknown); genotyped animals without a pedigree get unknown parents.
- ``map.txt``: SNP_ID CHR POS (preGSf90's ``chrinfo``-style map with a header).
- ``renum.par``: a renumf90 parameter file for the single-step / GBLUP animal model with the
  variance components given.

Read (:func:`read_solutions`): blupf90's ``solutions`` file (``trait effect level solution``) with
renumf90's cross-reference (``renadd<NN>.ped``: renumbered id in column 1, original id in column 10),
giving each original animal's solution for the animal effect (its GEBV).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError


def write_blupf90(out_dir, ids, y, markers, *, covariates=None, snp_ids=None, chrom=None, pos=None,
                  pedigree=None, var_g: float = 1.0, var_e: float = 1.0) -> dict:
    """Write the data, genotype, pedigree, map and renumf90 parameter files of one trait.

    Parameters
    ----------
    out_dir : str or pathlib.Path
    ids : array-like of str
        [n] animal ids (no spaces).
    y : array-like
        [n] phenotypes (NaN: genotyped animal without a record; left out of ``data.txt``).
    markers : array-like
        [n, m] allele counts 0/1/2 (NaN missing -> 5).
    covariates : pandas.DataFrame, optional
        Fixed-effect columns (numeric) beside the intercept.
    snp_ids, chrom, pos : array-like, optional
        The map (default SNP1.., chromosome 1, position 1..).
    pedigree : pandas.DataFrame, optional
        animal, sire, dam.
    var_g, var_e : float
        Starting / fixed variance components for the parameter file.

    Returns
    -------
    dict
        Paths of the files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = np.asarray(ids, dtype=str)
    if np.char.find(ids, " ").max(initial=-1) >= 0:
        raise InputError("animal ids", "ids without spaces (BLUPF90 files are space separated)")
    y = np.asarray(y, dtype=np.float64)
    g = np.asarray(markers, dtype=np.float64)
    n, m = g.shape
    cov = pd.DataFrame(index=range(n)) if covariates is None else covariates.reset_index(drop=True)
    rec = np.isfinite(y)
    data = pd.concat([pd.DataFrame({"y": y}), pd.DataFrame({"intercept": np.ones(n, int)}), cov,
                      pd.DataFrame({"id": ids})], axis=1)[rec]
    data.to_csv(out / "data.txt", sep=" ", header=False, index=False)
    codes = np.where(np.isnan(g), 5, np.rint(np.nan_to_num(g))).astype(np.int8)
    width = int(max(len(i) for i in ids))
    digits = np.ascontiguousarray(codes.astype(np.uint8) + 48).view(f"S{m}").ravel().astype(str)
    lines = np.char.add(np.char.ljust(ids, width + 1), digits)
    (out / "snp.txt").write_text("\n".join(lines) + "\n")
    snp_ids = np.asarray([f"SNP{j + 1}" for j in range(m)] if snp_ids is None else snp_ids, dtype=str)
    pd.DataFrame({"SNP_ID": snp_ids, "CHR": np.ones(m, int) if chrom is None else np.asarray(chrom),
                  "POS": np.arange(1, m + 1) if pos is None else np.asarray(pos)}).to_csv(
        out / "map.txt", sep=" ", index=False)
    ped = (pd.DataFrame({"animal": ids, "sire": "0", "dam": "0"}) if pedigree is None
           else pedigree[["animal", "sire", "dam"]].astype(str))
    ped.to_csv(out / "ped.txt", sep=" ", header=False, index=False)
    n_fixed = 1 + cov.shape[1]
    animal_col = 2 + n_fixed
    effects = "\n".join(f"EFFECT\n{2 + k} cov" for k in range(n_fixed))
    par = (f"DATAFILE\ndata.txt\nTRAITS\n1\nFIELDS_PASSED TO OUTPUT\n\nWEIGHT(S)\n\nRESIDUAL_VARIANCE\n{var_e}\n"
           f"{effects}\nEFFECT\n{animal_col} cross alpha\nRANDOM\nanimal\nFILE\nped.txt\nSNP_FILE\nsnp.txt\n"
           f"(CO)VARIANCES\n{var_g}\nOPTION map_file map.txt\n")
    (out / "renum.par").write_text(par)
    return {k: out / f for k, f in (("data", "data.txt"), ("snp", "snp.txt"), ("map", "map.txt"),
                                    ("pedigree", "ped.txt"), ("par", "renum.par"))}


def read_snp_file(path) -> tuple[np.ndarray, np.ndarray]:
    """Read a BLUPF90 fixed-width genotype file.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    ids : numpy.ndarray of str
    markers : numpy.ndarray
        [n, m] allele counts, NaN where the code is 5.
    """
    path = Path(path)
    raw = path.read_bytes()
    first = raw.split(b"\n", 1)[0]
    if not first.strip():
        raise InputError(path, "a BLUPF90 genotype file (id, then one digit per SNP)", row=1)
    start = len(first) - len(first.split()[-1])
    width = len(first) + 1
    body = raw if raw.endswith(b"\n") else raw + b"\n"
    if len(body) % width:
        raise InputError(path, f"fixed-width lines of {width - 1} characters (as line 1)")
    a = np.frombuffer(body, dtype=np.uint8).reshape(-1, width)
    geno = a[:, start:-1]
    bad = ~np.isin(geno, np.frombuffer(b"0125", np.uint8)).all(1) | (a[:, -1] != 10)
    if bad.any():
        raise InputError(path, "genotype codes 0/1/2/5 in the same columns as line 1", row=int(np.argmax(bad)) + 1)
    ids = np.char.strip(np.ascontiguousarray(a[:, :start]).view(f"S{start}").ravel().astype(str))
    g = (geno - 48).astype(np.float64)
    g[g == 5] = np.nan
    return np.asarray(ids), g


def read_solutions(solutions, xref, effect: int, trait: int = 1) -> pd.DataFrame:
    """Animal solutions of blupf90 mapped back to the original ids.

    Parameters
    ----------
    solutions : str or pathlib.Path
        blupf90's ``solutions`` (header line, then ``trait effect level solution [s.e.]``).
    xref : str or pathlib.Path
        renumf90's ``renadd<NN>.ped`` (renumbered id first, original id in column 10).
    effect : int
        The animal effect's number in the parameter file.
    trait : int

    Returns
    -------
    pandas.DataFrame
        id, solution (the GEBV), sorted as the cross-reference.
    """
    sol = pd.read_csv(solutions, sep=r"\s+", skiprows=1, header=None)
    sol = sol[(sol[0] == trait) & (sol[1] == effect)]
    ref = pd.read_csv(xref, sep=r"\s+", header=None)
    if ref.shape[1] < 10:
        raise InputError(xref, "renumf90's renadd file: 10 or more columns, original id in column 10",
                         value=ref.shape[1])
    level = dict(zip(sol[2].astype(int), sol[3].astype(float)))
    return pd.DataFrame({"id": ref[9].astype(str), "solution": ref[0].astype(int).map(level).to_numpy()})
