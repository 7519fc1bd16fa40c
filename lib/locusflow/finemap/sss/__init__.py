"""FINEMAP's shotgun stochastic search (Benner et al. 2016) and its exact enumeration oracle.

Modules: :mod:`.bayes` (Bayes factor and configuration prior), :mod:`.region` (one region's z, R,
prior and vectorised neighbourhood scores), :mod:`.keyset` and :mod:`.store` (every configuration
evaluated, kept once), :mod:`.search` (the SSS), :mod:`.exhaustive` (enumeration), :mod:`.results`
(.snp / .config / .cred tables). Kernels only: functions of arrays, no Spark, no files.
"""
from .exhaustive import finemap_exhaustive
from .results import FinemapResult
from .search import finemap_sss

__all__ = ["finemap_sss", "finemap_exhaustive", "FinemapResult"]
