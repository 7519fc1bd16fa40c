"""Pig-like breeding lines simulated with msprime (coalescent with recombination), for checks with a
known truth: causal variants, their effects and the true breeding values.

Two lines split ``split_generations`` ago from one ancestral population, each with a small effective
size as pig lines have (Ne ~ 100); 18 autosomes simulated independently; biallelic SNPs. The
phenotype is y = g + e with g = sum over causal SNPs of their allele count times a normal effect,
scaled to heritability ``h2`` in the whole sample. msprime is an optional dependency (PyPI), imported
only here.

References
----------
Baumdicker F. et al. (2022) Efficient ancestry and mutation simulation with msprime 1.0. Genetics
220:iyab229.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LocusflowError


@dataclass
class SimulatedLines:
    """``markers`` [n, m] allele counts; ``chrom``/``pos`` per marker; ``line`` per animal (0/1);
    ``causal`` marker indices, ``effects``, true breeding values ``tbv`` and phenotypes ``y``."""
    markers: np.ndarray
    chrom: np.ndarray
    pos: np.ndarray
    line: np.ndarray
    causal: np.ndarray
    effects: np.ndarray
    tbv: np.ndarray
    y: np.ndarray
    h2: float


def simulate_lines(n_per_line=(1000, 500), *, n_chrom: int = 18, length: float = 2e7,
                   recombination_rate: float = 5e-8, mutation_rate: float = 2e-8, ne_line: int = 100,
                   ne_ancestral: int = 1000, split_generations: int = 100, markers_per_chrom: int = 600,
                   n_causal: int = 18, h2: float = 0.5, min_maf: float = 0.05, seed: int = 1) -> SimulatedLines:
    """Simulate two pig-like lines, a SNP panel with causal variants on it, and one trait.

    Parameters
    ----------
    n_per_line : tuple of int
        Diploid animals sampled from lines 0 and 1.
    n_chrom, length, recombination_rate, mutation_rate : optional
        Genome: chromosomes of ``length`` bp (default 1 Morgan each).
    ne_line, ne_ancestral, split_generations : int
        Demography.
    markers_per_chrom : int
        SNPs with MAF >= ``min_maf`` kept per chromosome (evenly thinned).
    n_causal : int
        Causal SNPs (on the panel), drawn uniformly among the kept SNPs.
    h2 : float
        Heritability of the trait.
    seed : int

    Returns
    -------
    SimulatedLines
    """
    try:
        import msprime
    except ImportError:
        raise LocusflowError("simulate_lines needs msprime (pip install msprime)") from None
    dem = msprime.Demography()
    dem.add_population(name="A", initial_size=ne_line)
    dem.add_population(name="B", initial_size=ne_line)
    dem.add_population(name="anc", initial_size=ne_ancestral)
    dem.add_population_split(time=split_generations, derived=["A", "B"], ancestral="anc")
    rng = np.random.default_rng(seed)
    mats, chroms, poss = [], [], []
    for c in range(n_chrom):      # loop over chromosomes (each one coalescent simulation)
        ts = msprime.sim_ancestry(samples={"A": n_per_line[0], "B": n_per_line[1]}, demography=dem,
                                  sequence_length=length, recombination_rate=recombination_rate,
                                  random_seed=seed * 1000 + c + 1)
        ts = msprime.sim_mutations(ts, rate=mutation_rate, model=msprime.BinaryMutationModel(),
                                   random_seed=seed * 1000 + c + 1, discrete_genome=True)
        hap = ts.genotype_matrix()                      # [sites, 2n] 0/1
        counts = hap[:, 0::2] + hap[:, 1::2]
        freq = counts.mean(1) / 2
        ok = np.flatnonzero((np.minimum(freq, 1 - freq) >= min_maf))
        take = ok[np.unique(np.linspace(0, len(ok) - 1, min(markers_per_chrom, len(ok))).astype(int))]
        mats.append(counts[take].T.astype(np.int8))
        chroms.append(np.full(take.size, str(c + 1)))
        poss.append(ts.tables.sites.position[take].astype(np.int64) + 1)
    markers = np.concatenate(mats, axis=1)
    line = np.repeat([0, 1], n_per_line)
    causal = np.sort(rng.choice(markers.shape[1], n_causal, replace=False))
    effects = rng.normal(size=n_causal)
    tbv = markers[:, causal].astype(np.float64) @ effects
    tbv = (tbv - tbv.mean()) / tbv.std() * np.sqrt(h2)
    y = tbv + rng.normal(scale=np.sqrt(1 - h2), size=tbv.size)
    return SimulatedLines(markers, np.concatenate(chroms), np.concatenate(poss), line, causal, effects,
                          tbv, y, h2)
