"""locusflow: causal variants and genes behind GWAS associations, at genome scale.

Pure numpy kernels per work unit (an LD block, a gene, a batch of variants); Spark, Dask and an
in-process loop only shard them (see ``locusflow.engine``). Every dataset's contract is in ``schemas/``.
"""
from .logs import get_logger, logger
from .version import __version__
