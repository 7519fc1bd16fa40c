"""The stage commit protocol: stage everything, publish in one atomic step, never show a mix.

A stage writes all its outputs into a fresh version directory
``<out>/.locusflow/versions/<stage>/<version>`` (hidden from readers), then :meth:`Versions.publish`
writes the stage manifest (``_stage.json``: input content hashes, resolved config, code version, summary)
and ``_SUCCESS`` into it, and swaps the link ``<out>/<stage>`` to point at it with one ``rename(2)``.
A reader opening ``<out>/<stage>/...`` therefore sees the previous version whole or the new one whole.
The previous version is kept until the next run starts (a reader still inside it is not cut off); any
other version, i.e. what a killed run left, is removed by :meth:`Versions.clean` at the next start,
under the results root's lock (:mod:`locusflow.lock`).

The version name is the stage fingerprint's digest, so a clean run and a killed-then-resumed run with
the same inputs write byte-identical files at the same relative places.

On an object store (a results root that is a URI: ``s3://``, ``gs://``, ``abfss://``...) there are no
links and a rename is a copy, so the same protocol commits by pointer: the version is written in place
under ``.locusflow/versions/<stage>/<version>`` (manifest and ``_SUCCESS`` last), then the pointer object
``<out>/<stage>/_CURRENT`` (:data:`POINTER`, the version's name) is written with one PUT, which is atomic
there. Readers resolve a stage through the pointer (:func:`locusflow.layout.stage_dir`), so they see the
previous version whole or the new one whole, as with the link. Versions older than ``previous`` are
removed at the next start, as locally.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import storage
from .logs import get_logger
from .errors import InputError
from .layout import POINTER, STATE_DIR

log = get_logger("commit")
MANIFEST, SUCCESS = "_stage.json", "_SUCCESS"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Versions:
    """Published and staged versions of the stages of one results root (a local path or a URI).

    Parameters
    ----------
    out : str or Path
        The results root.
    keep : int
        Published versions of each stage kept by :meth:`clean` (the current one, the one before it, and
        older ones up to this number, newest first; ``locusflow history`` lists them).
    """

    def __init__(self, out, keep: int = 2):
        self.keep = max(2, int(keep))
        self.out = storage.as_path(out)
        self.remote = storage.is_remote(out)
        self.root = self.out / STATE_DIR / "versions"

    def link(self, stage: str):
        """``<out>/<stage>``: the published name of the stage's outputs (a link, or the pointer's folder)."""
        return self.out / stage

    def current(self, stage: str):
        """The published version directory of ``stage`` (complete: it has ``_SUCCESS``), or None."""
        if self.remote:
            try:
                name = storage.read_text(self.link(stage) / POINTER).strip()
            except (OSError, ValueError):
                return None
            target = self.root / stage / name
        else:
            link = self.link(stage)
            if not link.is_symlink():
                return None
            target = link.parent / os.readlink(link)
        return target if (target / SUCCESS).exists() else None

    def manifest(self, stage: str) -> dict | None:
        """The stage manifest of the published version, or None."""
        cur = self.current(stage)
        if cur is None:
            return None
        try:
            return json.loads((cur / MANIFEST).read_text())
        except (OSError, ValueError):
            return None

    def history(self, stage: str) -> list[dict]:
        """Every kept version of ``stage``, newest first: its manifest (``version``, ``published_at``,
        ``fingerprint``, ``summary``...) with ``current`` set on the published one."""
        base = self.root / stage
        if not base.exists():
            return []
        cur = self.current(stage)
        out = []
        for v in base.iterdir():
            try:
                man = json.loads((v / MANIFEST).read_text()) if (v / SUCCESS).exists() else None
            except (OSError, ValueError):
                man = None
            if man is None:              # unpublished: a staging directory or what a killed run left
                continue
            out.append({**man, "version": v.name, "current": cur is not None and v.name == cur.name})
        return sorted(out, key=lambda m: m.get("published_at") or 0, reverse=True)

    def begin(self, stage: str, version: str):
        """A fresh, empty staging directory for a new version of ``stage``; returns it."""
        self.adopt_legacy(stage)
        cur, prev = self.current(stage), (self.manifest(stage) or {}).get("previous")
        name, n = version, 1
        keep = {cur.name if cur else None, prev}
        while name in keep:                 # --force with unchanged inputs: never write into a live version
            n += 1
            name = f"{version}-{n}"
        path = self.root / stage / name
        storage.remove(path)                # left by a killed run
        storage.makedirs(path)
        return path

    def publish(self, stage: str, staging, manifest: dict):
        """Write the manifest, then ``_SUCCESS``, then point ``<out>/<stage>`` at ``staging`` atomically."""
        cur = self.current(stage)
        manifest = {**manifest, "version": staging.name, "previous": cur.name if cur else None,
                    "published_at": time.time()}
        text = json.dumps(manifest, indent=1, sort_keys=True, default=str)
        if self.remote:
            storage.put_text(staging / MANIFEST, text)
            storage.put_text(staging / SUCCESS, "")
            storage.put_text(self.link(stage) / POINTER, staging.name)    # the commit: one PUT
            return self.link(stage)
        (staging / MANIFEST).write_text(text)
        with open(staging / SUCCESS, "w") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(staging)
        link = self.link(stage)
        tmp = self.out / f".{stage}.link-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(os.path.relpath(staging, link.parent), tmp)
        os.replace(tmp, link)               # the commit: one atomic rename
        _fsync_dir(self.out)
        return link

    def adopt_legacy(self, stage: str) -> None:
        """A real directory at ``<out>/<stage>`` (results of an older layout) is moved aside, once."""
        link = self.link(stage)
        if not self.remote and link.exists() and not link.is_symlink():
            aside = self.out / STATE_DIR / "legacy" / f"{stage}-{int(time.time())}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(link, aside)
            log.warning("%s: not written by this version of locusflow; moved to %s", link, aside)

    def clean(self) -> list:
        """Remove what killed runs left (unpublished versions, half-made links) and published versions
        beyond the ``keep`` newest. The current version and the one before it always stay. Returns what
        went."""
        gone = []
        if not self.remote:
            for tmp in [*self.out.glob(".*.link-*"), *(self.out / STATE_DIR).glob(".*.tmp")]:   # links, caches
                tmp.unlink(missing_ok=True)
                gone.append(tmp)
        if not self.root.exists():
            return gone
        for sdir in self.root.iterdir():
            cur = self.current(sdir.name)
            keep = {cur.name, (self.manifest(sdir.name) or {}).get("previous")} if cur else set()
            older = [m["version"] for m in self.history(sdir.name) if m["version"] not in keep]
            keep |= set(older[:max(0, self.keep - len(keep))]) if cur else set()
            for v in sdir.iterdir():
                if v.name not in keep:
                    storage.remove(v)
                    gone.append(v)
        if gone:
            log.info("removed %d old version(s) or leftover(s) of runs that did not finish", len(gone))
        return gone


def check_writable(out: Path) -> None:
    """The results root exists (or can be made) and is writable, else one line naming it.

    Writability is probed by creating and removing a hidden ``.write-test-<pid>`` file.

    Parameters
    ----------
    out : str or pathlib.Path
        The results root (created, with its parents, when missing), a local path or a URI.

    Returns
    -------
    None

    Raises
    ------
    InputError
        When the directory cannot be created or a file cannot be written in it.
    """
    if storage.is_remote(out):
        probe = storage.join(out, STATE_DIR, f".write-test-{os.getpid()}")
        try:
            storage.put_text(probe, "")
            storage.remove(probe)
        except (OSError, ValueError) as exc:
            raise InputError(storage.redact(out), f"a writable results location ({exc.__class__.__name__}: "
                             f"{storage.redact(exc)})") from None
        return
    out = storage.as_path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"a results directory that can be created ({exc.strerror})") from None
    probe = out / f".write-test-{os.getpid()}"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InputError(out, f"a writable results directory ({exc.strerror})") from None
