"""locusflow: causal variants and genes behind GWAS associations, at genome scale.

Pure numpy kernels per work unit (an LD block, a gene, a batch of variants); Spark, Dask and an
in-process loop only shard them (see ``locusflow.engine``). Every dataset's contract is in ``schemas/``.
"""
import logging

__version__ = "0.1.0"

logger = logging.getLogger("locusflow")
if not logger.handlers:
    _h = logging.StreamHandler()
    _h.setFormatter(logging.Formatter("%(asctime)s locusflow %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(_h)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def get_logger(name: str = "") -> logging.Logger:
    """The one logger of the package (``locusflow.<name>``)."""
    return logger.getChild(name) if name else logger
