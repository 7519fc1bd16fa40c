"""TWAS: gene-level association from GWAS z-scores and expression weights.

Kernels (functions of frames and arrays, no I/O): :func:`spredixcan` (Barbeira et al. 2018, MetaXcan),
:func:`fusion` (Gusev et al. 2016, FUSION), both computing the variance of predicted expression with
:func:`expression_variance`; :class:`PanelLD` holds a reference panel's LD. Layers, each importing only
those above it: ``variance``, ``panel``, ``results``, ``rowlookup`` -> ``covariance`` -> ``spredixcan``,
``fusion`` -> ``places`` -> ``inputs`` -> ``tasks`` -> ``stage``.
"""
from .fusion import fusion
from .panel import PanelLD
from .spredixcan import spredixcan
from .variance import expression_variance

__all__ = ["spredixcan", "fusion", "PanelLD", "expression_variance"]
