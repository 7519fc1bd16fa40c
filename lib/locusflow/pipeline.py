"""``locusflow run``: the configured stages in pipeline order, each skipped when neither its inputs
nor its configuration changed since its last successful run.

A stage is registered by a module listed in :data:`STAGE_MODULES` with :func:`register`. Its
fingerprint is the sha256 of its config section, the global settings it depends on, and the
checksums of the input paths it names; it is stored with the run's summary in
``<out>/_stages/<name>.json`` once the stage has finished.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__, get_logger
from .checksum import content_hash
from .errors import LocusflowError

log = get_logger("pipeline")

# pipeline order; a module that is not there yet is skipped
STAGE_MODULES = [
    "locusflow.io.ingest_stage", "locusflow.io.munge_stage", "locusflow.ld.stage",
    "locusflow.twas.stage", "locusflow.finemap.stage", "locusflow.finemap.focus_stage",
]


@dataclass
class Stage:
    name: str
    run: Callable[["Context"], dict]
    inputs: Callable[[dict], list] = lambda cfg: []
    outputs: Callable[[dict], list] = lambda cfg: []
    add_cli: Callable | None = None          # add_cli(subparsers) registers `locusflow <name>`
    order: int = 0


REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add a stage; it runs in the position of its module in STAGE_MODULES, whatever the import order."""
    mod = getattr(stage.run, "__module__", "")
    stage.order = STAGE_MODULES.index(mod) if mod in STAGE_MODULES else len(STAGE_MODULES) + len(REGISTRY)
    REGISTRY[stage.name] = stage
    return stage


def load_stages() -> dict[str, Stage]:
    for mod in STAGE_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return REGISTRY


@dataclass
class Context:
    cfg: dict
    _spark: object = None
    summaries: dict = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return Path(self.cfg["out"])

    @property
    def engine(self) -> str:
        return self.cfg.get("engine", "local")

    def section(self, name: str) -> dict:
        return self.cfg.get(name) or {}

    @property
    def spark(self):
        if self._spark is None:
            from .engine.spark import get_spark
            self._spark = get_spark(self.cfg.get("spark"))
        return self._spark

    def runner_kwargs(self) -> dict:
        """Arguments for :func:`locusflow.engine.runner.run_worklist` from the config."""
        kw = {"engine": self.engine}
        if self.engine == "spark":
            kw["spark"] = self.spark
        return kw


def fingerprint(stage: Stage, cfg: dict) -> str:
    keys = {k: cfg.get(k) for k in ("out", "genome_build")}
    blob = json.dumps({"section": cfg.get(stage.name), "globals": keys, "version": __version__,
                       "inputs": {str(p): content_hash(p) for p in stage.inputs(cfg)}},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def run_pipeline(cfg: dict, *, force: bool = False) -> dict:
    """Run ``cfg['stages']`` in pipeline order; returns each stage's summary (or 'skipped')."""
    stages = load_stages()
    wanted = list(cfg.get("stages") or [])
    unknown = [s for s in wanted if s not in stages]
    if unknown:
        raise LocusflowError(f"config 'stages': unknown stage(s) {unknown}; known: {list(stages)}")
    ctx = Context(cfg)
    state_dir = ctx.out / "_stages"
    state_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(wanted, key=lambda s: stages[s].order):
        st = stages[name]
        fp = fingerprint(st, cfg)
        state = state_dir / f"{name}.json"
        prev = json.loads(state.read_text()) if state.exists() else {}
        outputs_ok = all(Path(p).exists() for p in st.outputs(cfg))
        if not force and prev.get("fingerprint") == fp and outputs_ok:
            log.info("stage %s: inputs and configuration unchanged, skipped", name)
            ctx.summaries[name] = "skipped"
            continue
        t0 = time.time()
        log.info("stage %s: running", name)
        summary = st.run(ctx) or {}
        summary["seconds"] = round(time.time() - t0, 3)
        ctx.summaries[name] = summary
        state.write_text(json.dumps({"fingerprint": fp,
                                     "summary": summary, "finished_at": time.time()},
                                    indent=1, default=str))
        log.info("stage %s: done in %.1f s", name, summary["seconds"])
    return ctx.summaries
