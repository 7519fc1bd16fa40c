"""Where bytes live: local paths and URIs (``s3://``, ``gs://``, ``abfss://``, ``hdfs://``, ``dbfs:/``,
``file://``), the one module that knows the difference.

Every reader and writer of the package takes a path or a URI and goes through this module:

- :func:`as_path` gives a ``pathlib.Path`` for a local path (or a ``file://`` URI) and a
  ``upath.UPath`` (pathlib's API over fsspec) for any other URI, so ``path / "x"``, ``.exists()``,
  ``.open()``, ``.iterdir()`` work the same on both. Never ``pathlib.Path(uri)``: it folds ``s3://b``
  into ``s3:/b``. (Azure: name the account in the environment, ``AZURE_STORAGE_ACCOUNT_NAME``, and use
  ``abfs://container/path``; a path object drops an ``@account`` host.)
- :func:`arrow_fs` gives the pyarrow filesystem of a location (Parquet datasets), :func:`zarr_store` a
  Zarr store (fsspec store on object stores), :func:`local_file` a local copy of a remote file for the
  readers that need one (SQLite, pysam FASTA, PLINK ``.bed``), cached by the object's identity.
- :func:`put_text`, :func:`copy`, :func:`remove`, :func:`find` are the few whole-object operations the
  commit protocol needs. On an object store a single PUT is atomic (a reader sees the old object or the
  new one) but a rename is a copy: :mod:`locusflow.commit` therefore publishes by writing a pointer
  object last, never by renaming.

Credentials come only from each filesystem's own standard environment and configuration (for S3:
``AWS_*`` variables, ``~/.aws``, instance roles; ``AWS_ENDPOINT_URL`` for an S3-compatible endpoint;
for GCS and Azure their SDKs' defaults). This module never takes, stores or logs them: :func:`redact`
strips any ``user:secret@`` from a URI before it is shown.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from pathlib import Path

LOCAL_PROTOCOLS = ("file", "local")
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_CRED = re.compile(r"(://)[^/@\s]*@")


def protocol(p) -> str:
    """The URI scheme of ``p`` (``"s3"``, ``"gs"``, ``"abfss"``, ``"dbfs"``...), ``"file"`` for a local path.

    Parameters
    ----------
    p : str or os.PathLike
        A path or a URI.

    Returns
    -------
    str
    """
    if isinstance(p, Path):
        return "file"
    if hasattr(p, "protocol") and not isinstance(p, str):    # a UPath
        return p.protocol or "file"
    m = _URI.match(str(p))
    if not m or (len(m.group(1)) == 1 and not m.group(2)):   # C:\... is a Windows drive, not a scheme
        return "file"
    return m.group(1).lower()


def is_remote(p) -> bool:
    """Whether ``p`` is a URI of a filesystem other than the local one.

    Parameters
    ----------
    p : str or os.PathLike
        Checked by its scheme only (nothing is opened).

    Returns
    -------
    bool
    """
    return protocol(p) not in LOCAL_PROTOCOLS


def as_path(p):
    """A path object for ``p``: ``pathlib.Path`` when local (``file://`` stripped), else ``upath.UPath``.

    Parameters
    ----------
    p : str or os.PathLike or upath.UPath
        Kept as it is when it already is a path object.

    Returns
    -------
    pathlib.Path or upath.UPath
    """
    if isinstance(p, Path):
        return p
    if not is_remote(p):
        s = str(p)
        return Path(s[len("file://"):] if s.startswith("file://") else s)
    from upath import UPath
    return p if isinstance(p, UPath) else UPath(str(p))


def uri(p) -> str:
    """``p`` as a string that keeps its scheme (``s3://b/k``; a local path as is).

    Parameters
    ----------
    p : str or os.PathLike or upath.UPath
        A ``file://`` URI comes back as its local path.

    Returns
    -------
    str
    """
    if isinstance(p, str) and is_remote(p):
        return p
    return str(as_path(p))


def join(base, *parts) -> str:
    """``base/part/...`` as a string, for a local path or a URI.

    Parameters
    ----------
    base : str or os.PathLike
        The left-most part.
    *parts : str

    Returns
    -------
    str
    """
    if not is_remote(base):
        p = as_path(base)
        for x in parts:
            p = p / str(x)
        return str(p)
    out = uri(base).rstrip("/")
    for x in parts:
        out += "/" + str(x).strip("/")
    return out


def relative(path, root) -> str | None:
    """``path`` relative to ``root`` (``"ld/matrices"``), or None when it is not under it.

    Parameters
    ----------
    path, root : str or os.PathLike
        A local path or a URI.

    Returns
    -------
    str or None
    """
    a, b = uri(path).rstrip("/"), uri(root).rstrip("/")
    if a == b:
        return ""
    return a[len(b) + 1:] if a.startswith(b + "/") else None


def redact(p) -> str:
    """``p`` for a log line: a URI's ``user:secret@`` part removed.

    Parameters
    ----------
    p : str or os.PathLike
        Typically a results root or an input named in a log line.

    Returns
    -------
    str
    """
    return _CRED.sub(r"\1", str(p))


def filesystem(p):
    """The fsspec filesystem of ``p`` and the path inside it.

    Parameters
    ----------
    p : str or os.PathLike
        Its scheme picks the fsspec implementation (``s3fs`` for ``s3://``...).

    Returns
    -------
    (fsspec.AbstractFileSystem, str)
    """
    from fsspec.core import url_to_fs
    return url_to_fs(uri(p))


def arrow_fs(p):
    """The pyarrow filesystem of ``p`` and the path inside it (Parquet datasets read and written there).

    Local paths get pyarrow's own ``LocalFileSystem``; URIs the fsspec filesystem wrapped for pyarrow
    (``PyFileSystem(FSSpecHandler(...))``), so credentials and endpoints come from one place.

    Parameters
    ----------
    p : str or os.PathLike
        A dataset directory.

    Returns
    -------
    (pyarrow.fs.FileSystem, str)
    """
    import pyarrow.fs as pafs
    if not is_remote(p):
        return pafs.LocalFileSystem(), str(as_path(p))
    fs, path = filesystem(p)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def zarr_store(p, *, read_only: bool = True):
    """What ``zarr.open_group``/``zarr.open_array`` take for location ``p``.

    Parameters
    ----------
    p : str or os.PathLike
        A Zarr group (an LD block, a genotype store).
    read_only : bool
        Open the store read-only (URIs only; a local path's mode comes from ``open_group``).

    Returns
    -------
    str or zarr.storage.FsspecStore
        The local path as a string, or an fsspec store for a URI.
    """
    if not is_remote(p):
        return str(as_path(p))
    import zarr
    return zarr.storage.FsspecStore.from_url(uri(p), read_only=read_only)


def exists(p) -> bool:
    """Whether a file, directory or prefix exists at ``p``.

    Parameters
    ----------
    p : str or os.PathLike
        Tested with one ``HEAD``/listing on an object store.

    Returns
    -------
    bool
    """
    if not is_remote(p):
        return as_path(p).exists()
    fs, path = filesystem(p)
    return fs.exists(path)


def read_text(p) -> str:
    """The text of the file at ``p`` (UTF-8).

    Parameters
    ----------
    p : str or os.PathLike
        A small object: a pointer, a manifest, a lease.

    Returns
    -------
    str
    """
    return as_path(p).read_text()


def put_text(p, text: str) -> None:
    """Write a small text object whole: one PUT on an object store (atomic there), a rename locally
    (flushed to disk first).

    Parameters
    ----------
    p : str or os.PathLike
        Its parent folder is made when local.
    text : str

    Returns
    -------
    None
    """
    put_bytes(p, text.encode(), sync=True)


def put_bytes(p, data, *, sync: bool = False) -> None:
    """Write one file or object whole: one PUT on an object store, a write then a rename locally.

    Parameters
    ----------
    p : str or os.PathLike
        Its parent folder is made when local.
    data : bytes-like
    sync : bool
        Locally, flush the file to disk before the rename (pointers, manifests).

    Returns
    -------
    None
    """
    if is_remote(p):
        fs, path = filesystem(p)
        fs.pipe_file(path, bytes(data))
        return
    path = as_path(p)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def makedirs(p) -> None:
    """Create directory ``p`` with its parents (a no-op on object stores, which have no directories).

    Parameters
    ----------
    p : str or os.PathLike
        On an object store nothing is created: prefixes exist once an object is written.

    Returns
    -------
    None
    """
    if not is_remote(p):
        as_path(p).mkdir(parents=True, exist_ok=True)


def remove(p) -> None:
    """Remove a file or a whole directory / prefix; nothing happens when it is absent.

    Parameters
    ----------
    p : str or os.PathLike
        Missing is fine.

    Returns
    -------
    None
    """
    if not is_remote(p):
        path = as_path(p)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)
        return
    fs, path = filesystem(p)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def find(p) -> dict:
    """Every file under ``p`` (itself when a file): relative name -> fsspec info dict.

    Parameters
    ----------
    p : str or os.PathLike
        A folder (prefix) or one file.

    Returns
    -------
    dict
    """
    fs, path = filesystem(p)
    if not fs.exists(path):
        return {}
    if fs.isfile(path):
        return {"": fs.info(path)}
    path = path.rstrip("/")
    return {k[len(path) + 1:]: v for k, v in fs.find(path, detail=True).items() if v.get("type") != "directory"}


def copy(src, dst) -> None:
    """Copy a file or a directory tree: hard links locally (writers replace files, never edit them),
    server-side copies on an object store, a download-upload across filesystems.

    Parameters
    ----------
    src, dst : str or os.PathLike
        Source and destination; each may be local or a URI.

    Returns
    -------
    None
    """
    if not is_remote(src) and not is_remote(dst):
        s, d = as_path(src), as_path(dst)
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, copy_function=_link_or_copy, dirs_exist_ok=True)
        else:
            _link_or_copy(s, d)
        return
    if protocol(src) == protocol(dst):
        fs, s = filesystem(src)
        _, d = filesystem(dst)
        fs.copy(s, d, recursive=fs.isdir(s))
        return
    for rel in find(src):
        with as_path(join(src, rel) if rel else src).open("rb") as fi, \
                as_path(join(dst, rel) if rel else dst).open("wb") as fo:
            shutil.copyfileobj(fi, fo)


def _link_or_copy(s, d):
    try:
        os.link(s, d)
    except OSError:
        shutil.copy2(s, d)
    return d


def identity(info: dict) -> str:
    """A change marker of one remote object from its listing: its checksum when the store gives one
    (S3 ``ETag``, GCS ``md5Hash``/``crc32c``, Azure ``content_md5``), else size and modification time.

    Parameters
    ----------
    info : dict
        An fsspec info dict.

    Returns
    -------
    str
    """
    for k in ("ETag", "etag", "md5Hash", "crc32c", "content_md5", "checksum"):
        if info.get(k):
            return f"{k}:{str(info[k]).strip(chr(34))}:{info.get('size')}"
    return f"{info.get('size')}:{info.get('LastModified') or info.get('mtime') or info.get('updated')}"


def cache_dir() -> Path:
    """Where remote inputs are copied for readers that need a local file (``LOCUSFLOW_CACHE``, default
    ``~/.cache/locusflow/remote``).

    Returns
    -------
    pathlib.Path
    """
    return Path(os.environ.get("LOCUSFLOW_CACHE") or Path.home() / ".cache" / "locusflow" / "remote")


def local_file(p, *, siblings=()) -> Path:
    """A local file with the content of ``p``: ``p`` itself when local, else a cached download.

    For readers that need a real file (SQLite, pysam's indexed FASTA, memory-mapped PLINK ``.bed``).
    The copy is keyed by the URI and the object's identity (:func:`identity`), so a changed object is
    fetched again and an unchanged one once per machine (driver or executor).

    Parameters
    ----------
    p : str or os.PathLike
        The file to have locally.
    siblings : sequence of str
        Suffixes of companion files fetched with it when they exist (``.fai``, ``.gzi`` of a FASTA).

    Returns
    -------
    pathlib.Path
    """
    if not is_remote(p):
        return as_path(p)
    fs, path = filesystem(p)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        from .errors import InputError
        raise InputError(redact(uri(p)), "file not found") from None
    key = hashlib.blake2b(f"{redact(uri(p))}\0{identity(info)}".encode(), digest_size=12).hexdigest()
    dest = cache_dir() / key / as_path(p).name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (*siblings, ""):            # the file itself last: its presence = complete
            if suffix and not fs.exists(path + suffix):
                continue
            tmp = dest.with_name(f".{dest.name}{suffix}.{os.getpid()}.part")
            fs.get_file(path + suffix, str(tmp))
            os.replace(tmp, str(dest) + suffix)
    return dest


def local_prefix(prefix, suffixes) -> str:
    """A local file-set prefix with the files ``<prefix><suffix>`` (a PLINK ``.bed``/``.bim``/``.fam``):
    ``prefix`` itself when local, else a cached download of each (:func:`local_file`) side by side.

    Parameters
    ----------
    prefix : str or os.PathLike
        PLINK-style prefix without suffix.
    suffixes : sequence of str

    Returns
    -------
    str
    """
    if not is_remote(prefix):
        return str(as_path(prefix))
    files = [local_file(f"{uri(prefix)}{s}") for s in suffixes]
    key = hashlib.blake2b("\0".join(map(str, files)).encode(), digest_size=12).hexdigest()
    d = cache_dir() / key
    d.mkdir(parents=True, exist_ok=True)
    name = as_path(prefix).name
    for f, s in zip(files, suffixes):
        link = d / f"{name}{s}"
        if not link.exists():
            _link_or_copy(f, link)
    return str(d / name)


def upload_tree(local_dir, dest, *, last: str | None = None) -> None:
    """Copy a local directory to ``dest`` (a URI), replacing what is there; the file ``last`` (the
    marker readers check, e.g. ``locusflow.json``) goes up after every other file.

    Parameters
    ----------
    local_dir : str or os.PathLike
        Local source folder.
    dest : str or os.PathLike
        Local source folder.
    last : str, optional

    Returns
    -------
    None
    """
    remove(dest)
    fs, root = filesystem(dest)
    src = Path(local_dir)
    files = sorted(str(f.relative_to(src)) for f in src.rglob("*") if f.is_file())
    for rel in sorted(files, key=lambda r: r == last):
        fs.put_file(str(src / rel), f"{root.rstrip('/')}/{rel}")


@contextlib.contextmanager
def local_dir(dest):
    """A local directory to write into for ``dest``: ``dest`` itself when local; for a URI a temporary
    directory whose files are uploaded to ``dest`` (:func:`upload_tree`) when the block ends without an
    error, for writers that need real files (figures, HTML).

    Parameters
    ----------
    dest : str or os.PathLike
        Where the files end up.

    Yields
    ------
    pathlib.Path
    """
    if not is_remote(dest):
        d = as_path(dest)
        d.mkdir(parents=True, exist_ok=True)
        yield d
        return
    import tempfile
    with tempfile.TemporaryDirectory(prefix="locusflow-out-") as tmp:
        yield Path(tmp)
        upload_tree(tmp, dest)
