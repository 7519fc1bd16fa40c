"""Pipeline configuration: ``conf/*.yaml`` files merged in order, then command-line overrides.

A config is a mapping; top-level keys (declared in :data:`TOP`): ``out`` (results root), ``engine``
(local | dask | spark), ``genome_build``, ``stages`` (names to run, in pipeline order), ``spark`` (see
:func:`locusflow.engine.spark.get_spark`), ``paths`` (datasets read from elsewhere) and one section per
stage, declared by the stage (``locusflow config --explain`` prints them all). ``include: [file, ...]``
merges other files first. Later files, ``--set`` and flags override only the keys they name: mappings
merge key by key, any other value (a list too) replaces the earlier one. Relative paths inside a config
are relative to the current directory, as on the command line.

:func:`load_config` records where each key came from (``Config.origin``), so that the schema check
(:func:`locusflow.config_schema.validate`) names the file of a bad key.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .config_schema import Key
from .errors import ConfigError, InputError

TOP = {
    "out": Key("path", "out", "results root: stage S writes <out>/S/ (a link to its published version)"),
    "engine": Key("str", "local", "how work units are run (same numbers on each)",
                  choices=("local", "dask", "spark")),
    "genome_build": Key("str", "GRCh37", "build of every position", choices=("GRCh37", "GRCh38")),
    "stages": Key("list", None, "stages to run (run in pipeline order); a non-empty list", item=Key("str")),
    "spark": Key("section", {}, "the Spark session (engine: spark)", keys={
        "master": Key("str", None, "Spark master [local[*]]; null leaves it to spark-submit"),
        "app_name": Key("str", None, "application name [locusflow]"),
        "use_active_session": Key("bool", None, "take the session that exists (Databricks) [true]"),
        "log_level": Key("str", None, "Spark log level [WARN]"),
        "conf": Key("map", None, "extra Spark properties"),
        "class_archive": Key("bool", None, "a local[...] session's JVM starts from an archive of its classes, "
                             "written by its first run (~160 MB in ~/.cache/locusflow/jvm) [true]"),
        "quick_jit": Key("bool", None, "a local[...] session's JVM compiles with its quick compiler only "
                         "(-XX:TieredStopAtLevel=1): half the JVM's CPU, left to the Python workers [true]"),
        "worker_memory_reuse": Key("bool", None, "Python workers keep memory they free for their next work units "
                                   "(glibc MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, Arrow's system pool; "
                                   "spark.conf's spark.executorEnv.* win) [true]"),
        "worker_preimport": Key("bool", None, "a local[...] session's Python workers are forked by a daemon that "
                                "imported the stages' modules first (locusflow.engine.daemon) [true on Linux]"),
    }),
    "keep_versions": Key("int", 2, "published versions of each stage kept (locusflow history lists them)", min=2),
    "paths": Key("map", None, "dataset -> location, for datasets this pipeline reads but does not write "
                 "(e.g. sumstats: /data/ss); see locusflow.layout.DATASETS", item=Key("path")),
}


class Config(dict):
    """A configuration mapping that remembers, in ``origin``, the source of each dotted key."""

    def __init__(self, *args, origin: dict | None = None, **kw):
        super().__init__(*args, **kw)
        self.origin = dict(origin or {})


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces.

    Neither argument is modified (``base`` is deep-copied). When ``base`` is a :class:`Config`, the
    result is one too, with the origins of both (``over``'s winning).

    Parameters
    ----------
    base : dict
        Earlier values.
    over : dict or None
        Later values; None merges nothing.

    Returns
    -------
    dict or Config
        The merged mapping (a :class:`Config` when ``base`` is one).
    """
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    if isinstance(base, Config):
        out = Config(out, origin={**base.origin, **getattr(over, "origin", {})})
    return out


def _origins(d: dict, source: str, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out[key] = source
        if isinstance(v, dict):
            out.update(_origins(v, source, key + "."))
    return out


def load_config(path=None, overrides: dict | None = None, *, sets=(), source: str = "command line") -> Config:
    """Merge config files (a path or a list, later ones win), then ``overrides``, then ``--set`` texts.

    Parameters
    ----------
    path : str, Path or list, optional
        YAML file(s).
    overrides : dict, optional
        Values from command-line flags (named ``source`` in messages).
    sets : sequence of str
        ``a.b=value`` overrides (``--set``), values parsed as YAML.
    source : str
        How messages name ``overrides``.

    Returns
    -------
    Config
        Not yet validated: :func:`locusflow.pipeline.resolve_config` checks it and fills defaults.

    Raises
    ------
    InputError
        When a config file (or one it includes) does not exist, is not valid YAML, is not a mapping at
        the top level, or includes itself.
    ConfigError
        When a ``--set`` text is not ``KEY=VALUE`` with a YAML value (:func:`parse_override`).
    """
    cfg = Config()
    paths = [] if path is None else (list(path) if isinstance(path, (list, tuple)) else [path])
    for p in paths:
        data = _read(Path(p))
        cfg = deep_merge(cfg, Config(data, origin=_origins(data, str(p))))
    if overrides:
        cfg = deep_merge(cfg, Config(overrides, origin=_origins(overrides, source)))
    for text in sets or ():
        over = parse_override(text)
        cfg = deep_merge(cfg, Config(over, origin=_origins(over, f"--set {text}")))
    return cfg


def _read(path: Path, seen=()) -> dict:
    if not path.exists():
        raise InputError(path, "configuration file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, f"valid YAML ({getattr(exc, 'problem', exc)})",
                         row=mark.line + 1 if mark else None) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"a readable YAML file ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise InputError(path, "a YAML mapping at the top level")
    merged: dict = {}
    includes = data.pop("include", []) or []
    if isinstance(includes, str):
        includes = [includes]
    for inc in includes:
        p = (path.parent / inc) if not Path(inc).is_absolute() else Path(inc)
        if p in seen or p == path:
            raise InputError(path, f"no include cycle ({p})")
        merged = deep_merge(merged, _read(p, seen + (path,)))
    return deep_merge(merged, data)


def parse_override(text: str) -> dict:
    """``a.b.c=value`` -> {"a": {"b": {"c": value}}} with the value parsed as YAML.

    Parameters
    ----------
    text : str
        A ``--set`` argument, ``KEY=VALUE`` with a dotted key.

    Returns
    -------
    dict
        Nested mapping holding the one value (``yaml.safe_load`` of the text after the first ``=``).

    Raises
    ------
    ConfigError
        When there is no ``=`` or no key before it, or the value is not valid YAML.
    """
    if "=" not in text or not text.split("=", 1)[0].strip():
        raise ConfigError(f"--set: expected KEY=VALUE (e.g. finemap.susie.L=5), found {text!r}")
    key, val = text.split("=", 1)
    try:
        value = yaml.safe_load(val)
    except yaml.YAMLError:
        raise ConfigError(f"--set {text}: {key}: expected a YAML value, found {val!r}") from None
    out: dict = {}
    cur = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out
