"""PLINK 1 binary filesets (.bed/.bim/.fam), read without plink.

The .bed is variant-major: each variant holds ceil(n/4) bytes, 2 bits per sample, low bits first:
00 = homozygous A1, 01 = missing, 10 = heterozygous, 11 = homozygous A2. We count A1 (bim column 5),
so A1 is `alt` and A2 is `ref` everywhere in locusflow.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

_MAGIC = bytes([0x6C, 0x1B, 0x01])
# A1 count for each 2-bit code, -1 = missing; one row of 4 samples per byte value
_CODE_TO_A1 = np.array([2, -1, 1, 0], dtype=np.int8)
_BYTE_TABLE = _CODE_TO_A1[(np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3]


def _check(path: Path) -> Path:
    if not path.exists():
        raise InputError(path, "file not found")
    return path


def read_bim(prefix) -> pd.DataFrame:
    """Variants of a PLINK .bim file: chrom rsid cm pos a1 a2 (a1 = counted allele = ``alt``).

    Chromosome names lose a ``chr`` prefix (any case); alleles are upper-cased.

    Parameters
    ----------
    prefix : str or pathlib.Path
        PLINK prefix; ``<prefix>.bim`` is read.

    Returns
    -------
    pandas.DataFrame
        One row per variant in file order: chrom, rsid, a1, a2 (str), cm, pos (int64).

    Raises
    ------
    InputError
        When the file is missing, a line has fewer than 6 whitespace-separated columns, or a position
        is not an integer (the row and value are named).

    References
    ----------
    PLINK 1 .bim format (https://www.cog-genomics.org/plink/1.9/formats#bim).
    """
    path = _check(Path(f"{prefix}.bim"))
    df = pd.read_csv(path, sep=r"\s+", header=None, dtype={0: str, 1: str, 4: str, 5: str},
                     names=["chrom", "rsid", "cm", "pos", "a1", "a2"])
    short = df["a2"].isna().to_numpy()
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise InputError(path, "6 whitespace-separated columns: chrom id cM pos A1 A2", row=i + 1,
                         value=" ".join(df.iloc[i].dropna().astype(str)))
    bad = pd.to_numeric(df["pos"], errors="coerce").isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, "an integer base-pair position", row=i + 1, column="pos (4)",
                         value=df["pos"].iloc[i])
    df["pos"] = df["pos"].astype(np.int64)
    df["chrom"] = df["chrom"].str.replace("^chr", "", regex=True, case=False)
    df["a1"] = df["a1"].str.upper()
    df["a2"] = df["a2"].str.upper()
    return df


def read_fam(prefix) -> pd.DataFrame:
    """Samples of a PLINK .fam file, every column kept as a string.

    Parameters
    ----------
    prefix : str or pathlib.Path
        As :func:`read_bim`; the ``.fam`` file is read.

    Returns
    -------
    pandas.DataFrame
        One row per sample in file order: fid, iid, father, mother, sex, pheno (str; "NA" not parsed).

    Raises
    ------
    InputError
        When the file is missing or a line has fewer than 6 whitespace-separated columns.

    References
    ----------
    PLINK 1 .fam format (https://www.cog-genomics.org/plink/1.9/formats#fam).
    """
    path = _check(Path(f"{prefix}.fam"))
    df = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False,
                     names=["fid", "iid", "father", "mother", "sex", "pheno"])
    short = df["pheno"].fillna("").eq("").to_numpy()
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise InputError(path, "6 whitespace-separated columns: FID IID father mother sex phenotype",
                         row=i + 1, value=" ".join(df.iloc[i].dropna().astype(str)))
    return df


def join_filesets(prefixes, out) -> Path:
    """Join PLINK filesets of the same samples variant-wise (e.g. one per chromosome) into ``out``.

    The .bed bodies and .bim lines are concatenated in the given order (no genotype is decoded); the
    .fam files must be identical.

    Parameters
    ----------
    prefixes : list of str or pathlib.Path
        PLINK prefixes.
    out : str or pathlib.Path
        Output prefix (``out.bed``/``.bim``/``.fam`` are written).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputError
        When a file is missing, a .bed lacks the variant-major magic bytes or a .fam differs from the
        first one.
    """
    prefixes, out = [Path(p) for p in prefixes], Path(out)
    fam = _check(Path(f"{prefixes[0]}.fam")).read_bytes()
    for p in prefixes[1:]:
        if _check(Path(f"{p}.fam")).read_bytes() != fam:
            raise InputError(f"{p}.fam", f"the same samples as {prefixes[0]}.fam (identical .fam files)")
    with open(f"{out}.bed", "wb") as bed, open(f"{out}.bim", "wb") as bim:
        bed.write(_MAGIC)
        for p in prefixes:
            body = _check(Path(f"{p}.bed")).read_bytes()
            if body[:3] != _MAGIC:
                raise InputError(f"{p}.bed", "a variant-major PLINK 1 .bed (magic bytes 6c 1b 01)")
            bed.write(body[3:])
            bim.write(_check(Path(f"{p}.bim")).read_bytes())
    Path(f"{out}.fam").write_bytes(fam)
    return out


class BedReader:
    """Random access to A1 counts of a .bed file (memory-mapped; no Python loop over SNPs or samples)."""

    def __init__(self, prefix, n_samples: int | None = None, n_variants: int | None = None):
        self.path = _check(Path(f"{prefix}.bed"))
        self.n_samples = len(read_fam(prefix)) if n_samples is None else n_samples
        self.n_variants = len(read_bim(prefix)) if n_variants is None else n_variants
        self.bytes_per_variant = (self.n_samples + 3) // 4
        mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        if mm[:3].tobytes() != _MAGIC:
            raise InputError(self.path, "PLINK 1 variant-major .bed (magic bytes 6c 1b 01)")
        self._check_layout(prefix, mm)
        self._mm = mm[3:].reshape(self.n_variants, self.bytes_per_variant)

    def _check_layout(self, prefix, mm: np.ndarray) -> None:
        """The .fam's sample count must match the .bed's byte layout, padding included.

        Each variant holds ceil(n/4) bytes; the unused 2-bit slots of its last byte are zero (code 00,
        which would read as homozygous A1). A .fam with 1-3 surplus rows keeps the byte count, so the
        surplus samples are found as slots that are 00 in every variant examined (up to 10,000,
        evenly spaced; with fewer than 16 variants padding cannot be told from a real sample and the
        check is the byte count only).
        """
        fam, bim = f"{prefix}.fam", f"{prefix}.bim"
        size, n, m = mm.size - 3, self.n_samples, self.n_variants
        if size != self.bytes_per_variant * m:
            per = f"{size // m} bytes per variant = {4 * (size // m) - 3}-{4 * (size // m)} samples" \
                if m and size % m == 0 else "not a whole number of bytes per variant"
            raise InputError(self.path, f"3 + {self.bytes_per_variant} x {m} bytes for the {n} samples of {fam} "
                             f"and the {m} variants of {bim}; the .bed has {per}", value=f"{mm.size} bytes")
        if m < 16 or n == 0:
            return
        rows = np.unique(np.linspace(0, m - 1, min(m, 10_000)).astype(np.int64))
        last = np.asarray(mm[3 + (rows + 1) * self.bytes_per_variant - 1])
        used = np.bitwise_or.reduce(last)
        slots = (int(used) >> (2 * np.arange(4))) & 3
        first = 4 * (self.bytes_per_variant - 1)
        n_bed = first + (int(np.flatnonzero(slots)[-1]) + 1 if slots.any() else 0)
        if n_bed != n:
            raise InputError(self.path, f"{n} samples as listed in {fam}; the last byte of each variant "
                             f"holds {n_bed} samples (slots after sample {n_bed} are padding bits 00 in all "
                             f"{len(rows)} variants examined)", value=f"{fam}: {n} rows, {self.path}: {n_bed} samples")

    def read(self, start: int = 0, stop: int | None = None, samples=None) -> np.ndarray:
        """int8 A1 counts, shape (stop-start, n_samples or len(samples)); -1 marks a missing call."""
        stop = self.n_variants if stop is None else stop
        raw = np.asarray(self._mm[start:stop])
        g = _BYTE_TABLE[raw].reshape(raw.shape[0], -1)[:, : self.n_samples]
        return g if samples is None else g[:, np.asarray(samples)]

    def read_block(self, start: int, stop: int, s0: int, s1: int) -> np.ndarray:
        """int8 A1 counts of variants start:stop and samples s0:s1 (``s0`` a multiple of 4), -1 = missing;
        only the bytes holding those samples are read.

        Parameters
        ----------
        start, stop : int
            Variant rows.
        s0, s1 : int
            Sample columns (``s0 % 4 == 0``).

        Returns
        -------
        numpy.ndarray
            [stop - start, s1 - s0] int8.
        """
        if s0 % 4:
            raise ValueError(f"s0 must be a multiple of 4 (got {s0})")
        s1 = min(int(s1), self.n_samples)
        raw = np.asarray(self._mm[start:stop, s0 // 4:(s1 + 3) // 4])
        return _BYTE_TABLE[raw].reshape(raw.shape[0], -1)[:, : s1 - s0]

    def read_index(self, index, samples=None) -> np.ndarray:
        raw = np.asarray(self._mm[np.asarray(index)])
        g = _BYTE_TABLE[raw].reshape(raw.shape[0], -1)[:, : self.n_samples]
        return g if samples is None else g[:, np.asarray(samples)]
