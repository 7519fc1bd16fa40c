"""Incremental reruns: a work unit whose inputs did not change is copied from the previous version.

When a stage must run again (its fingerprint changed) but published a version before, the pipeline
gives the runner a :class:`Reuse` for the stage (:func:`reusing`). Each work unit then gets an input key:
a hash of the stage's configuration, code version, genome build, the identities of its unpartitioned
inputs, the content hashes of its partitioned inputs for the unit's chromosome only
(:func:`locusflow.checksum.chrom_hashes`: the ``chrom=<c>`` partitions of a Parquet dataset, the
``<c>_<start>_<stop>.zarr.zip`` blocks of an LD directory) and the unit itself (its blocks, ranges, models).
A unit whose key equals the one the previous version recorded for it (``fragments`` in each dataset's
``_manifest.json``) is not run: its fragment files are copied (hard links locally, server-side copies
on an object store) into the new version. A unit without a ``chrom`` depends on every chromosome.

So after one chromosome's sumstats change, the stages downstream recompute that chromosome's blocks
only, and the result equals a full rerun's (the kernels are deterministic). The stage's summary then
says what was recomputed (``incremental``).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import re

from .. import storage
from ..checksum import hash_json

_CURRENT: contextvars.ContextVar = contextvars.ContextVar("locusflow_reuse", default=None)
_VERSION_DIR = re.compile(r"/\.locusflow/versions/([^/\"]+)/[^/\"]+")     # a stage resolved by its pointer


def _default(o):
    """JSON of what a unit or the kernel's arguments may hold besides plain values: frames and arrays
    by a hash of their content (never by a truncated repr)."""
    import numpy as np
    import pandas as pd
    if isinstance(o, (pd.DataFrame, pd.Series)):
        names = list(o.columns) if isinstance(o, pd.DataFrame) else [o.name]
        return "frame:" + hashlib.blake2b(pd.util.hash_pandas_object(o, index=True).to_numpy().tobytes()
                                          + ",".join(map(str, names)).encode(), digest_size=16).hexdigest()
    if isinstance(o, np.ndarray):
        return "array:" + hashlib.blake2b(np.ascontiguousarray(o).tobytes() + str(o.dtype).encode(),
                                          digest_size=16).hexdigest()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


class Reuse:
    """What a rerun of one stage may take from its previous version.

    Parameters
    ----------
    base : str
        Hash of everything the stage's units share (config, code, build, unpartitioned inputs).
    chroms : dict
        Chromosome -> hash of the partitioned inputs' content for that chromosome.
    staging : str or path
        The new version's directory.
    previous : str or path, optional
        The previous version's directory (None: a first run; every unit runs and records its key).
    root : str or path, optional
        The results root: paths under it count by their place in it (a copied or moved results root keeps
        its keys).
    """

    def __init__(self, base: str, chroms: dict, staging, previous=None, root=None):
        self.base, self.chroms = base, dict(chroms)
        self.staging = storage.uri(staging)
        self.root = storage.uri(root).rstrip("/") if root is not None else None
        self.previous = storage.uri(previous) if previous is not None else None
        self.every = hash_json(sorted(self.chroms.items()))
        self.reused, self.recomputed = 0, 0
        self.chroms_recomputed: set = set()
        self.chroms_reused: set = set()
        self._manifests: dict = {}

    def key(self, kernel, unit: dict, kwargs: dict | None = None) -> str:
        """The input key of one unit (see the module docstring): the kernel's other arguments count too
        (paths by their logical name: the staging directory and a published version's directory are
        replaced by their stage's name)."""
        u = {k: v for k, v in unit.items() if not k.startswith("_")}
        text = json.dumps([u, kwargs or {}], sort_keys=True, default=_default).replace(self.staging, "<staging>")
        text = _VERSION_DIR.sub(r"/\1", text)
        if self.root:
            text = text.replace(self.root + "/", "<out>/")
        chrom = unit.get("chrom")
        part = self.every if chrom is None else self.chroms.get(str(chrom), f"absent:{chrom}")
        return hash_json([self.base, getattr(kernel, "__qualname__", str(kernel)), part, text])

    def fragments(self, target: str) -> dict:
        """``fragments`` of the previous version's manifest of the dataset at ``target`` (in staging)."""
        rel = storage.relative(target, self.staging)
        if rel is None or self.previous is None:
            return {}
        if rel not in self._manifests:
            try:
                man = json.loads(storage.read_text(storage.join(self.previous, rel, "_manifest.json")))
            except (OSError, ValueError):
                man = {}
            self._manifests[rel] = man.get("fragments") or {}
        return self._manifests[rel]

    def take(self, unit: dict, targets: dict) -> dict | None:
        """Copy the unit's fragments of every target dataset from the previous version when its input key
        is the one recorded there; returns the runner's record for it, or None (run it)."""
        prev = {k: self.fragments(d).get(str(unit["unit_id"])) for k, (d, _) in targets.items()}
        if not all(p and p.get("input") == unit["_input"] for p in prev.values()):
            return None
        for k, (d, _) in targets.items():
            rel = storage.relative(d, self.staging)
            for f in prev[k]["files"]:
                storage.copy(storage.join(self.previous, rel, f), storage.join(d, f))
        first = next(iter(targets))
        return {"unit_id": str(unit["unit_id"]), "key": prev[first]["key"], "input": unit["_input"],
                "_order": unit["_order"], "files": {k: list(p["files"]) for k, p in prev.items()},
                "rows": {k: int(p["rows"]) for k, p in prev.items()}, "pid": -1, "stats": prev[first].get("stats") or {}}

    def count(self, units: list, reused: list) -> None:
        """Record one work list's outcome (units run, units copied) for the summary."""
        done = {r["unit_id"] for r in reused}
        for u in units:
            c = str(u["chrom"]) if u.get("chrom") is not None else "all"
            if str(u["unit_id"]) in done:
                self.reused += 1
                self.chroms_reused.add(c)
            else:
                self.recomputed += 1
                self.chroms_recomputed.add(c)

    def summary(self) -> dict:
        """``units_recomputed``, ``units_reused``, ``chroms_recomputed`` (sorted), ``chroms_reused``."""
        return {"units_recomputed": self.recomputed, "units_reused": self.reused,
                "chroms_recomputed": sorted(self.chroms_recomputed),
                "chroms_reused": sorted(self.chroms_reused - self.chroms_recomputed)}


@contextlib.contextmanager
def reusing(reuse: Reuse | None):
    """Within the block, sink-mode work lists of the runner take unchanged units from ``reuse``.

    Parameters
    ----------
    reuse : Reuse or None

    Yields
    ------
    Reuse or None
    """
    token = _CURRENT.set(reuse)
    try:
        yield reuse
    finally:
        _CURRENT.reset(token)


def current() -> Reuse | None:
    """The :class:`Reuse` in effect (None outside :func:`reusing`).

    Returns
    -------
    Reuse or None
    """
    return _CURRENT.get()
