"""Errors that reach the user: each names the file, the row or column, and what was expected."""
from __future__ import annotations


class LocusflowError(Exception):
    """Base class; the CLI prints the message and exits non-zero (2)."""


class InputError(LocusflowError):
    """Bad input: ``InputError(file, "what was expected", row=..., column=...)``.

    ``row`` is 1-based and counts data rows (the header is row 0) unless the caller says otherwise.
    """

    def __init__(self, file, expected: str, *, row: int | None = None, column: str | None = None,
                 value=None):
        self.file, self.row, self.column, self.expected, self.value = file, row, column, expected, value
        where = [f"{file}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        msg = ", ".join(where) + f": {expected}"
        if value is not None:
            msg += f" (found {value!r})"
        super().__init__(msg)


class SchemaError(LocusflowError):
    """A dataset does not conform to its contract in ``schemas/``."""


class ConfigError(LocusflowError):
    """A configuration error: ``<file>: <dotted.key>: expected ..., found ...`` (found before any stage runs)."""


class LockError(LocusflowError):
    """The results root is locked by another run (the message names its pid and start time)."""
