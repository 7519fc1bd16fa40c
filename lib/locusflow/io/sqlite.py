"""Read-only SQLite weight databases (PredictDB, FOCUS): open, check the tables, fail with the file named."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from .. import storage
from ..errors import InputError


def open_database(path, what: str, tables) -> sqlite3.Connection:
    """Read-only connection to ``path``; an InputError names the file and the first missing table.

    Parameters
    ----------
    path : str or pathlib.Path
        SQLite database file.
    what : str
        What the file should be (e.g. "PredictDB weights"), used in error messages.
    tables : iterable of str
        Tables the database must hold.

    Returns
    -------
    sqlite3.Connection
        Connection opened with ``mode=ro``; the caller closes it.

    Raises
    ------
    InputError
        When the file does not exist, is not a SQLite database, or lacks one of ``tables``.
    """
    p = storage.local_file(path)
    if not p.is_file():
        raise InputError(p, f"{what} (SQLite file not found)")
    try:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    except sqlite3.DatabaseError as exc:
        raise InputError(p, f"{what} (SQLite: {exc})") from None
    missing = [t for t in tables if t not in names]
    if missing:
        con.close()
        raise InputError(p, f"{what} with a '{missing[0]}' table (needs {list(tables)}; missing {missing}, "
                         f"found {sorted(names)})", column=missing[0])
    return con
