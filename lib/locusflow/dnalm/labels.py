"""Labelled regions for fine-tuning: reading and checking a BED or TSV, token windows, held-out splits.

Input formats (one region per row; the model sees ``window`` bp centred on the region's midpoint, reverse
complemented when its strand is ``-``):

- BED (``.bed`` / ``.bed.gz``; no header; 0-based half-open): chrom, start, end, label (column 4)
  [, name, strand (column 6)]; ``track``/``browser``/``#`` lines skipped;
- TSV (anything else; tab-separated, with a header): ``chrom``, ``start``, ``end`` (1-based, inclusive),
  ``label`` [, ``strand``].

Checks (each names the file, the 1-based data row and the column): contig in the FASTA index, ``0 <=
start < end <= contig length``, label numeric; for classification, labels are class values of which every
one has examples in the training and the held-out split.

Splits: rows whose window overlaps a ``held_out`` region (``chrom:start-end`` or a whole chromosome)
are the test set; training rows whose window lies within ``window`` bp of it are dropped (no shared
bases). The validation set for early stopping is a seeded choice of whole 1-Mb bins of the training
rows (about ``valid_fraction`` of them): chromosome-segment validation, never random windows next to
training ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .windows import reverse_complement, windows

TASKS = ("binary", "multiclass", "regression")


def _read_table(path: Path) -> tuple[pd.DataFrame, bool]:
    name = path.name.lower()
    bed = name.endswith(".bed") or name.endswith(".bed.gz")
    if bed:
        raw = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str, keep_default_na=False)
        raw = raw[~raw[0].str.startswith(("track", "browser"))].reset_index(drop=True)
        if raw.shape[1] < 4:
            raise InputError(path, "a BED with at least 4 columns: chrom, start, end, label", column="4",
                             value=f"{raw.shape[1]} columns")
        df = pd.DataFrame({"chrom": raw[0], "start": raw[1], "end": raw[2], "label": raw[3],
                           "strand": raw[5] if raw.shape[1] > 5 else "+"})
    else:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        miss = [c for c in ("chrom", "start", "end", "label") if c not in df.columns]
        if miss:
            raise InputError(path, "a tab-separated header with chrom, start, end, label [, strand]",
                             column=miss[0], value=list(df.columns))
        df = df.assign(strand=df["strand"] if "strand" in df.columns else "+")[["chrom", "start", "end", "label",
                                                                                   "strand"]]
    return df, bed


def _first_bad(path, mask, df, column, expected):
    if mask.any():
        i = int(np.flatnonzero(np.asarray(mask))[0])
        raise InputError(path, expected, row=i + 1, column=column, value=df[column].iloc[i])


def read_labels(path, genome, task: str = "binary") -> pd.DataFrame:
    """Labelled regions of a BED or TSV, checked against the FASTA (module docstring).

    Parameters
    ----------
    path : str or Path
        The labels file.
    genome : locusflow.io.fasta.Genome
        The FASTA the regions refer to.
    task : {"binary", "multiclass", "regression"}
        Classification labels must be integers (binary: 0 and 1); regression labels any finite number.

    Returns
    -------
    DataFrame
        ``chrom`` (no ``chr``), ``start0``, ``end0`` (0-based half-open), ``centre0`` (0-based midpoint),
        ``strand`` (+ or -), ``label`` (float64), in the file's row order.

    Raises
    ------
    InputError
        Missing file or columns, unknown contig, coordinates outside the contig, a label that is not a
        number (or not an allowed class), a strand other than + - . or an empty file.
    """
    path = Path(path)
    if task not in TASKS:
        raise InputError("finetune.task", f"one of {', '.join(TASKS)}", value=task)
    if not path.is_file():
        raise InputError(path, "a labels file (BED: chrom start end label; or TSV with chrom, start, end, label)")
    df, bed = _read_table(path)
    if not len(df):
        raise InputError(path, "at least one labelled region")
    chrom = df["chrom"].str.removeprefix("chr")
    _first_bad(path, ~chrom.isin(list(genome.contigs)), df, "chrom",
               f"a contig of the FASTA {Path(genome.path).name} (has {', '.join(list(genome.contigs)[:8])})")
    start, end = (pd.to_numeric(df[c], errors="coerce") for c in ("start", "end"))
    for c, v in (("start", start), ("end", end)):
        _first_bad(path, v.isna() | (v != v.round()), df, c, "an integer coordinate")
    start0 = start.astype(np.int64) - (0 if bed else 1)
    end0 = end.astype(np.int64)
    lengths = {c: genome.contig_length(c) for c in pd.unique(chrom)}
    clen = chrom.map(lengths).astype(np.int64)
    _first_bad(path, start0 < 0, df, "start", f"a start >= {0 if bed else 1}")
    _first_bad(path, end0 <= start0, df, "end", "an end after the start")
    _first_bad(path, end0 > clen, df, "end", "an end within the contig's length (" +
               ", ".join(f"{c}: {n}" for c, n in list(lengths.items())[:4]) + ")")
    label = pd.to_numeric(df["label"], errors="coerce")
    _first_bad(path, label.isna() | ~np.isfinite(label.to_numpy(dtype=float)), df, "label", "a numeric label")
    if task != "regression":
        _first_bad(path, label != label.round(), df, "label", f"an integer class label ({task})")
        if task == "binary":
            _first_bad(path, ~label.isin([0, 1]), df, "label", "a binary label 0 or 1")
    strand = df["strand"].replace({".": "+"})
    _first_bad(path, ~strand.isin(["+", "-"]), df, "strand", "a strand + - or .")
    return pd.DataFrame({"chrom": chrom.to_numpy(), "start0": start0.to_numpy(), "end0": end0.to_numpy(),
                         "centre0": ((start0 + end0) // 2).to_numpy(), "strand": strand.to_numpy(),
                         "label": label.to_numpy(dtype=np.float64)})


def label_windows(genome, regions: pd.DataFrame, window: int) -> np.ndarray:
    """Token windows of the regions (centred on ``centre0``; minus strand reverse complemented).

    Parameters
    ----------
    genome : locusflow.io.fasta.Genome
    regions : DataFrame
        From :func:`read_labels`.
    window : int
        Window length (bp); bases beyond the contig are N.

    Returns
    -------
    ndarray of int64, (n, window)
        In ``regions`` order.
    """
    out = np.empty((len(regions), window), dtype=np.int64)
    for chrom in pd.unique(regions["chrom"]):
        r = np.flatnonzero(regions["chrom"].to_numpy() == chrom)
        out[r] = windows(genome, chrom, regions["centre0"].to_numpy()[r] + 1, window)
    minus = regions["strand"].to_numpy() == "-"
    out[minus] = reverse_complement(out[minus])
    return out


def parse_held_out(spec) -> list[tuple[str, int, float]]:
    """Held-out regions: ``chrom:start-end`` strings or whole chromosomes -> (chrom, start0, end0).

    Parameters
    ----------
    spec : str or list of str
        E.g. ``"20:50000001-52000000"``, ``"chr19"``, or a list of them.

    Returns
    -------
    list of (str, int, float)
        0-based half-open spans (a whole chromosome ends at infinity).
    """
    from .pretrain import parse_region
    out = []
    for s in [spec] if isinstance(spec, str) else list(spec):
        if ":" in str(s):
            out.append(parse_region(s, "finetune.held_out"))
        else:
            out.append((str(s).removeprefix("chr"), 0, float("inf")))
    return out


def split(regions: pd.DataFrame, held_out, window: int, *, valid_fraction: float = 0.15, seed: int = 0,
          bin_bp: int = 1_000_000) -> np.ndarray:
    """Which split each region belongs to (module docstring).

    Parameters
    ----------
    regions : DataFrame
        From :func:`read_labels`.
    held_out : str or list of str
        See :func:`parse_held_out`.
    window : int
        Window length (bp): the buffer between the test set and the training/validation rows.
    valid_fraction : float
        Target share of training rows moved to validation, by whole ``bin_bp`` bins.
    seed : int
        Seed of the bin choice.
    bin_bp : int
        Validation bin size (bp).

    Returns
    -------
    ndarray of object
        ``"train"``, ``"valid"``, ``"test"`` or ``"buffer"`` (dropped) per region.
    """
    c = regions["centre0"].to_numpy()
    lo, hi = c - window // 2, c - window // 2 + window
    test = np.zeros(len(regions), bool)
    near = np.zeros(len(regions), bool)
    for chrom, a, b in parse_held_out(held_out):
        on = regions["chrom"].to_numpy() == chrom
        test |= on & (hi > a) & (lo < b)
        near |= on & (hi > a - window) & (lo < b + window)
    out = np.where(test, "test", np.where(near, "buffer", "train")).astype(object)
    tr = np.flatnonzero(out == "train")
    keys = pd.Series(regions["chrom"].to_numpy()[tr]) + ":" + pd.Series(c[tr] // bin_bp).astype(str)
    bins = pd.unique(keys)
    rng = np.random.default_rng(seed)
    counts = keys.value_counts()
    taken, chosen = 0, set()
    for b in bins[rng.permutation(len(bins))]:
        if taken >= valid_fraction * len(tr):
            break
        chosen.add(b)
        taken += counts[b]
    out[tr[keys.isin(chosen).to_numpy()]] = "valid"
    return out
