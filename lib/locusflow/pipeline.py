"""``locusflow run``: the configured stages in pipeline order, each skipped when nothing it reads changed.

How a stage plugs in (see docs/ARCHITECTURE.md):

- it is listed, with its datasets, in :data:`locusflow.layout.STAGES` (no import needed for ``--help``);
- its module calls ``register(Stage(name, run, config=CONFIG, inputs=...))``; ``CONFIG`` declares its
  config section (:class:`locusflow.config_schema.Key`), which also gives its CLI flags
  (:func:`locusflow.cli_stage.add_stage_command`);
- ``run(ctx)`` reads with ``ctx.path("sumstats")`` and writes every output under ``ctx.path(<its dataset>)``
  (a staging directory while it runs) and returns a summary dict.

For each stage, :func:`run_pipeline` computes a fingerprint from content (the stage's whole resolved
config section, the genome build, the code version, every file the section names, its declared inputs;
upstream datasets by their stage's published fingerprint), skips the stage when its published version
has that fingerprint, else runs it into a fresh staging directory and publishes it atomically
(:mod:`locusflow.commit`). The whole run holds the results root's lock (:mod:`locusflow.lock`), and the
whole configuration is validated before the first stage starts.
"""
from __future__ import annotations

import importlib
import os
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

from . import storage
from .logs import get_logger
from .checksum import HashCache, chrom_hashes, code_version, content_hash, hash_json
from .commit import Versions, check_writable
from .config import TOP, Config
from .config_schema import validate
from .errors import ConfigError
from .layout import DATASETS, STAGE_INFO, STAGES, STATE_DIR, dataset_path, stage_dir, stage_names
from .engine.reuse import Reuse, reusing
from .lock import OutputLock

log = get_logger("pipeline")
# stages that never use the engine: a run of only these starts no Spark session, and its workers do not
# import their modules
DRIVER_ONLY = ("munge",)


@dataclass
class Stage:
    """A registered stage.

    Parameters
    ----------
    name : str
        As in :data:`locusflow.layout.STAGES`.
    run : callable
        ``run(ctx: Context) -> dict`` (the summary).
    inputs : callable
        ``inputs(cfg) -> list`` of paths it reads that its config section does not name (upstream datasets).
    outputs : callable
        Unused (kept for stage modules of the older API: outputs are the stage's datasets in the layout).
    add_cli : callable, optional
        Older API: ``add_cli(subparsers)`` registers its own subcommand. Prefer ``config`` (+ ``cli_extra``).
    config : dict, optional
        Its config section: key -> :class:`locusflow.config_schema.Key`.
    cli_extra : callable, optional
        ``cli_extra(parser)`` adds flags the section does not declare; ``cli_config(args) -> dict`` maps them
        onto the section.
    reads : tuple of str
        Datasets (:data:`locusflow.layout.DATASETS` names) the stage reads when they exist, for a stage
        whose ``inputs`` lists only the ones present (plots, report): scheduling (:mod:`locusflow.deploy`)
        runs it after their stages.
    kernels : tuple of str
        Modules of the kernels its work lists run: with engine spark, each Python worker imports them
        while the session starts (:func:`locusflow.engine.spark.warm_workers`); default the stage's module.
    """

    name: str
    run: Callable[["Context"], dict]
    inputs: Callable[[dict], list] = lambda cfg: []
    outputs: Callable[[dict], list] = lambda cfg: []
    add_cli: Callable | None = None
    config: dict | None = None
    cli_extra: Callable | None = None
    cli_config: Callable | None = None
    order: int = 0
    reads: tuple = ()
    kernels: tuple = ()


REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add a stage (called by its module at import); it runs in its place in ``layout.STAGES``.

    A stage not listed in ``layout.STAGES`` is ordered after every listed one, in registration order.
    Registering a name again replaces the earlier stage.

    Parameters
    ----------
    stage : Stage
        The stage to add to :data:`REGISTRY`; its ``order`` is set here.

    Returns
    -------
    Stage
        ``stage`` itself (with ``order`` set).
    """
    names = stage_names()
    stage.order = names.index(stage.name) if stage.name in names else len(names) + len(REGISTRY)
    REGISTRY[stage.name] = stage
    return stage


def load_stage(name: str) -> Stage:
    """Import the module of one stage (only it) and return the registered stage.

    The modules of ``STAGE_INFO[name].modules`` are tried in turn until one imports; a module that is
    absent is skipped, but an import error from inside it is raised.

    Parameters
    ----------
    name : str
        Stage name, a key of :data:`locusflow.layout.STAGE_INFO`.

    Returns
    -------
    Stage
        The registered stage.

    Raises
    ------
    ConfigError
        When none of the stage's modules registers it.
    """
    if name not in REGISTRY:
        for mod in STAGE_INFO[name].modules:
            try:
                importlib.import_module(mod)
                break
            except ModuleNotFoundError as exc:
                if not (exc.name == mod or mod.startswith(f"{exc.name}.")):
                    raise
    if name not in REGISTRY:
        raise ConfigError(f"stage {name!r}: no module of {STAGE_INFO[name].modules} registers it")
    return REGISTRY[name]


def load_stages() -> dict[str, Stage]:
    """Import every stage module; returns the registry.

    Returns
    -------
    dict
        :data:`REGISTRY`: stage name -> :class:`Stage`, every stage of ``layout.STAGES`` included.

    Raises
    ------
    ConfigError
        When a stage's modules do not register it (:func:`load_stage`).
    """
    for s in STAGES:
        load_stage(s.name)
    return REGISTRY


def sections() -> dict:
    """The whole schema: ``""`` (top level) and one section per registered stage that declares one.

    Every stage module is imported first (:func:`load_stages`).

    Returns
    -------
    dict
        Section name -> {key: :class:`~locusflow.config_schema.Key`}: ``""`` ->
        :data:`locusflow.config.TOP`, then the stages' sections in pipeline order.
    """
    out = {"": TOP}
    for st in sorted(load_stages().values(), key=lambda s: s.order):
        if st.config is not None:
            out[st.name] = st.config
    return out


def resolve_config(cfg: dict, *, check_files: bool = True) -> Config:
    """Validate ``cfg`` against every declared section and the stage list; returns it with defaults.

    Raises :class:`~locusflow.errors.ConfigError` (one line: file, dotted key, expected, found).
    Sections of registered stages that declare no ``config`` pass unchecked.

    Parameters
    ----------
    cfg : dict or Config
        The merged configuration (:func:`locusflow.config.load_config`); a :class:`Config`'s ``origin``
        names the file of a bad key.
    check_files : bool
        Check that keys of kind ``file`` name existing files.

    Returns
    -------
    Config
        The validated configuration with the defaults of every declared key, and the same ``origin``.

    Raises
    ------
    ConfigError
        At an unknown key, wrong type or out-of-range value (:func:`locusflow.config_schema.validate`);
        when ``stages`` is empty or names an unknown stage; when ``paths`` names an unknown dataset or
        one that a selected stage writes; when a required key of a selected stage has no value.
    """
    origin = getattr(cfg, "origin", {})
    secs = sections()
    free = {k: v for k, v in cfg.items() if k in REGISTRY and k not in secs}     # older stages: unchecked
    out = validate({k: v for k, v in cfg.items() if k not in free}, secs, origin=origin,
                   check_files=check_files)
    out.update(free)
    src = origin.get("stages", "config")
    wanted = out.get("stages")
    if not wanted:
        raise ConfigError(f"{src}: stages: expected a non-empty list of stages ({', '.join(stage_names())}), "
                          f"found {'nothing' if wanted is None else repr(wanted)}")
    for s in wanted:
        if s not in REGISTRY:
            raise ConfigError(f"{src}: stages: unknown stage {s!r} (known: {', '.join(stage_names())})")
    for ds, where in (out.get("paths") or {}).items():
        if ds not in DATASETS:
            raise ConfigError(f"{origin.get('paths.' + ds, src)}: paths.{ds}: unknown dataset "
                              f"(known: {', '.join(sorted(DATASETS))})")
        if DATASETS[ds][0] in wanted:
            raise ConfigError(f"{origin.get('paths.' + ds, src)}: paths.{ds}: stage {DATASETS[ds][0]} writes this "
                              f"dataset in this run; remove one of them")
    for s in wanted:
        for k, key in (REGISTRY[s].config or {}).items():
            if key.required and out.get(s, {}).get(k) is None:
                raise ConfigError(f"{origin.get(s, src)}: {s}.{k}: required ({key.help})")
    return Config(out, origin=origin)


@dataclass
class Context:
    """What a running stage sees: the resolved config, dataset paths, the engine."""

    cfg: dict
    _spark: object = None
    summaries: dict = field(default_factory=dict)

    @property
    def out(self):
        return storage.as_path(self.cfg["out"])

    @property
    def engine(self) -> str:
        return self.cfg.get("engine", "local")

    def section(self, name: str) -> dict:
        return self.cfg.get(name) or {}

    def path(self, name: str):
        """Location of dataset ``name`` (:data:`locusflow.layout.DATASETS`): for the running stage's own
        outputs, inside its staging directory; for others, the published (or configured) location."""
        return dataset_path(self.cfg, name)

    def stage_dir(self, stage: str):
        return stage_dir(self.cfg, stage)

    def previous(self, name: str):
        """Dataset ``name`` as last published (e.g. to reuse an import), or None."""
        stage, rel = DATASETS[name]
        cur = Versions(self.out).current(stage)
        return cur / rel if cur is not None and (cur / rel).exists() else None

    def reuse(self, name: str) -> bool:
        """Hard-link the last published copy of dataset ``name`` into this run's staging place (for a stage
        that reuses an import while its sources are unchanged); True if there was one. Writers replace
        files (rename), never edit them in place, so the published copy is not touched."""
        prev, dest = self.previous(name), self.path(name)
        if prev is None or dest.exists() or not str(dest).startswith(str(self.cfg.get("_staging", {}).get(
                DATASETS[name][0], "\0"))):
            return False
        storage.copy(prev, dest)         # hard links locally, server-side copies on an object store
        return True

    @property
    def spark(self):
        if isinstance(self._spark, Future):      # started in the background when the run began
            self._spark = self._spark.result()
        if self._spark is None:
            from .engine.spark import get_spark
            self._spark = get_spark(self.cfg.get("spark"))
        return self._spark

    def runner_kwargs(self) -> dict:
        """Arguments for :func:`locusflow.engine.runner.run_worklist` from the config.

        A session still starting in the background is passed as its future: the runner waits for it
        when its first map starts, so the stage's own planning (reading its inputs, making its units)
        overlaps the start."""
        kw = {"engine": self.engine}
        if self.engine == "spark":
            fut = self._spark
            kw["spark"] = fut if isinstance(fut, Future) and not fut.done() else self.spark
        return kw


def _named_files(section, found: list) -> list:
    """Every string in a config section that names an existing file or directory."""
    if isinstance(section, dict):
        for v in section.values():
            _named_files(v, found)
    elif isinstance(section, list):
        for v in section:
            _named_files(v, found)
    elif isinstance(section, str) and len(section) < 4096 and (
            os.path.exists(section) or (storage.is_remote(section) and storage.exists(section))):
        found.append(section)
    return found


def _identity(path, out, versions: Versions, cache: HashCache, known: dict | None = None) -> tuple[str, str]:
    """(logical name, content identity) of an input: an upstream dataset by its stage's fingerprint.
    ``known``: identities already worked out in this run (name -> identity), used as they are."""
    rel = storage.relative(path, out)
    if rel is None:
        name = storage.redact(path)
        if known and name in known:
            return name, known[name]
        return name, content_hash(path, cache=cache)
    parts = rel.split("/")
    if parts[:2] == [STATE_DIR, "versions"] and len(parts) > 3:     # object store: a stage resolved by pointer
        parts = [parts[2], *parts[4:]]
        rel = "/".join(parts)
    stage = parts[0]
    man = versions.manifest(stage) if stage in STAGE_INFO else None
    if man is not None:
        sub = "/".join(parts[1:])
        cur = versions.current(stage)
        return rel, f"{man['fingerprint']}:{sub}" if (cur / sub if sub else cur).exists() else "missing"
    return rel, content_hash(path, cache=cache)


def fingerprint(stage: Stage, cfg: dict, *, versions: Versions | None = None,
                cache: HashCache | None = None, code: str | None = None) -> dict:
    """What a stage's result depends on: ``{'fingerprint': digest, 'inputs': ..., 'config': ..., 'code': ...}``.

    Inputs are every string in the stage's config section that names an existing file or directory,
    plus ``stage.inputs(cfg)``; each is identified by content hash, or, for an upstream dataset under
    the results root, by its stage's published fingerprint (``"missing"`` when that dataset is absent).

    Parameters
    ----------
    stage : Stage
        The stage.
    cfg : dict
        The resolved configuration (with ``out``).
    versions : locusflow.commit.Versions, optional
        Published versions of the results root; default ``Versions(cfg['out'])``.
    cache : locusflow.checksum.HashCache, optional
        Content-hash cache (files re-hashed only when changed).
    code : str, optional
        The code version (:func:`locusflow.checksum.code_version`), when the caller worked it out once
        for several stages.

    Returns
    -------
    dict
        ``stage``, ``config`` (the stage's section), ``genome_build``, ``code`` (the code version),
        ``inputs`` (logical name -> identity) and ``fingerprint`` (:func:`locusflow.checksum.hash_json`
        of the others).
    """
    out = storage.as_path(cfg["out"])
    versions = versions or Versions(out)
    sec = cfg.get(stage.name) or {}
    inputs = dict(_identity(p, out, versions, cache) for p in _input_paths(stage, cfg))
    parts = {"stage": stage.name, "config": sec, "genome_build": cfg.get("genome_build"),
             "code": code or code_version(cache=cache), "inputs": inputs}
    return {**parts, "fingerprint": hash_json(parts)}


def _input_paths(stage: Stage, cfg: dict) -> list[str]:
    """Every file the stage's section names and every path its ``inputs(cfg)`` lists, once each."""
    sec = cfg.get(stage.name) or {}
    return list(dict.fromkeys([*_named_files(sec, []), *map(storage.uri, stage.inputs(cfg))]))


def incremental(stage: Stage, cfg: dict, fp: dict, staging, *, versions: Versions,
                cache: HashCache | None = None) -> Reuse | None:
    """What a rerun of ``stage`` may copy from its published version (:mod:`locusflow.engine.reuse`).

    The inputs whose data files all lie in chromosome partitions (:func:`locusflow.checksum.chrom_hashes`)
    are identified per chromosome; every other input, the configuration, the genome build and the code
    version go into the key every unit shares.

    Parameters
    ----------
    stage : Stage
    cfg : dict
        The resolved configuration.
    fp : dict
        The stage's :func:`fingerprint`.
    staging : path
        The new version's directory.
    versions : locusflow.commit.Versions
    cache : locusflow.checksum.HashCache, optional

    Returns
    -------
    locusflow.engine.reuse.Reuse
        With ``previous`` None when the stage has no published version (the units' keys are recorded).
    """
    prev = versions.current(stage.name)
    out = storage.as_path(cfg["out"])
    flat, parts = {}, {}
    known = fp.get("inputs") or {}
    for p in _input_paths(stage, cfg):
        name, ident = _identity(p, out, versions, cache, known)      # the fingerprint's, when it has it
        ch = chrom_hashes(p, cache=cache) if storage.exists(p) else None
        if ch is None:
            flat[name] = ident
        else:
            parts[name] = ch
    base = hash_json({"stage": stage.name, "config": fp["config"], "genome_build": fp["genome_build"],
                      "code": fp["code"], "inputs": flat})
    chroms = sorted(set().union(*parts.values())) if parts else []
    return Reuse(base, {c: hash_json({n: ch.get(c, "absent") for n, ch in parts.items()}) for c in chroms},
                 staging, prev, root=out)


def run_pipeline(cfg: dict, *, force: bool = False) -> dict:
    """Validate ``cfg``, lock its results root, run ``cfg['stages']`` in pipeline order.

    Parameters
    ----------
    cfg : dict
        A configuration (:func:`locusflow.config.load_config`).
    force : bool
        Run every selected stage even when its fingerprint is unchanged.

    Returns
    -------
    dict
        Stage name -> its summary, or ``'skipped'``.

    Raises
    ------
    ConfigError
        When the configuration is invalid (:func:`resolve_config`); nothing has run then.
    """
    cfg = resolve_config(cfg)
    out = storage.as_path(cfg["out"])
    check_writable(out)
    with OutputLock(out) as lock:
        versions = Versions(out, keep=cfg.get("keep_versions") or 2)
        versions.clean()
        # file hashes are cached next to local results; remote objects are identified by their listed checksums
        cache = HashCache(None if storage.is_remote(out) else out / STATE_DIR / "hash-cache.json")
        ctx = Context(cfg)
        names = sorted(cfg["stages"], key=lambda s: REGISTRY[s].order)
        if ctx.engine == "spark" and any(n not in DRIVER_ONLY for n in names):
            # start the session (and its Python workers, with the stages' modules imported) in the
            # background now: the fingerprints, munge and the first stage's planning run meanwhile
            from .engine.spark import start_soon
            ctx._spark = start_soon(cfg.get("spark"), warm=[m for n in names if n not in DRIVER_ONLY
                                                            for m in REGISTRY[n].kernels or [REGISTRY[n].run.__module__]])
        code = code_version(cache=cache)        # one code version per run: the code this process loaded
        try:
            for name in names:
                lock.renew()
                ctx.summaries[name] = _run_stage(REGISTRY[name], ctx, versions, cache, force, code=code)
        finally:
            cache.save()
    return ctx.summaries


def _run_stage(st: Stage, ctx: Context, versions: Versions, cache: HashCache, force: bool, code: str | None = None):
    t_id = time.time()
    fp = fingerprint(st, ctx.cfg, versions=versions, cache=cache, code=code)
    prev = versions.manifest(st.name)
    if not force and prev is not None and prev.get("fingerprint") == fp["fingerprint"]:
        log.info("stage %s: inputs, configuration and code unchanged, skipped", st.name)
        return "skipped"
    staging = versions.begin(st.name, fp["fingerprint"].split(":")[-1][:20])
    # what an incremental rerun may copy (per-chromosome input hashes): worked out, like the fingerprint,
    # before the stage's own time starts
    reuse = None if force else incremental(st, ctx.cfg, fp, staging, versions=versions, cache=cache)
    t0 = time.time()
    log.info("stage %s: running (inputs identified in %.2f s)", st.name, t0 - t_id)
    run_cfg = Config({**ctx.cfg, "_staging": {st.name: str(staging)}}, origin=getattr(ctx.cfg, "origin", {}))
    stage_ctx = Context(run_cfg, _spark=ctx._spark, summaries=ctx.summaries)
    try:
        with reusing(reuse):
            summary = st.run(stage_ctx) or {}
    except BaseException:
        storage.remove(staging)          # nothing of a failed stage stays (kill -9: next start)
        raise
    finally:
        ctx._spark = stage_ctx._spark
    summary = {k: v for k, v in summary.items() if not _is_path_value(v, staging)}
    if reuse is not None and reuse.previous is not None and reuse.reused + reuse.recomputed:
        summary["incremental"] = reuse.summary()
        log.info("stage %s: %d work unit(s) recomputed (chromosomes %s), %d copied from version %s", st.name,
                 reuse.recomputed, ", ".join(reuse.summary()["chroms_recomputed"]) or "none", reuse.reused,
                 storage.as_path(reuse.previous).name)
    seconds = round(time.time() - t0, 3)
    versions.publish(st.name, staging, {**fp, "summary": summary, "seconds": seconds})
    log.info("stage %s: published in %.1f s", st.name, seconds)
    return summary


def _is_path_value(v, staging) -> bool:
    """Summary entries that are staging paths say nothing once published (the layout names them)."""
    return isinstance(v, str) and v.startswith(str(staging))
