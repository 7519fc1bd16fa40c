"""Motif databases: MEME (minimal MEME text) and JASPAR (bracketed count matrices) files read to
position probability matrices, and written back.

A motif is a :class:`Motif`: ``id``, ``name`` and ``pwm``, an array (width, 4) of A, C, G, T probabilities
(each row sums to 1). JASPAR counts are divided by their column sums; a MEME letter-probability matrix is
renormalised (its rows are rounded). A file that does not parse raises :class:`~locusflow.errors.InputError`
naming the file, the line and what was expected there.

The bundled database (:data:`BUNDLED`, ``locusflow/data/motifs``) is 16 matrices of JASPAR CORE vertebrates
(CTCF MA0139.1, SP1 MA0079.3, NRF1 MA0506.1, YY1, ELK1, GABPA, ELK4, NFYA, TBP, CREB1, E2F1, ZNF143 and, as
non-promoter controls, FOXA1, HNF4A, CEBPA, FOS::JUN), counts copied unchanged (JASPAR is CC BY 4.0; see the
folder's README).

References
----------
Bailey TL et al. (2009) MEME Suite: tools for motif discovery and searching. Nucleic Acids Res 37:W202
(the minimal MEME motif format).
Rauluseviciute I et al. (2024) JASPAR 2024: 20th anniversary of the open-access database of transcription
factor binding profiles. Nucleic Acids Res 52:D174.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InputError

ALPHABET = "ACGT"
BUNDLED_NAME = "jaspar_core_vertebrates_subset"


@dataclass
class Motif:
    """One motif: identifier, name, probability matrix (width, 4: A C G T) and optional site count."""

    id: str
    name: str
    pwm: np.ndarray
    nsites: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(len(self.pwm))

    def consensus(self) -> str:
        """Most probable base of each column (lower case where it has probability < 0.5)."""
        b = np.array(list(ALPHABET))[self.pwm.argmax(1)]
        return "".join(c if p >= 0.5 else c.lower() for c, p in zip(b, self.pwm.max(1)))


def bundled(fmt: str = "meme") -> Path:
    """Path of the bundled JASPAR subset.

    Parameters
    ----------
    fmt : {"meme", "jaspar"}
        Which of the two copies (same matrices).

    Returns
    -------
    pathlib.Path
    """
    return Path(str(resources.files("locusflow.data").joinpath("motifs", f"{BUNDLED_NAME}.{fmt}")))


def _rows(path, text):
    return [(i + 1, line.rstrip("\r\n")) for i, line in enumerate(text.splitlines())]


def _probabilities(path, lineno, m, what):
    m = np.asarray(m, dtype=float)
    if m.ndim != 2 or m.shape[1] != 4 or len(m) == 0:
        raise InputError(path, f"a {what} with 4 columns (A C G T) and at least one row", row=lineno,
                         value=m.shape)
    if not np.isfinite(m).all() or (m < 0).any():
        raise InputError(path, f"non-negative numbers in the {what}", row=lineno)
    s = m.sum(1, keepdims=True)
    if (s <= 0).any():
        raise InputError(path, f"every position of the {what} with a positive total", row=lineno)
    return m / s


def read_meme(path) -> list[Motif]:
    """Motifs of a minimal MEME file (``MOTIF id [name]``, ``letter-probability matrix: ... w= W``, W rows).

    Parameters
    ----------
    path : str or Path
        MEME motif file (version 4 or 5; DNA alphabet ACGT).

    Returns
    -------
    list of Motif

    Raises
    ------
    InputError
        Naming the file and 1-based line: no ``MEME version`` header, a non-DNA alphabet, a matrix with
        the wrong number of rows or columns or a non-number, a motif without a matrix, or no motif at all.

    References
    ----------
    Bailey TL et al. (2009) Nucleic Acids Res 37:W202.
    """
    path = Path(path)
    lines = _rows(path, path.read_text())
    first = next(((n, s) for n, s in lines if s.strip()), None)
    if first is None or not first[1].strip().startswith("MEME version"):
        raise InputError(path, "a MEME motif file starting with 'MEME version'", row=first[0] if first else 1,
                         value=first[1][:60] if first else "")
    out, cur, i = [], None, 0
    while i < len(lines):
        n, s = lines[i]
        t = s.strip()
        if t.startswith("ALPHABET") and "ACGT" not in t.replace(" ", "").upper():
            raise InputError(path, "the DNA alphabet (ALPHABET= ACGT)", row=n, value=t)
        if t.startswith("MOTIF"):
            if cur is not None:
                raise InputError(path, f"a letter-probability matrix for motif {cur[0]!r} before the next MOTIF",
                                 row=n, value=t[:60])
            parts = t.split()
            if len(parts) < 2:
                raise InputError(path, "'MOTIF <id> [name]'", row=n, value=t)
            cur = (parts[1], " ".join(parts[2:]) or parts[1], n)
        elif t.startswith("letter-probability matrix"):
            if cur is None:
                raise InputError(path, "a 'MOTIF <id>' line before the letter-probability matrix", row=n)
            kv = dict(re.findall(r"(\w+)=\s*([^\s]+)", t))
            try:
                w = int(kv["w"])
            except (KeyError, ValueError):
                raise InputError(path, "'letter-probability matrix: alength= 4 w= <width> ...'", row=n,
                                 value=t[:80]) from None
            if "alength" in kv and kv["alength"] != "4":
                raise InputError(path, "alength= 4 (DNA)", row=n, value=kv["alength"])
            rows = []
            for k in range(1, w + 1):
                if i + k >= len(lines):
                    raise InputError(path, f"{w} matrix rows for motif {cur[0]!r} (w= {w})", row=n + k,
                                     value="end of file")
                nk, sk = lines[i + k]
                try:
                    vals = [float(x) for x in sk.split()]
                except ValueError:
                    vals = []
                if len(vals) != 4:
                    raise InputError(path, f"row {k} of {w} of motif {cur[0]!r}: 4 numbers (A C G T)", row=nk,
                                     value=sk.strip()[:60])
                rows.append(vals)
            pwm = _probabilities(path, n, rows, "letter-probability matrix")
            out.append(Motif(cur[0], cur[1], pwm, float(kv.get("nsites", 0) or 0)))
            cur, i = None, i + w
        i += 1
    if cur is not None:
        raise InputError(path, f"a letter-probability matrix for motif {cur[0]!r}", row=cur[2])
    if not out:
        raise InputError(path, "at least one 'MOTIF' with a letter-probability matrix")
    return out


_JROW = re.compile(r"^\s*([ACGTacgt])\s*\[\s*([^\]]*)\]\s*$")


def read_jaspar(path) -> list[Motif]:
    """Motifs of a JASPAR-format file: ``>ID name`` then four rows ``A [ counts ]`` ... ``T [ counts ]``.

    Parameters
    ----------
    path : str or Path
        JASPAR count matrices (one or many; as downloaded from jaspar.elixir.no in "JASPAR" format).

    Returns
    -------
    list of Motif
        Probabilities = counts / column sums; ``nsites`` the largest column sum.

    Raises
    ------
    InputError
        Naming the file and 1-based line: a first line that is not a ``>`` header, a row that is not
        ``<base> [ numbers ]``, rows in another order than A, C, G, T, rows of unequal length.

    References
    ----------
    Rauluseviciute I et al. (2024) Nucleic Acids Res 52:D174.
    """
    path = Path(path)
    lines = [(n, s) for n, s in _rows(path, path.read_text()) if s.strip()]
    out, i = [], 0
    if not lines:
        raise InputError(path, "a JASPAR motif file ('>ID name' then rows 'A [ ... ]' .. 'T [ ... ]')", row=1,
                         value="empty file")
    while i < len(lines):
        n, s = lines[i]
        if not s.startswith(">"):
            raise InputError(path, "a motif header '>ID name' (JASPAR format)", row=n, value=s.strip()[:60])
        parts = s[1:].split(None, 1)
        if not parts:
            raise InputError(path, "'>ID name' with an ID", row=n, value=s)
        counts = []
        for k, base in enumerate(ALPHABET, start=1):
            if i + k >= len(lines):
                raise InputError(path, f"row '{base} [ counts ]' of motif {parts[0]!r}", row=n + k, value="end of file")
            nk, sk = lines[i + k]
            m = _JROW.match(sk)
            if m is None or m.group(1).upper() != base:
                raise InputError(path, f"row '{base} [ counts ]' of motif {parts[0]!r}", row=nk, value=sk.strip()[:60])
            try:
                counts.append([float(x) for x in m.group(2).split()])
            except ValueError:
                raise InputError(path, f"numbers in row {base} of motif {parts[0]!r}", row=nk,
                                 value=m.group(2).strip()[:60]) from None
        if len({len(c) for c in counts}) != 1:
            raise InputError(path, f"rows A, C, G, T of motif {parts[0]!r} of equal length", row=n + 1,
                             value=[len(c) for c in counts])
        m = np.array(counts).T
        out.append(Motif(parts[0], parts[1].strip() if len(parts) > 1 else parts[0],
                         _probabilities(path, n, m, "count matrix"), float(m.sum(1).max())))
        i += 5
    return out


def read_motifs(path) -> list[Motif]:
    """A motif database of either format, told apart by its first line (``MEME version`` or ``>``).

    Parameters
    ----------
    path : str or Path
        MEME or JASPAR file.

    Returns
    -------
    list of Motif
        In file order, ids unique.

    Raises
    ------
    InputError
        The file is missing, its first line is neither, or it does not parse (:func:`read_meme`,
        :func:`read_jaspar`); motif ids repeated.

    References
    ----------
    Bailey TL et al. (2009) Nucleic Acids Res 37:W202 (MEME format).
    Rauluseviciute I et al. (2024) Nucleic Acids Res 52:D174 (JASPAR format).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "a motif database file (MEME or JASPAR format): not found")
    first = next(((n, s.strip()) for n, s in _rows(path, path.read_text(errors="replace")) if s.strip()), (1, ""))
    if first[1].startswith("MEME version"):
        out = read_meme(path)
    elif first[1].startswith(">"):
        out = read_jaspar(path)
    else:
        raise InputError(path, "a motif database: MEME ('MEME version ...') or JASPAR ('>ID name') format",
                         row=first[0], value=first[1][:60])
    ids = [m.id for m in out]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise InputError(path, "unique motif ids", value=dup[:5])
    return out


def write_meme(motifs, path) -> Path:
    """Write motifs as a minimal MEME file (uniform background, both strands).

    Parameters
    ----------
    motifs : list of Motif
    path : str or Path

    Returns
    -------
    pathlib.Path
    """
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies",
             "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for m in motifs:
        lines += [f"MOTIF {m.id} {m.name}".rstrip(),
                  f"letter-probability matrix: alength= 4 w= {m.width} nsites= {int(round(m.nsites))} E= 0"]
        lines += ["  " + "  ".join(f"{v:.6f}" for v in row) for row in m.pwm]
        lines.append("")
    Path(path).write_text("\n".join(lines))
    return Path(path)
