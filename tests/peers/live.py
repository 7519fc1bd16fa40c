"""GitHub peers that run only where their sources are present (MetaXcan, FUSION).

Their outputs on fixed inputs are committed fixtures (tests/fixtures/twas, made by
bench/regen_twas_fixtures.py), so the agreement tests run on every machine. The live comparisons, which run
the peer itself, are marked ``@pytest.mark.live_peer("metaxcan" | "fusion")``: they are collected where the
peer's sources are present and left out of the run (deselected, and said so in one line at the end, never
skipped) where they are not. Point $LOCUSFLOW_METAXCAN / $LOCUSFLOW_FUSION at a ``git archive`` of
hakyimlab/MetaXcan / gusevlab/fusion_twas to run them.
"""
from __future__ import annotations

import os
from pathlib import Path

from peers.venv import PEERS

METAXCAN = Path(os.environ.get("LOCUSFLOW_METAXCAN", PEERS / "MetaXcan"))
FUSION = Path(os.environ.get("LOCUSFLOW_FUSION", PEERS / "fusion_twas"))

# peer -> (its sources, the files that must be there for it to run)
SOURCES = {
    "metaxcan": (METAXCAN, ("software/SPrediXcan.py",)),
    "fusion": (FUSION, ("FUSION.assoc_test.R", "utils/plink_utils.R")),
}


def present(peer: str) -> bool:
    """Whether ``peer``'s sources are here (all of its required files)."""
    root, files = SOURCES[peer]
    return all((root / f).exists() for f in files)


def where(peer: str) -> Path:
    """The folder looked in for ``peer``'s sources."""
    return SOURCES[peer][0]
