"""The configuration schema: every section and key with its type, range, default and meaning, in one place.

A stage declares its section next to its code, as a dict of :class:`Key`::

    CONFIG = {
        "maf": Key("float", 0.0, "drop variants with MAF below it", min=0, max=0.5),
        "susie": Key("section", help="SuSiE options", keys={"L": Key("int", 10, "effects", min=1)}),
    }
    register(Stage("ld", run, config=CONFIG, ...))

:func:`validate` checks a whole configuration against the declared sections before any stage runs:
unknown keys (typos), wrong types and values out of range raise one :class:`~locusflow.errors.ConfigError`
line naming the file the key came from, the dotted key, what was expected and what was found, e.g.
``conf/x.yaml: finemap.susie.L: expected a positive integer, found 'ten'``. ``locusflow config --explain``
prints :func:`explain`.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from . import storage
from .errors import ConfigError


def _is_file(v: str) -> bool:
    if storage.is_remote(v):
        fs, path = storage.filesystem(v)
        return fs.isfile(path)
    return Path(v).is_file()

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class Key:
    """One configuration key.

    Parameters
    ----------
    kind : str or tuple of str
        ``int``, ``float``, ``bool``, ``str``, ``path`` (a string), ``file`` (an existing file), ``list``
        (of ``item``), ``map`` (string keys, ``item`` values), ``section`` (the named ``keys`` only) or
        ``any``; a tuple accepts any of them.
    default : object
        Value used when the key is absent (``None``: the stage decides, documented in ``help``).
    help : str
        What the key means (printed by ``locusflow config --explain`` and the stage's ``--help``).
    min, max : float, optional
        Inclusive range of a number.
    gt : float, optional
        Exclusive lower bound (``gt=0``: a positive number).
    choices : sequence, optional
        Allowed values.
    item : Key, optional
        Type of list items or map values.
    keys : dict, optional
        The keys of a ``section``.
    cli : str or bool, optional
        ``False``: no command-line flag; ``"positional"``: a positional argument; a string starting with
        ``--``: that flag name; default ``--<key-with-hyphens>`` for scalars.
    required : bool
        A value must be given (by the config or the command line) when the stage runs.
    """

    kind: object
    default: object = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    gt: float | None = None
    choices: tuple | None = None
    item: "Key | None" = None
    keys: dict | None = None
    cli: object = None
    required: bool = False
    allow_null: bool = True

    def expected(self) -> str:
        """The phrase after 'expected' in an error message."""
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        return " or ".join(_phrase(self, k) for k in kinds)


def _phrase(key: Key, kind: str) -> str:
    if key.choices is not None and kind in ("str", "int", "float"):
        return "one of " + ", ".join(str(c) for c in key.choices)
    if kind == "int":
        if key.min == 1 and key.max is None:
            return "a positive integer"
        if key.min == 0 and key.max is None:
            return "a non-negative integer"
        return "an integer" + _range(key)
    if kind == "float":
        if key.gt == 0 and key.max is None:
            return "a positive number"
        if key.gt is not None:
            return f"a number > {key.gt:g}" + _range(key)
        return "a number" + _range(key)
    if kind == "list":
        return f"a list of {_plural(key.item.expected())}" if key.item else "a list"
    if kind == "section":
        return "a mapping with keys " + ", ".join(key.keys or {})
    return {"bool": "true or false", "str": "a string", "path": "a path", "file": "an existing file",
            "map": "a mapping", "any": "a value"}[kind]


def _plural(phrase: str) -> str:
    return re.sub(r"^(a|an) (\w+)", lambda m: m.group(2) + ("es" if m.group(2).endswith("x") else "s"), phrase)


def _range(key: Key) -> str:
    if key.min is not None and key.max is not None:
        return f" in [{key.min:g}, {key.max:g}]"
    if key.min is not None:
        return f" >= {key.min:g}"
    if key.max is not None:
        return f" <= {key.max:g}"
    return ""


def _found(v) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return repr(v)


class _Checker:
    def __init__(self, origin: dict, default_source: str, check_files: bool):
        self.origin, self.default_source, self.check_files = origin, default_source, check_files

    def source(self, dotted: str) -> str:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):       # the key itself, else its section
            hit = self.origin.get(".".join(parts[:i]))
            if hit:
                return hit
        hits = [v for k, v in self.origin.items() if k.startswith(dotted + ".")]
        return hits[0] if hits else self.default_source

    def fail(self, dotted: str, msg: str):
        raise ConfigError(f"{self.source(dotted)}: {dotted}: {msg}")

    def value(self, dotted: str, key: Key, v):
        if v is None:
            if key.required or not key.allow_null:
                self.fail(dotted, f"expected {key.expected()}, found null")
            return None
        kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
        for kind in kinds:
            ok, out = self.one(dotted, key, kind, v)
            if ok:
                return out
        self.fail(dotted, f"expected {key.expected()}, found {_found(v)}")

    def one(self, dotted, key: Key, kind: str, v):
        if kind == "any":
            return True, v
        if kind == "bool":
            return isinstance(v, bool), v
        if kind in ("int", "float"):
            if isinstance(v, str) and kind == "float" and _NUMBER.match(v.strip()):
                v = float(v)            # YAML 1.1 reads 5e-8 (no dot) as a string
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return False, v
            if kind == "int" and not float(v).is_integer():
                return False, v
            v = int(v) if kind == "int" else float(v)
            if ((key.min is not None and v < key.min) or (key.max is not None and v > key.max)
                    or (key.gt is not None and v <= key.gt)):
                return False, v
            if key.choices is not None and v not in key.choices:
                return False, v
            return True, v
        if kind in ("str", "path", "file"):
            if not isinstance(v, str) or not v:
                return False, v
            if key.choices is not None and v not in key.choices:
                return False, v
            if kind == "file" and self.check_files and not _is_file(v):
                self.fail(dotted, f"expected an existing file, found {v!r} (no such file)")
            return True, v
        if kind == "list":
            if not isinstance(v, list):
                return False, v
            return True, [self.value(f"{dotted}[{i}]", key.item, x) if key.item else x for i, x in enumerate(v)]
        if kind == "map":
            if not isinstance(v, dict):
                return False, v
            return True, {k: self.value(f"{dotted}.{k}", key.item, x) if key.item else x for k, x in v.items()}
        if kind == "section":
            if not isinstance(v, dict):
                return False, v
            return True, self.section(dotted, key.keys or {}, v)
        raise ValueError(f"unknown kind {kind!r} in the schema of {dotted}")

    def section(self, dotted: str, keys: dict, v: dict, fill: bool = True) -> dict:
        out = {}
        for k, x in v.items():
            name = f"{dotted}.{k}" if dotted else str(k)
            if k not in keys:
                near = difflib.get_close_matches(str(k), list(keys), n=1)
                hint = f"; did you mean '{near[0]}'?" if near else f" (known: {', '.join(keys)})"
                self.fail(name, f"unknown key{hint}")
            out[k] = self.value(name, keys[k], x)
        if fill:
            for k, key in keys.items():
                if k not in out and key.default is not None:
                    out[k] = key.default
        return out


def validate(cfg: dict, sections: dict, *, origin: dict | None = None, default_source: str = "config",
             check_files: bool = True) -> dict:
    """Check ``cfg`` against ``sections`` ({name: {key: Key}}); returns it with defaults filled in.

    Parameters
    ----------
    cfg : dict
        The merged configuration.
    sections : dict
        Section name -> its keys (the top-level keys are the section named ``""``).
    origin : dict, optional
        Dotted key -> the file (or ``--set``, ``command line``) that set it, for the message.
    default_source : str
        Named in messages about keys of unknown origin.
    check_files : bool
        Check that ``file`` keys name existing files.

    Returns
    -------
    dict
        A new configuration: values coerced (``'5e-8'`` -> 5e-08), defaults of every declared key filled.

    Raises
    ------
    ConfigError
        At the first unknown key, wrong type or value out of range.
    """
    chk = _Checker(origin or {}, default_source, check_files)
    top = dict(sections.get("", {}))
    for name, keys in sections.items():
        if name:
            top[name] = Key("section", {}, keys=keys)
    out = chk.section("", top, {k: v for k, v in cfg.items() if not str(k).startswith("_")})
    for name, keys in sections.items():            # absent sections: their defaults
        if name and not out.get(name):
            out[name] = chk.section(name, keys, {})
    out.update({k: v for k, v in cfg.items() if str(k).startswith("_")})
    return out


def explain(sections: dict) -> str:
    """The documented schema as text: one line per key (type, default, meaning), sections indented.

    Parameters
    ----------
    sections : dict
        Section name -> {key: :class:`Key`}, the top level as ``""`` (as
        :func:`locusflow.pipeline.sections` returns).

    Returns
    -------
    str
        ``# top level`` and then a ``<section>:`` header per section, each key as
        ``key: type [choices] range = default  -- help``; keys of sections and of list items nested.
    """
    lines = []

    def walk(keys: dict, indent: str):
        for k, key in keys.items():
            kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
            typ = "|".join(kinds) + (f" {list(key.choices)}" if key.choices else "") + _range(key)
            dflt = "" if key.default is None else f" = {key.default!r}"
            lines.append(f"{indent}{k}: {typ}{dflt}" + (f"  -- {key.help}" if key.help else ""))
            if key.keys:
                walk(key.keys, indent + "  ")
            elif key.item is not None and key.item.keys:
                walk(key.item.keys, indent + "  - ")

    for name, keys in sections.items():
        lines.append("# top level" if not name else f"\n{name}:")
        walk(keys, "" if not name else "  ")
    return "\n".join(lines)
