"""TWAS LD blocks: BED coordinates as the ld and finemap stages read them (a model whose median position
is a block edge lands in the block those stages give that position), and batching consecutive blocks into
one work unit leaves every result unchanged."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.io.dataset import read_dataset, write_dataset
from locusflow.ld.blocks import assign_blocks as ld_assign
from locusflow.ld.blocks import locate_blocks, read_block_bed, resolve_blocks
from locusflow.schema import load
from locusflow.twas.places import model_positions
from locusflow.twas.tasks import twas_units

from twas_stage_inputs import inputs, run_stage  # noqa: F401  (module fixture: panel, sumstats, weights DB)

# LDetect style: header, 'chr' prefix, consecutive blocks sharing their boundary, then a gap
BED = "chr\tstart\tstop\nchr20\t1000\t2000\nchr20\t2000\t3000\nchr20\t3500\t4000\n"
EDGES = [1000, 1001, 1999, 2000, 2001, 3000, 3001, 3500, 3501, 4000, 4001]


def weights_at(medians) -> pd.DataFrame:
    """One model per median: SNPs at m - 7, m, m + 7 on chr20 (median m), plus one on chr22 (a minority
    chromosome, not its place)."""
    rows = []
    for k, m in enumerate(medians):
        for p, c in ((m - 7, "20"), (m, "20"), (m + 7, "20"), (5_000_000 + k, "22")):
            rows.append({"model_id": f"M{m}", "gene": f"G{m}", "tissue": "t", "chrom": c, "pos": p,
                         "effect_allele": "A", "other_allele": "G", "weight": 0.1, "weight_row": len(rows)})
    w = pd.DataFrame(rows)
    for c in load("weights").names:
        if c not in w:
            w[c] = None
    return w


def test_block_edges_as_ld_stage(tmp_path):
    bed = tmp_path / "blocks.bed"
    bed.write_text(BED)
    blocks = resolve_blocks(bed)
    # BED rows are 0-based half-open: row 'chr20 s e' holds the 1-based positions s < pos <= e
    truth = {p: next((f"20:{s + 1}-{e + 1}" for s, e in ((1000, 2000), (2000, 3000), (3500, 4000)) if s < p <= e),
                     None) for p in EDGES}
    assert truth[2000] == "20:1001-2001" and truth[2001] == "20:2001-3001" and truth[3500] is None
    mp = model_positions(weights_at(EDGES))
    assert (mp["chrom"] == "20").all()
    np.testing.assert_array_equal(mp["pos"], EDGES)
    got = dict(zip(mp["model_id"], locate_blocks(mp["chrom"], mp["pos"], blocks)))
    assert got == {f"M{p}": truth[p] for p in EDGES}
    # the ld stage (and finemap, which reads BEDs with the same function) on variants at those positions:
    # inside a BED block the same block and block_id; in a gap ld makes a block of its own and TWAS none
    # (before the first / after the last block ld widens the edge block, which would change its id)
    inner = EDGES[1:-1]
    _, of = ld_assign(pd.DataFrame({"chrom": "20", "pos": inner}), read_block_bed(bed), n_samples=1)
    assert [b if truth[p] else None for p, b in zip(inner, of)] == [truth[p] for p in inner]
    assert set(of[[truth[p] is None for p in inner]]) == {"20:3001-3501"}
    # the work units put each model in the block of its median (a weights dataset, as the stage reads it)
    write_dataset(weights_at(EDGES), tmp_path / "weights", "weights")
    units = twas_units(tmp_path / "weights", blocks, per_unit=2, max_cost=1e9)
    placed = {m: blk[0] for u in units for blk in u["blocks"] for m in blk[3]}
    assert placed == {k: b for k, b in got.items() if b}
    assert [len(u["blocks"]) for u in units] == [2, 1]
    # default cost cap 2 x mean block cost (SNPs^2: 9^2, 6^2, 6^2): the first block alone, then two
    assert [len(u["blocks"]) for u in twas_units(tmp_path / "weights", blocks, per_unit=2)] == [1, 2]
    assert all(u["lo"] == min(p - 7 for p in EDGES if truth[p] and truth[p] in {b[0] for b in u["blocks"]})
               for u in units)


def test_bed_errors(tmp_path):
    (tmp_path / "b.bed").write_text("20 1000 2000\n20 1500 2500\n")
    with pytest.raises(InputError, match=r"b.bed, row 2, column 'start'.*non-overlapping"):
        resolve_blocks(tmp_path / "b.bed")
    with pytest.raises(InputError, match="nope.bed"):
        resolve_blocks(tmp_path / "nope.bed")


def test_batched_units_equal_one_block_per_unit(inputs, tmp_path):  # noqa: F811
    """Blocks batched per unit (default) give the results of one block per unit, spredixcan and fusion; also
    when a model has an rsid-only SNP whose rsid the GWAS holds outside the model's block but inside the
    unit (S-PrediXcan then keeps that block's own call: the SNP stays 'not_in_gwas', as alone)."""
    import shutil
    import sqlite3
    for method in ("spredixcan", "fusion"):
        s1, a = run_stage(inputs, tmp_path / f"one_{method}", method=method, window_kb=100, blocks_per_unit=1)
        s2, b = run_stage(inputs, tmp_path / f"batch_{method}", method=method, window_kb=100, blocks_per_unit=4)
        assert s1["units"] == a["block_id"].nunique() > s2["units"] > 1
        assert a["model_id"].is_unique and len(a) == 24
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0)
    # a GWAS SNP of another block of the same unit renamed rs999999999, and rs999999999 added to a model's weights
    wts = read_dataset(tmp_path / "one_spredixcan" / "twas" / "weights", "weights")
    units = twas_units(tmp_path / "one_spredixcan" / "twas" / "weights", None, per_unit=4, window=100_000)
    u = next(u for u in units if len(u["blocks"]) >= 2)
    (m1, b2) = u["blocks"][0][3][0], u["blocks"][1]
    target = int(wts.loc[wts["model_id"].isin(b2[3]), "pos"].min())
    d = tmp_path / "mod"
    d.mkdir()
    ss = inputs["sumstats"].copy()
    i = int(np.flatnonzero((ss["chrom"] == u["chrom"]).to_numpy() & (ss["pos"] == target).to_numpy())[0])
    ss.loc[i, "rsid"] = "rs999999999"
    write_dataset(ss, d / "sumstats", "sumstats")
    (d / "genotypes.vcz").symlink_to(inputs["tmp"] / "genotypes.vcz")
    db = shutil.copy(inputs["db"], d / "mod.db")
    con = sqlite3.connect(db)
    con.execute("insert into weights (rsid, gene, weight, ref_allele, eff_allele) values (?, ?, 0.3, ?, ?)",
                ("rs999999999", m1.split("@")[0], ss.loc[i, "ref"], ss.loc[i, "alt"]))
    con.commit()
    con.close()
    mod = {"tmp": d, "db": db, "cov": inputs["cov"]}
    _, a = run_stage(mod, tmp_path / "mod_one", window_kb=100, blocks_per_unit=1)
    _, b = run_stage(mod, tmp_path / "mod_batch", window_kb=100, blocks_per_unit=4)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0)
    row = a[a["gene"] == m1.split("@")[0]].iloc[0]
    assert "rs999999999:not_in_gwas" in row["snps_dropped"]
