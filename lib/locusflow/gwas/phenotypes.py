"""Phenotype and covariate tables: moved to :mod:`locusflow.io.phenotypes` (read by gwas, twas, breed);
these names stay importable from here."""
from __future__ import annotations

from ..io.phenotypes import GwasSamples, align_samples, check_covariates, is_binary, read_table

__all__ = ["GwasSamples", "align_samples", "check_covariates", "is_binary", "read_table"]
