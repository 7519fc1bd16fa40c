"""SNP-level fine-mapping: SuSiE-RSS (:func:`susie_rss`), FINEMAP's shotgun stochastic search
(:func:`finemap_sss`, subpackage :mod:`.sss`), credible sets, z-vs-LD checks, functional priors.

Kernels are functions of arrays (no Spark, no files); :mod:`.task` loads one LD block's inputs and calls
them; :mod:`.stage` registers the pipeline stage. (FOCUS, gene level, lives in ``locusflow.focus``.)
"""
from .sss import finemap_exhaustive, finemap_sss
from .susie import susie_rss

__all__ = ["susie_rss", "finemap_sss", "finemap_exhaustive"]
