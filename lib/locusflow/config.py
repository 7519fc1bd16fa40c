"""Pipeline configuration: ``conf/*.yaml`` merged with command-line overrides.

A config is a mapping; top-level keys: ``out`` (results root), ``engine`` (local | dask | spark),
``genome_build``, ``spark`` (see :func:`locusflow.engine.spark.get_spark`), ``stages`` (names to run, in
pipeline order) and one section per stage. ``include: [file, ...]`` merges other files first, so a
pipeline config can start from ``local.yaml`` or ``cluster.yaml``. Relative paths inside a config are
relative to the current directory, as on the command line.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .errors import InputError

DEFAULTS = {"out": "out", "engine": "local", "genome_build": "GRCh37", "stages": [], "spark": {}}


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path=None, overrides: dict | None = None) -> dict:
    cfg = copy.deepcopy(DEFAULTS)
    if path is not None:
        cfg = deep_merge(cfg, _read(Path(path)))
    return deep_merge(cfg, overrides or {})


def _read(path: Path, seen=()) -> dict:
    if not path.exists():
        raise InputError(path, "configuration file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, f"valid YAML ({getattr(exc, 'problem', exc)})",
                         row=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise InputError(path, "a YAML mapping at the top level")
    merged: dict = {}
    for inc in data.pop("include", []) or []:
        p = (path.parent / inc) if not Path(inc).is_absolute() else Path(inc)
        if p in seen:
            raise InputError(path, f"no include cycle ({p})")
        merged = deep_merge(merged, _read(p, seen + (path,)))
    return deep_merge(merged, data)


def parse_override(text: str) -> dict:
    """``a.b.c=value`` -> {"a": {"b": {"c": value}}} with the value parsed as YAML."""
    if "=" not in text:
        raise InputError("--set", "KEY=VALUE", value=text)
    key, val = text.split("=", 1)
    out: dict = {}
    cur = out
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = yaml.safe_load(val)
    return out
