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
the same inputs write byte-identical files at the same relative places. (On object stores the same
protocol commits by manifest: the pointer is a small object naming the version.)
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .logs import get_logger
from .errors import InputError
from .layout import STATE_DIR

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
    """Published and staged versions of the stages of one results root.

    Parameters
    ----------
    out : str or Path
        The results root.
    """

    def __init__(self, out):
        self.out = Path(out)
        self.root = self.out / STATE_DIR / "versions"

    def link(self, stage: str) -> Path:
        """``<out>/<stage>``: the published name of the stage's outputs."""
        return self.out / stage

    def current(self, stage: str) -> Path | None:
        """The published version directory of ``stage`` (complete: it has ``_SUCCESS``), or None."""
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

    def begin(self, stage: str, version: str) -> Path:
        """A fresh, empty staging directory for a new version of ``stage``; returns it."""
        self.adopt_legacy(stage)
        cur, prev = self.current(stage), (self.manifest(stage) or {}).get("previous")
        name, n = version, 1
        keep = {cur.name if cur else None, prev}
        while name in keep:                 # --force with unchanged inputs: never write into a live version
            n += 1
            name = f"{version}-{n}"
        path = self.root / stage / name
        if path.exists():                   # left by a killed run
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def publish(self, stage: str, staging: Path, manifest: dict) -> Path:
        """Write the manifest, then ``_SUCCESS``, then point ``<out>/<stage>`` at ``staging`` atomically."""
        cur = self.current(stage)
        manifest = {**manifest, "version": staging.name, "previous": cur.name if cur else None,
                    "published_at": time.time()}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
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
        if link.exists() and not link.is_symlink():
            aside = self.out / STATE_DIR / "legacy" / f"{stage}-{int(time.time())}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(link, aside)
            log.warning("%s: not written by this version of locusflow; moved to %s", link, aside)

    def clean(self) -> list[Path]:
        """Remove what killed runs left: unpublished versions and half-made links. Returns what went."""
        gone = []
        for tmp in [*self.out.glob(".*.link-*"), *(self.out / STATE_DIR).glob(".*.tmp")]:   # links, cache files
            tmp.unlink(missing_ok=True)
            gone.append(tmp)
        if not self.root.is_dir():
            return gone
        for sdir in self.root.iterdir():
            cur = self.current(sdir.name)
            keep = {cur.name, (self.manifest(sdir.name) or {}).get("previous")} if cur else set()
            for v in sdir.iterdir():
                if v.name not in keep:
                    shutil.rmtree(v) if v.is_dir() and not v.is_symlink() else v.unlink()
                    gone.append(v)
        if gone:
            log.info("removed %d leftover(s) of an earlier run that did not finish", len(gone))
        return gone


def check_writable(out: Path) -> None:
    """The results root exists (or can be made) and is writable, else one line naming it.

    Writability is probed by creating and removing a hidden ``.write-test-<pid>`` file.

    Parameters
    ----------
    out : pathlib.Path
        The results root (created, with its parents, when missing).

    Returns
    -------
    None

    Raises
    ------
    InputError
        When the directory cannot be created or a file cannot be written in it.
    """
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
