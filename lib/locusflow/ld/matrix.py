"""Per-block LD matrices from a reference panel: compute, store, read.

Formula: r = X'X / n over standardised dosages X (each variant centred and scaled to unit variance
with the population variance, missing calls mean-imputed); signs follow the ``alt`` allele. It is
computed from an exact float32 GEMM of integer (shifted) allele counts, then centred and scaled
(see :func:`ld_matrix`). On complete data this is plink 1.9 ``--r square --keep-allele-order`` (Pearson r
of allele counts). With missing calls plink uses the samples called at both variants
(pairwise-complete) while this mean-imputes: the two differ for pairs that involve a missing call.

Layout of an LD directory ``<ld_dir>`` (written by :func:`build_ld`):

    <ld_dir>/index/chrom=<c>/part-0.parquet         schema ld_index: one row per block
    <ld_dir>/blocks/<chrom>/<chrom>_<start>_<stop>.zarr.zip
        r           [m, m] float32 (Zarr format 2)
        variant_id  [m]    chrom:pos:ref:alt, the order of r's rows and columns
        alt_freq    [m]    alt allele frequency over the samples used

Each block is one Zarr v2 group inside one zip file (entries stored uncompressed: the chunks are Blosc
lz4 already), which ``zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")`` opens. One file
per block instead of a directory of 11 files and 4 folders: on ext4 those creations cost more kernel time
than the matrix's bytes, and more again when two tasks write at once (bench/scale.py). LD directories of
earlier versions (``<chrom>_<start>_<stop>.zarr`` folders) are still read.

Reading: :func:`read_ld_index` (the index table), :func:`locate_variants` (variant_id -> block_id),
:func:`read_block_ld` (``(variants, r)`` of one block, optionally of any subset of its variants, in
the order asked; only the Zarr chunks needed are read). Variants are dropped from a block's matrix when monomorphic in the samples used or below the
optional ``maf`` filter (``n_dropped`` in the index).

Work list: one unit per block (store rows by index range), kernel :func:`ld_block_kernel`, run by
``locusflow.engine.runner.run_worklist`` on local, dask or spark with identical results.
"""
from __future__ import annotations

import functools
import io
import json
import os
import zipfile
from pathlib import Path

import numcodecs
import numpy as np
import pandas as pd

from ..logs import get_logger
from ..checksum import note_written
from ..errors import InputError
from .. import storage
from ..io.dataset import finish_fragments, read_dataset
from ..io.genotypes import GenotypeStore

log = get_logger("ld")
CHUNK = 1024          # r chunk side: 4 MiB float32 chunks write and read ~25 % faster than 2048 (bench/ld.py)
_COMP = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)


