"""Content hashes of files and directories: the one checksum helper of the package.

A file's hash is blake2b (or xxh3-128 when the ``xxhash`` package is installed) of its bytes; a
directory's hash covers every file under it (following links) by relative path and content, so a
renamed, added, removed or edited file changes it. Hashes are cached per process and, when a
:class:`HashCache` file is given, across runs, keyed by ``(size, mtime_ns, inode, ctime_ns)``. The key is a
shortcut that cannot skip a real change: rewriting a file, even with its size kept and its mtime
restored (``touch -r``, ``os.utime``), sets its ctime to now, and a file replaced by a rename has a new
inode.

Examples
--------
>>> from locusflow.checksum import content_hash
>>> content_hash("examples/bolt_chr20_22.sumstats.gz")      # doctest: +SKIP
'b2:9f0c...'
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path

try:                                    # optional: about 5x faster than blake2b on large files
    import xxhash as _xxhash            # noqa: N813
except ImportError:                     # pragma: no cover - depends on the environment
    _xxhash = None

CHUNK = 1 << 22
ALGORITHM = "xxh128" if _xxhash is not None else "b2"


def _hasher():
    return _xxhash.xxh3_128() if _xxhash is not None else hashlib.blake2b(digest_size=20)


def _stat_key(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"


class HashCache:
    """File hashes keyed by path and ``(size, mtime_ns, inode, ctime_ns)``.

    Parameters
    ----------
    path : str or Path, optional
        JSON file that keeps the cache between runs (read at creation, written by :meth:`save`);
        ``None`` keeps it in memory only.
    """

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._entries: dict[str, list[str]] = {}
        if self.path is not None and self.path.exists():
            try:
                self._entries = dict(json.loads(self.path.read_text()))
            except (ValueError, OSError):      # a damaged cache is only a lost shortcut
                self._entries = {}
        self._dirty = False

    def get(self, file: str, key: str) -> str | None:
        hit = self._entries.get(file)
        return hit[1] if hit and hit[0] == key else None

    def put(self, file: str, key: str, digest: str) -> None:
        with self._lock:
            self._entries[file] = [key, digest]
            self._dirty = True

    def save(self) -> None:
        """Write the cache file atomically (no-op without a path or without new entries); entries of
        files that no longer exist (removed versions) are dropped."""
        if self.path is None or not self._dirty:
            return
        self._entries = {f: v for f, v in self._entries.items() if os.path.exists(f)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._entries))
        os.replace(tmp, self.path)
        self._dirty = False


_MEMORY = HashCache()


def file_hash(path, *, cache: HashCache | None = None) -> str:
    """Hash of one file's bytes, ``'<algorithm>:<hex>'``.

    Parameters
    ----------
    path : str or Path
        A regular file (links are followed).
    cache : HashCache, optional
        Where to look up and store the result; default: this process's memory cache, which also backs
        every other cache (a file is read once per process whichever cache asks).

    Returns
    -------
    str
        The digest, prefixed by the algorithm so that digests of two algorithms never compare equal.
    """
    p = os.path.realpath(path)
    return _digest(p, _stat_key(os.stat(p)), _MEMORY if cache is None else cache)


def _known(real: str, key: str, cache: HashCache) -> str | None:
    """The hash ``cache`` (or this process's memory cache) holds for ``real`` at stat key ``key``; None when
    neither has it (a memory-cache hit is copied into ``cache``)."""
    hit = cache.get(real, key)
    if hit is None and cache is not _MEMORY:        # hashed in this process through another cache
        hit = _MEMORY.get(real, key)
        if hit is not None:
            cache.put(real, key, hit)
    return hit


def _digest(real: str, key: str, cache: HashCache) -> str:
    """The hash of the file at real path ``real`` whose stat key is ``key``: known (:func:`_known`), else
    read (and remembered when the file held still)."""
    hit = _known(real, key, cache)
    if hit is not None:
        return hit
    digest, settled = _read_digest(real, key)
    if settled:                         # not written to while it was read: worth remembering
        cache.put(real, key, digest)
        if cache is not _MEMORY:
            _MEMORY.put(real, key, digest)
    return digest


def _read_digest(real: str, key: str) -> tuple[str, bool]:
    """The digest of a file's bytes, and whether its stat key still equals ``key`` after the read."""
    h = _hasher()
    with open(real, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return f"{ALGORITHM}:{h.hexdigest()}", _stat_key(os.stat(real)) == key


PROVENANCE = ("_manifest.json", "_stage.json", "_SUCCESS")

_WRITTEN: list = []                     # [path, key, digest] of files this process wrote (note_written)
_WRITTEN_LOCK = threading.Lock()
_WRITTEN_MAX = 100_000


def note_written(path) -> None:
    """Hash the files a writer has just finished (one file, or every non-hidden file under a directory)
    while they are in the page cache, and remember them: in this process's cache, and for
    :func:`take_written`, which a work-list task sends to the driver (:func:`learn`). The stages that
    identify that dataset next (content hashes per chromosome for an incremental rerun) then find them
    there instead of reading them back, e.g. a genome's 1.3 GB of LD matrices.

    Parameters
    ----------
    path : str or Path
        A local file or directory, complete (renamed into place): later renames or edits change the
        key, so nothing stale is ever reused.

    Returns
    -------
    None
    """
    p = Path(path)
    if p.is_file():
        real = os.path.realpath(p)
        files = [(real, _stat_key(os.stat(real)))]
    else:
        files = [(real, key) for _, real, key in _scan(p, (".",))]
    out = []
    for real, key in files:
        digest, settled = _read_digest(real, key)
        if settled:
            out.append([real, key, digest])
    for real, key, digest in out:
        _MEMORY.put(real, key, digest)
    with _WRITTEN_LOCK:
        _WRITTEN.extend(out)
        del _WRITTEN[:-_WRITTEN_MAX]        # a writer outside any work list: bounded, newest kept


def take_written() -> list:
    """The ``[path, key, digest]`` entries :func:`note_written` gathered since the last call (cleared).

    Returns
    -------
    list of list
    """
    with _WRITTEN_LOCK:
        out = list(_WRITTEN)
        _WRITTEN.clear()
    return out


def remembered(path) -> str | None:
    """The hash this process holds for ``path`` while its key still matches (never reads the file).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str or None
        ``'<algorithm>:<hex>'``, or None when unknown or the file changed since.
    """
    real = os.path.realpath(path)
    return _MEMORY.get(real, _stat_key(os.stat(real)))


def learn(entries) -> None:
    """Remember hashes another process computed of files it wrote (:func:`take_written`); each is used
    only while the file's ``(size, mtime_ns, inode, ctime_ns)`` key still matches.

    Parameters
    ----------
    entries : iterable of [path, key, digest]

    Returns
    -------
    None
    """
    for real, key, digest in entries or ():
        _MEMORY.put(real, key, digest)


def content_hash(path, *, cache: HashCache | None = None, ignore=(".", ) + PROVENANCE) -> str:
    """Hash of a file, or of every file under a directory (relative paths and contents, sorted).

    Inside a directory, the provenance files a rerun rewrites with new times and paths (``_manifest.json``,
    ``_stage.json``, ``_SUCCESS``) are not part of its content.

    Parameters
    ----------
    path : str or Path
        File or directory; a missing path hashes to ``'missing'``.
    cache : HashCache, optional
        See :func:`file_hash`.
    ignore : tuple of str
        Names starting with one of these prefixes are skipped inside a directory (default: hidden
        files, which are staging and lock files, never data, and the provenance files).

    Returns
    -------
    str
        ``'<algorithm>:<hex>'``, or ``'missing'``. For a URI (an object store), each object counts by the
        checksum its store lists (:func:`locusflow.storage.identity`) instead of its bytes.
    """
    from . import storage
    if storage.is_remote(path):
        return _remote_hash(path, ignore)
    p = Path(path)
    if not p.exists():
        return "missing"
    if not p.is_dir():
        return file_hash(p, cache=cache)
    entries = _scan(p, ignore)
    h = _hasher()
    for (rel, _, _), digest in zip(entries, _hash_entries(entries, cache)):
        h.update(rel.encode() + b"\0" + digest.encode() + b"\n")
    return f"{ALGORITHM}:{h.hexdigest()}"


def _hash_entries(entries: list, cache: HashCache | None) -> list:
    """The digests of :func:`_scan` entries, in order. Known files (the usual case: a rerun, or files a
    writer noted) cost a dictionary lookup; the others are read, by a few threads when there are many."""
    cache = _MEMORY if cache is None else cache
    out = [_known(real, key, cache) for _, real, key in entries]
    todo = [i for i, hit in enumerate(out) if hit is None]
    if len(todo) < 16:
        for i in todo:
            out[i] = _digest(entries[i][1], entries[i][2], cache)
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(4) as ex:
            for i, d in zip(todo, ex.map(lambda i: _digest(entries[i][1], entries[i][2], cache), todo,
                                         chunksize=16)):
                out[i] = d
    return out


def _remote_hash(path, ignore) -> str:
    from . import storage
    files = storage.find(path)
    if not files:
        return "missing"
    h = _hasher()
    for rel in sorted(files):
        if rel and any(part.startswith(ignore) for part in rel.split("/")):
            continue
        h.update(rel.encode() + b"\0" + storage.identity(files[rel]).encode() + b"\n")
    return f"{ALGORITHM}:{h.hexdigest()}"


def _scan(root, ignore) -> list[tuple[str, str, str]]:
    """``(relative path, real path, stat key)`` of every file under ``root`` (links followed), sorted by
    relative path; names starting with a prefix in ``ignore`` are skipped at any depth. One ``stat`` per
    file and a ``realpath`` only for the root and for links: a dataset of 20,000 files takes ~0.1 s."""
    out = []
    stack = [("", os.path.realpath(root))]
    while stack:
        rel, d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.name.startswith(ignore):
                    continue
                link = e.is_symlink()
                real = os.path.realpath(e.path) if link else e.path
                if e.is_dir():
                    stack.append((f"{rel}{e.name}/", real))
                else:
                    out.append((f"{rel}{e.name}", real, _stat_key(os.stat(real) if link else e.stat())))
    out.sort()
    return out


def stat_identity(path) -> str:
    """A cheap identity of a local file or directory from its files' names and stat keys only (no read):
    equal while nothing under it was written, renamed, added or removed. For in-process caches of what
    was read from a path; a content identity (:func:`content_hash`) is what fingerprints use.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        ``'stat:<hex>'``, or ``'missing'``.
    """
    p = Path(path)
    if not p.exists():
        return "missing"
    if not p.is_dir():
        real = os.path.realpath(p)
        return f"stat:{real}:{_stat_key(os.stat(real))}"
    h = _hasher()
    for rel, real, key in _scan(p, (".",)):
        h.update(f"{rel}\0{real}\0{key}\n".encode())
    return f"stat:{h.hexdigest()}"


_CHROM_DIR = re.compile(r"^chrom=(.+)$")
_CHROM_GROUP = re.compile(r"^([0-9A-Za-z]+)_\d+_\d+\.zarr(?:\.zip)?$")   # an LD block: <chrom>_<start>_<stop>.zarr[.zip]


def chrom_hashes(path, *, cache: HashCache | None = None) -> dict | None:
    """Per-chromosome content hashes of a dataset whose data files all lie in chromosome partitions.

    A file belongs to chromosome ``c`` when a component of its relative path is ``chrom=c`` (Parquet,
    hive style) or ``c_<start>_<stop>.zarr.zip`` / ``.zarr`` (an LD block group). Files and folders whose name starts with
    ``.`` or ``_`` (staging, provenance, reports: readers skip them too) do not count. A dataset with any
    other data file, a plain file, or nothing at all is not partitioned: None.

    Parameters
    ----------
    path : str or Path
        A dataset directory, local or a URI.
    cache : HashCache, optional
        See :func:`file_hash` (local files).

    Returns
    -------
    dict or None
        Chromosome -> ``'<algorithm>:<hex>'`` of its files (relative names and contents).
    """
    from . import storage
    if storage.is_remote(path):
        infos = storage.find(path)
        files = {rel: storage.identity(i) for rel, i in infos.items() if rel}
    else:
        p = Path(path)
        if not p.is_dir():
            return None
        scanned = {rel: (real, key) for rel, real, key in _scan(p, (".", "_"))}
        files = dict.fromkeys(scanned)
    chroms = {}
    for rel in sorted(files):
        parts = rel.split("/")
        if any(x.startswith((".", "_")) for x in parts):
            continue
        chrom = next((m.group(1) for x in parts for m in [_CHROM_DIR.match(x) or _CHROM_GROUP.match(x)] if m), None)
        if chrom is None:
            return None
        chroms[rel] = chrom
    local = [(rel, *scanned[rel]) for rel in chroms if files[rel] is None]
    files.update(zip((e[0] for e in local), _hash_entries(local, cache)))
    groups: dict = {}
    for rel, chrom in chroms.items():
        groups.setdefault(chrom, []).append(f"{rel}\0{files[rel]}")
    if not groups:
        return None
    out = {}
    for chrom, items in groups.items():
        h = _hasher()
        h.update("\n".join(items).encode())
        out[chrom] = f"{ALGORITHM}:{h.hexdigest()}"
    return out


def hash_json(obj) -> str:
    """Hash of a JSON-able object (keys sorted; non-JSON values by ``str``), for configurations.

    Parameters
    ----------
    obj : object
        A JSON-serialisable value (dicts, lists, numbers, strings); other values (paths ...) are
        serialised with ``str``.

    Returns
    -------
    str
        ``'<algorithm>:<hex>'`` of the compact, key-sorted JSON text, so equal mappings hash alike
        whatever their key order.
    """
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    h = _hasher()
    h.update(blob)
    return f"{ALGORITHM}:{h.hexdigest()}"


def code_version(package_dir=None, *, cache: HashCache | None = None) -> str:
    """``<__version__>+<hash>`` of the package's own files (code, shipped data) and the dataset schemas.

    A code edit therefore changes every stage's fingerprint, so no result of older code is reused.
    Hidden files, ``__pycache__`` and compiled ``.pyc``/``.pyo`` files are left out; the ``schemas/``
    folder counts when it sits two levels above the package (a source checkout).

    Parameters
    ----------
    package_dir : str or pathlib.Path, optional
        Package directory to hash; default this package (``lib/locusflow``).
    cache : HashCache, optional
        See :func:`file_hash`.

    Returns
    -------
    str
        ``'<version>+<16 hex digits>'``.
    """
    from .version import __version__
    root = Path(package_dir or Path(__file__).parent)
    h = _hasher()
    parts = [root]
    schemas = root.parent.parent / "schemas"      # a source checkout: lib/locusflow -> schemas/
    if schemas.is_dir():
        parts.append(schemas)
    for base in parts:
        entries = [e for e in _scan(base, (".", "__pycache__")) if not e[0].endswith((".pyc", ".pyo"))]
        for (rel, _, _), digest in zip(entries, _hash_entries(entries, cache)):
            h.update(rel.encode() + b"\0" + digest.encode() + b"\n")
    return f"{__version__}+{h.hexdigest()[:16]}"
