"""One block id in every dataset that names a block: ld, twas, finemap and focus outputs of one run join
on ``block_id`` (ld.blocks.block_id, ``chrom:start-stop`` of the 1-based half-open block)."""
import numpy as np
import pandas as pd
import pytest

from locusflow.io.dataset import read_dataset
from locusflow.layout import dataset_path
from viz_run import example_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("viz"))


def test_ld_twas_finemap_focus_join_on_block_id(run):
    cfg = {"out": str(run)}
    ld = read_dataset(dataset_path(cfg, "ld_blocks"), "ld_blocks")
    twas = read_dataset(dataset_path(cfg, "twas_results"), "twas_results")
    fm = read_dataset(dataset_path(cfg, "finemap_blocks"), "finemap_block")
    focus = read_dataset(dataset_path(cfg, "focus_results"), "focus_results")
    ids = pd.Index(ld["block_id"])
    assert ids.is_unique and ids.str.fullmatch(r"\w+:\d+-\d+").all()
    # the id is the block's own interval
    parts = ld["block_id"].str.extract(r"^(\w+):(\d+)-(\d+)$")
    assert (parts[0] == ld["chrom"]).all()
    assert (parts[1].astype(int) == ld["start"]).all() and (parts[2].astype(int) == ld["stop"]).all()
    # every other stage names blocks of the ld stage, and each joins on at least one
    for name, frame in (("twas", twas), ("finemap", fm), ("focus", focus)):
        bids = frame["block_id"].dropna()
        assert len(bids), name
        assert bids.isin(ids).all(), (name, sorted(set(bids) - set(ids))[:3])
    joined = (fm[["block_id"]].drop_duplicates()
              .merge(twas[["block_id", "model_id"]], on="block_id")
              .merge(focus[["block_id", "model_id", "pip"]], on=["block_id", "model_id"])
              .merge(ld[["block_id", "n_variants"]], on="block_id"))
    assert len(joined) > 0 and np.isfinite(joined["pip"]).all()
    # a twas model's block holds its position, by the one rule start <= pos < stop
    placed = twas.dropna(subset=["block_id"]).merge(ld[["block_id", "start", "stop"]], on="block_id")
    assert len(placed) == twas["block_id"].notna().sum()


def test_end_of_run_summary_names_top_genes_and_credible_sets(run):
    """The summary `locusflow run` prints reads the published datasets (a column renamed in a schema
    shows up here as an error line, not a gene)."""
    import io
    from locusflow.summary import print_summary
    buf = io.StringIO()
    print_summary({"out": str(run)}, {s: {} for s in ("twas", "finemap", "focus")}, file=buf)
    text = buf.getvalue()
    assert "no summary" not in text and "Error" not in text, text
    focus = read_dataset(dataset_path({"out": str(run)}, "focus_results"), "focus_results")
    top = focus[focus["model_id"] != "NULL.MODEL"].sort_values("pip", ascending=False).iloc[0]
    assert f"{top['mol_name']} ({top['tissue']}): PIP {top['pip']:.3f}" in text
    assert "credible sets" in text and "lead " in text
    # the finemap line: blocks from the dataset's manifest, the lead's PIP from finemap_snp
    cfg = {"out": str(run)}
    blocks = read_dataset(dataset_path(cfg, "finemap_blocks"), "finemap_block")
    cs = read_dataset(dataset_path(cfg, "finemap_cs"), "finemap_cs")
    assert f"{len(blocks)} blocks with signal fine-mapped, {len(cs)} credible sets" in text
    snp = read_dataset(dataset_path(cfg, "finemap_snp"), "finemap_snp", columns=["variant_id", "pip"])
    lead = cs.iloc[0]["lead_variant"]
    assert f"lead {lead} (PIP {snp.loc[snp['variant_id'] == lead, 'pip'].iloc[0]:.3f})" in text