def ld_matrix(dosage: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Correlation (LD) matrix of one block's dosages.

    r = X'X / n over standardised, mean-imputed alt-allele dosages X (population SD). The GEMM runs on
    integers so that it is exact in float32: each variant is shifted by its rounded mean c_i
    (D = dosage - c, 0 where missing; entries -2..2, so sums of products stay below 2^24 for n < 2^22),
    leaving delta_i = mu_i - c_i (|delta| <= 1/2) to correct for. With M the call mask,
    ``X'X = D D' - delta_j (D M') - delta_i (M D') + delta_i delta_j (M M')``, which is
    ``D D' - n delta delta'`` when nothing is missing (applied in float32; |r| error ~1e-7); with missing
    calls the correction runs in float64. Monomorphic variants get a zero row (diagonal 0).

    Parameters
    ----------
    dosage : numpy.ndarray
        [m variants, n samples] alt-allele dosages (0..2), NaN where missing.
    chunk : int
        Rows of the matrix corrected per step (bounds temporary memory).

    Returns
    -------
    numpy.ndarray
        [m, m] float32 r, signs following the alt allele.

    References
    ----------
    Equal to ``plink --r square --keep-allele-order`` (Pearson r of allele counts) on complete data
    (Chang et al. 2015, GigaScience 4:7); with missing calls plink uses pairwise-complete samples.
    """
    d = np.asarray(dosage, dtype=np.float32)
    m, n = d.shape
    miss = np.isnan(d)
    called = n - miss.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(called > 0, np.where(miss, 0, d).sum(1, dtype=np.float64) / called, 0.0)
    shift = np.round(mu)
    dt = np.float32 if 4 * n < 2 ** 24 else np.float64
    x = np.where(miss, 0, d - shift[:, None].astype(np.float32)).astype(dt, copy=False)
    delta = mu - shift
    dev = np.where(miss, 0.0, d - mu[:, None])
    sd = np.sqrt(np.einsum("ij,ij->i", dev, dev) / n)        # population sd of the imputed dosages
    w = np.divide(1.0, sd * np.sqrt(n), out=np.zeros(m), where=sd > 0)
    s = x @ x.T
    r = s if s.dtype == np.float32 else np.empty((m, m), np.float32)
    if not miss.any():
        nd, d32, w32 = (n * delta).astype(np.float32), delta.astype(np.float32), w.astype(np.float32)
        for a in range(0, m, chunk):  # loop over row chunks of the matrix, not variants
            b = min(m, a + chunk)
            c = s[a:b]
            c -= np.multiply.outer(nd[a:b], d32)
            c *= w32[a:b, None]
            c *= w32[None, :]
            np.clip(c, -1.0, 1.0, out=c)
            r[a:b] = c
    else:
        mask = (~miss).astype(dt)
        dm, mm = x @ mask.T, mask @ mask.T
        for a in range(0, m, chunk):
            b = min(m, a + chunk)
            c = (s[a:b].astype(np.float64) - dm[a:b] * delta[None, :] - delta[a:b, None] * dm[:, a:b].T
                 + mm[a:b] * np.multiply.outer(delta[a:b], delta))
            c *= w[a:b, None]
            c *= w[None, :]
            np.clip(c, -1.0, 1.0, out=c)
            r[a:b] = c
    np.fill_diagonal(r, (w > 0).astype(np.float32))
    return r


def block_path(chrom, start, stop) -> str:
    """Relative path of a block's Zarr group inside an LD directory.

    Parameters
    ----------
    chrom : str
    start, stop : int
        The block's 1-based half-open interval (its :func:`locusflow.ld.blocks.block_id`).

    Returns
    -------
    str
        ``blocks/<chrom>/<chrom>_<start>_<stop>.zarr.zip`` (earlier versions wrote the same group as a
        ``.zarr`` folder; :func:`read_block_ld` reads both).
    """
    return f"blocks/{chrom}/{chrom}_{int(start)}_{int(stop)}.zarr.zip"


@functools.lru_cache(maxsize=8)
def _store(path: str, stamp: float) -> GenotypeStore:
    return GenotypeStore(path)


def open_store(path) -> GenotypeStore:
    """A genotype store opened once per process and store version (its variants table is cached).

    Parameters
    ----------
    path : str or pathlib.Path
        A VCF Zarr store written by ``locusflow ingest``.

    Returns
    -------
    locusflow.io.genotypes.GenotypeStore
    """
    if storage.is_remote(path):          # an object's listed checksum stands in for the file's mtime
        info = storage.find(storage.join(path, "locusflow.json")).get("")
        return _store(storage.uri(path), hash(storage.identity(info)) if info else 0.0)
    p = Path(path)
    meta = p / "locusflow.json"
    return _store(str(p), meta.stat().st_mtime if meta.exists() else 0.0)


def ld_block_kernel(unit: dict, *, store: str, ld_dir: str, samples=None, maf: float = 0.0) -> pd.DataFrame:
    """Work-list task: the LD matrix of one block, written to its Zarr group.

    Parameters
    ----------
    unit : dict
        block_id, chrom, start, stop and the block's store rows: ``lo``/``hi`` (a range) or ``index``.
    store : str
        Genotype store path.
    ld_dir : str
        LD directory the block's group is written into (:func:`block_path`).
    samples : list of int, optional
        Store sample indices to use (None: all).
    maf : float
        Variants with minor allele frequency below it are dropped (monomorphic ones always are).

    Returns
    -------
    pandas.DataFrame
        The block's one ``ld_index`` row (variants kept, dropped, path, variant ids).
    """
    numcodecs.blosc.use_threads = False
    st = open_store(store)
    idx = (np.asarray(unit["index"], dtype=np.int64) if unit.get("index") is not None
           else np.arange(int(unit["lo"]), int(unit["hi"])))
    smp = None if samples is None else np.asarray(samples, dtype=np.int64)
    if unit.get("index") is not None:
        d = st.dosages(index=idx, samples=smp)
    else:
        d = st.dosages(int(unit["lo"]), int(unit["hi"]), samples=smp)
    with np.errstate(invalid="ignore"):
        af = np.nanmean(d, axis=1, dtype=np.float64) / 2
    keep = np.isfinite(af) & (np.minimum(af, 1 - af) >= maf) & (np.minimum(af, 1 - af) > 0)
    d = d[keep]
    ids = st.variant_ids(idx[keep], str(unit["chrom"]))
    r = ld_matrix(d)
    rel = block_path(unit["chrom"], unit["start"], unit["stop"])
    write_block(storage.join(ld_dir, rel), r, ids, af[keep], block_id=unit["block_id"], n_samples=d.shape[1])
    return pd.DataFrame([{"block_id": unit["block_id"], "chrom": str(unit["chrom"]),
                          "start": int(unit["start"]), "stop": int(unit["stop"]), "n_variants": len(ids),
                          "n_dropped": int((~keep).sum()), "n_samples": int(d.shape[1]), "path": rel,
                          "variant_ids": [str(v) for v in ids]}])


def write_block(path, r: np.ndarray, variant_ids, alt_freq, *, block_id: str, n_samples: int) -> None:
    """Write one block's Zarr group as one zip file, staged and renamed into place (never half-written).

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file (``….zarr.zip``), local or a URI (one PUT on an object store).
    r : numpy.ndarray
        [m, m] float32 LD matrix.
    variant_ids : array-like of str
        The order of r's rows and columns.
    alt_freq : array-like of float
        Alt allele frequency per variant in the samples used.
    block_id : str
    n_samples : int
        Recorded as group attributes.

    Returns
    -------
    None
    """
    attrs = {"block_id": block_id, "n_samples": int(n_samples),
             "formula": "r = X'X/n, X standardised alt dosages (mean-imputed)"}
    buf = io.BytesIO()            # built in memory, written with one call (zipfile seeks and writes per entry)
    _write_group_zip(buf, r, variant_ids, alt_freq, attrs)
    remote = storage.is_remote(path)
    if not remote and Path(path).is_dir():     # a folder of that name (never written by this version)
        storage.remove(path)
    storage.put_bytes(path, buf.getbuffer())   # one PUT on an object store; locally a staged file renamed
    if not remote:
        note_written(path)      # hashed now, in the page cache: the next stages' identity check reads nothing


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)      # fixed entry times: the same block gives the same bytes


def _write_group_zip(fh, r: np.ndarray, variant_ids, alt_freq, attrs: dict) -> None:
    """One block's Zarr v2 group, as zarr-python lays it out (the same keys, metadata and Blosc lz4 /
    vlen-utf8 chunk bytes), written as the entries of one zip file (stored: the chunks are compressed)."""
    m = len(variant_ids)
    comp = _COMP.get_config()
    zf = zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True)

    def put(key, data: bytes):
        info = zipfile.ZipInfo(key, date_time=_ZIP_TIME)
        info.external_attr = 0o644 << 16
        zf.writestr(info, data, compress_type=zipfile.ZIP_STORED)

    def put_json(key, obj):
        put(key, json.dumps(obj, indent=2).encode())

    def meta(shape, chunks, dtype, fill, filters=None):
        return {"shape": list(shape), "chunks": list(chunks), "dtype": dtype, "fill_value": fill, "order": "C",
                "filters": filters, "dimension_separator": ".", "compressor": comp, "zarr_format": 2}

    put_json(".zgroup", {"zarr_format": 2})
    put_json(".zattrs", attrs)
    c = max(1, min(m, CHUNK))
    put_json("r/.zarray", meta((m, m), (c, c), "<f4", 0.0))
    put_json("r/.zattrs", {"_ARRAY_DIMENSIONS": ["variants", "variants_"]})
    n = max(1, m)
    put_json("variant_id/.zarray", meta((m,), (n,), "|O", "", [{"id": "vlen-utf8"}]))
    put_json("variant_id/.zattrs", {"_ARRAY_DIMENSIONS": ["variants"]})
    put_json("alt_freq/.zarray", meta((m,), (n,), "<f8", 0.0))
    put_json("alt_freq/.zattrs", {"_ARRAY_DIMENSIONS": ["variants"]})
    if m:
        r = np.asarray(r, dtype="<f4")
        for i in range(0, m, c):           # loop over chunks of the matrix (one for blocks up to CHUNK variants)
            for j in range(0, m, c):
                ch = r[i:i + c, j:j + c]
                if ch.shape != (c, c):     # an edge chunk is stored whole, padded with the fill value
                    ch = np.pad(ch, ((0, c - ch.shape[0]), (0, c - ch.shape[1])))
                if ch.any():               # zarr leaves out chunks that hold only the fill value
                    put(f"r/{i // c}.{j // c}", _COMP.encode(np.ascontiguousarray(ch)))
        ids = np.asarray(variant_ids, dtype=str).astype(object)
        put("variant_id/0", _COMP.encode(numcodecs.VLenUTF8().encode(ids)))
        put("alt_freq/0", _COMP.encode(np.ascontiguousarray(np.asarray(alt_freq, dtype="<f8"))))
    zf.close()


def block_units(variants: pd.DataFrame, blocks: pd.DataFrame) -> list[dict]:
    """Work units of the LD stage: one per block, with the block's store rows.

    A block whose rows, in position order, form one contiguous store range gets ``lo``/``hi``;
    otherwise ``index`` lists them.

    Parameters
    ----------
    variants : pandas.DataFrame
        The store's variants table (chrom, pos, store_index).
    blocks : pandas.DataFrame
        ``ld_blocks`` rows covering every variant (:func:`locusflow.ld.blocks.assign_blocks`).

    Returns
    -------
    list of dict
        unit_id, block_id, chrom, start, stop, cost and lo/hi or index.
    """
    units = []
    bl = blocks.sort_values(["chrom", "start"])
    by_chrom = variants.groupby(variants["chrom"].astype(str), sort=False).indices      # one pass over the rows
    all_pos, all_rows = variants["pos"].to_numpy(np.int64), variants["store_index"].to_numpy(np.int64)
    for chrom, b in bl.groupby(bl["chrom"].astype(str), sort=True):
        at = by_chrom.get(chrom, np.zeros(0, np.int64))
        order = np.lexsort((all_rows[at], all_pos[at]))          # by pos, then store_index
        pos, rows = all_pos[at][order], all_rows[at][order]
        s, e = b["start"].to_numpy(np.int64), b["stop"].to_numpy(np.int64)
        k = np.searchsorted(s, pos, side="right") - 1
        outside = (k < 0) | (pos >= e[np.maximum(k, 0)])
        if outside.any():
            raise InputError("ld_blocks", "blocks covering every variant of the panel", column="pos",
                             value=f"{chrom}:{int(pos[outside][0])}")
        bounds = np.searchsorted(k, np.arange(len(s) + 1))
        for j, rec in enumerate(b.itertuples(index=False)):  # loop over blocks
            r = rows[bounds[j]:bounds[j + 1]]
            u = {"unit_id": rec.block_id, "block_id": rec.block_id, "chrom": chrom, "start": int(rec.start),
                 "stop": int(rec.stop), "cost": float(rec.cost)}
            if len(r) and np.array_equal(r, np.arange(r[0], r[0] + len(r))):
                u.update(lo=int(r[0]), hi=int(r[0] + len(r)))
            else:
                u["index"] = [int(x) for x in r]
            units.append(u)
    return units


def build_ld(store, blocks: pd.DataFrame, ld_dir, *, samples=None, maf: float = 0.0, engine: str = "local",
             spark=None, progress: bool = True, manifest: dict | None = None, columns=None) -> pd.DataFrame:
    """LD matrices of every block through the work-list runner, then their index.

    The previous index is removed first and the new one written once every block is done; block
    groups of an earlier run that are not in the new index are removed then.

    Parameters
    ----------
    store : str or pathlib.Path
        Genotype store.
    blocks : pandas.DataFrame
        ``ld_blocks`` rows.
    ld_dir : str or pathlib.Path
        Output LD directory (layout in the module docstring).
    samples : list of str, optional
        Sample ids (None: all).
    maf : float
        Minor allele frequency filter.
    engine : {"local", "dask", "spark"}
    spark : pyspark.sql.SparkSession, optional
    progress : bool
    manifest : dict, optional
        Extra manifest entries of the index dataset.
    columns : list of str, optional
        Columns of the index returned (default all; the ld stage leaves out the variant ids). Each
        task writes its block's matrix and index row; the index is read back once committed.

    Returns
    -------
    pandas.DataFrame
        The ``ld_index`` table.

    References
    ----------
    Each block's matrix is :func:`ld_matrix` (equal to ``plink --r square``; Chang et al. 2015,
    GigaScience 4:7) over the blocks of :func:`locusflow.ld.blocks.resolve_blocks` (LDetect, Berisa &
    Pickrell 2016).
    """
    from ..engine.runner import run_worklist

    st = open_store(store)
    sidx = None if samples is None else [int(i) for i in st.sample_index(list(samples))]
    ld_dir = storage.as_path(ld_dir)
    units = block_units(st.positions, blocks)
    # an index describes finished matrices only: drop the old one until this run has finished (each
    # block group is itself written atomically and holds its own variant ids)
    storage.remove(ld_dir / "index")
    # each task writes its block's matrix and its index row; the driver commits the index
    frags = run_worklist(units, ld_block_kernel, "ld_index", engine=engine, spark=spark, progress=progress,
                         kwargs={"store": storage.uri(st.path), "ld_dir": storage.uri(ld_dir), "samples": sidx,
                                 "maf": float(maf)}, write_to=storage.uri(ld_dir / "index"), stats=_index_stats)
    finish_fragments(ld_dir / "index", "ld_index", frags,
                     manifest={"store": storage.uri(st.path), "maf": maf, "n_samples": len(sidx or st.samples),
                               **(manifest or {})})
    index = _answered_index(units, frags, columns)
    if index is None:
        index = read_dataset(ld_dir / "index", "ld_index", columns=columns)
    if not storage.is_remote(ld_dir):      # block groups an earlier run left in this directory
        keep = {os.path.normpath(p) for p in index["path"]}        # paths relative to ld_dir
        for p in [*(ld_dir / "blocks").glob("*/*.zarr"), *(ld_dir / "blocks").glob("*/*.zarr.zip")]:
            if os.path.normpath(os.path.relpath(p, ld_dir)) not in keep:
                storage.remove(p)
    log.info("ld: %d blocks, %d variants -> %s", len(index), int(index["n_variants"].sum()), storage.redact(ld_dir))
    return index


def _index_stats(frames: dict) -> dict:
    f = frames[""]
    return {"n_variants": int(f["n_variants"].sum()), "n_dropped": int(f["n_dropped"].sum())}


ANSWERED = ("block_id", "n_variants", "n_dropped", "path")


def _answered_index(units: list, frags: pd.DataFrame, columns) -> pd.DataFrame | None:
    """The index's ``columns`` from the tasks' answers (each unit's counts travel back with its fragment),
    when they are among :data:`ANSWERED` and every unit's counts are known; else None (read it back: at
    one file per block that is ~0.5 s of driver time for a genome)."""
    if columns is None or not set(columns) <= set(ANSWERED) or not len(frags):
        return None
    stats = frags.reindex(columns=["stat_n_variants", "stat_n_dropped"])
    if stats.isna().to_numpy().any():        # a unit reused from a version that did not record them
        return None
    by_id = {str(u["unit_id"]): u for u in units}
    ids = frags["unit_id"].astype(str).tolist()
    if any(i not in by_id for i in ids):
        return None
    out = pd.DataFrame({"block_id": [str(by_id[i]["block_id"]) for i in ids],
                        "n_variants": stats["stat_n_variants"].to_numpy(np.int64),
                        "n_dropped": stats["stat_n_dropped"].to_numpy(np.int64),
                        "path": [block_path(by_id[i]["chrom"], by_id[i]["start"], by_id[i]["stop"]) for i in ids]})
    return out[list(columns)]


def read_ld_index(ld_dir, chrom=None) -> pd.DataFrame:
    """The ``ld_index`` table of an LD directory.

    Parameters
    ----------
    ld_dir : str or pathlib.Path
    chrom : str, optional
        Only this chromosome's blocks.

    Returns
    -------
    pandas.DataFrame
    """
    filt = None if chrom is None else [("chrom", "==", str(chrom))]
    return read_dataset(storage.join(ld_dir, "index"), "ld_index", filters=filt)


def locate_variants(ld_dir, variant_ids=None, chrom=None) -> pd.DataFrame:
    """The block and matrix row of each variant of an LD directory.

    Parameters
    ----------
    ld_dir : str or pathlib.Path
    variant_ids : array-like of str, optional
        Only these (ids absent from every matrix are left out).
    chrom : str, optional

    Returns
    -------
    pandas.DataFrame
        variant_id, block_id, ld_row; group sumstats by block_id and call :func:`read_block_ld`.
    """
    idx = read_ld_index(ld_dir, chrom)[["block_id", "variant_ids"]]
    lens = idx["variant_ids"].map(len).to_numpy()
    out = pd.DataFrame({"variant_id": np.concatenate([np.asarray(v, dtype=object) for v in idx["variant_ids"]])
                        if len(idx) else np.array([], dtype=object),
                        "block_id": np.repeat(idx["block_id"].to_numpy(), lens),
                        "ld_row": np.concatenate([np.arange(k) for k in lens]) if len(idx) else np.array([], int)})
    if variant_ids is not None:
        out = out[out["variant_id"].isin(pd.Index(variant_ids))].reset_index(drop=True)
    return out


def read_block_ld(ld_dir, block_id: str, variant_ids=None) -> tuple[pd.DataFrame, np.ndarray]:
    """Variants and LD matrix of one block, optionally of a subset in a given order.

    Only the Zarr chunks needed are read.

    Parameters
    ----------
    ld_dir : str or pathlib.Path
    block_id : str
        ``chrom:start-stop`` (:func:`locusflow.ld.blocks.block_id`).
    variant_ids : array-like of str, optional
        The variants wanted, in the order wanted; one not in the block is an InputError naming it.

    Returns
    -------
    variants : pandas.DataFrame
        variant_id, chrom, pos, ref, alt, alt_freq.
    r : numpy.ndarray
        float32 LD matrix in the same order.
    """
    ld_dir = storage.as_path(ld_dir)
    chrom, _, span = str(block_id).partition(":")
    start, _, stop = span.partition("-")
    if not (start.isdigit() and stop.isdigit()):
        raise InputError(ld_dir, "a block_id chrom:start-stop", column="block_id", value=block_id)
    with _BlockGroup(ld_dir, chrom, start, stop, block_id) as g:
        ids = np.asarray(g.vector("variant_id"), dtype=object).astype(str)
        freq = np.asarray(g.vector("alt_freq"), dtype=np.float64)
        if variant_ids is None:
            sel = np.arange(len(ids))
            r = g.matrix("r")
        else:
            want = np.asarray(list(variant_ids), dtype=str)
            sel = pd.Index(ids).get_indexer(want)
            if (sel < 0).any():
                raise InputError(g.path, f"variants of LD block {block_id}", column="variant_id",
                                 value=list(want[sel < 0][:5]))
            r = g.matrix("r", sel) if len(sel) else np.zeros((0, 0), "f4")
    parts = pd.Series(ids[sel]).str.split(":", expand=True, n=3) if len(sel) else pd.DataFrame(
        [[None] * 4][:0], columns=range(4))
    var = pd.DataFrame({"variant_id": ids[sel], "chrom": parts[0].to_numpy(dtype=object),
                        "pos": parts[1].to_numpy().astype(np.int64), "ref": parts[2].to_numpy(dtype=object),
                        "alt": parts[3].to_numpy(dtype=object), "alt_freq": freq[sel]})
    return var, r.astype(np.float32, copy=False)


class _BlockGroup:
    """One block's Zarr v2 group read directly: the entries of its ``.zarr.zip`` (this version's layout)
    or the files of its ``.zarr`` folder (earlier versions), local or on an object store. Only the
    chunks asked for are read and decoded, with the codecs the group's ``.zarray`` names; nothing goes
    through zarr-python's event loop (a thread hand-off per key)."""

    def __init__(self, ld_dir, chrom, start, stop, block_id):
        rel = block_path(chrom, start, stop)
        self.path, self._zip, self._fh, self._fs = storage.join(ld_dir, rel), None, None, None
        remote = storage.is_remote(self.path)
        try:
            if remote:
                fs, key = storage.filesystem(self.path)
                self._fh = fs.open(key, "rb")
            else:
                self._fh = open(self.path, "rb")
            self._zip = zipfile.ZipFile(self._fh)
            self._names = set(self._zip.namelist())
        except FileNotFoundError:
            self.close()
            self.path = storage.join(ld_dir, rel[:-len(".zip")])        # a folder group (earlier versions)
            if not storage.exists(self.path):
                raise InputError(storage.join(ld_dir, rel), f"LD block {block_id} (not in this LD directory)") from None
            if remote:
                self._fs = storage.filesystem(self.path)
        except zipfile.BadZipFile as e:
            self.close()
            raise InputError(self.path, f"an LD block group (a Zarr zip file): {e}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for h in (self._zip, self._fh):
            if h is not None:
                h.close()
        self._zip = self._fh = None

    def get(self, key: str):
        """The bytes of one key of the group, None when absent (a chunk of fill values)."""
        if self._zip is not None:
            return self._zip.read(key) if key in self._names else None
        if self._fs is not None:
            fs, base = self._fs
            try:
                return fs.cat_file(f"{base}/{key}")
            except FileNotFoundError:
                return None
        try:
            with open(os.path.join(self.path, key), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def meta(self, name: str) -> dict:
        raw = self.get(f"{name}/.zarray")
        if raw is None:
            raise InputError(self.path, f"array {name!r} of an LD block group (its {name}/.zarray)")
        meta = json.loads(raw)
        if meta.get("order", "C") != "C" or meta.get("zarr_format") != 2:
            raise InputError(self.path, "a Zarr v2 array in C order", column=name,
                             value=f"order {meta.get('order')}, zarr_format {meta.get('zarr_format')}")
        return meta

    @staticmethod
    def _decode(meta: dict, raw: bytes):
        comp = meta.get("compressor")
        out = numcodecs.get_codec(comp).decode(raw) if comp else raw
        for f in reversed(meta.get("filters") or []):
            out = numcodecs.get_codec(f).decode(out)
        if isinstance(out, np.ndarray) and out.dtype == object:       # vlen strings
            return out
        return np.frombuffer(out, dtype=np.dtype(meta["dtype"]))

    def vector(self, name: str) -> np.ndarray:
        """A whole 1-d array (its chunks in order)."""
        meta = self.meta(name)
        (m,), (c,) = meta["shape"], meta["chunks"]
        parts = []
        for k in range(-(-m // c)):         # loop over the array's chunks (one in this version's layout)
            raw = self.get(f"{name}/{k}")
            n = min(c, m - k * c)
            parts.append(np.full(n, meta["fill_value"], dtype=np.dtype(meta["dtype"]))
                         if raw is None else self._decode(meta, raw)[:n])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.dtype(meta["dtype"]))

    def matrix(self, name: str, sel=None) -> np.ndarray:
        """A 2-d array, whole or its rows and columns ``sel`` (in that order): only their chunks are read."""
        meta = self.meta(name)
        (m, _), (c, c2) = meta["shape"], meta["chunks"]
        sep = meta.get("dimension_separator") or "."
        dtype = np.dtype(meta["dtype"])
        sel = np.arange(m) if sel is None else np.asarray(sel, dtype=np.int64)
        out = np.full((len(sel), len(sel)), meta["fill_value"] or 0, dtype=dtype.newbyteorder("="))
        if c != c2:
            raise InputError(self.path, "square chunks", column=name, value=str(meta["chunks"]))
        which = sel // c
        groups = {int(a): np.flatnonzero(which == a) for a in np.unique(which)}
        for a, ra in groups.items():        # loop over chunk rows and columns, not variants
            for b, rb in groups.items():
                raw = self.get(f"{name}/{a}{sep}{b}")
                if raw is None:
                    continue
                ch = self._decode(meta, raw).reshape(c, c)
                out[np.ix_(ra, rb)] = ch[np.ix_(sel[ra] - a * c, sel[rb] - b * c)]
        return out
