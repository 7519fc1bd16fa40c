"""Run in msprime's own environment: a partial selective sweep at the middle of 1 Mb, haplotypes to npz.

    python sim_sweep.py OUT.npz [n_haplotypes] [seed] [length_bp]
"""
import sys

import msprime
import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
L = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
Ne = 10_000
sweep = msprime.SweepGenicSelection(position=L / 2, start_frequency=1.0 / (2 * Ne), end_frequency=0.8,
                                    s=0.05, dt=1e-6)
ts = msprime.sim_ancestry(n // 2, model=[sweep, msprime.StandardCoalescent()], population_size=Ne,
                          sequence_length=L, recombination_rate=1e-8, random_seed=seed)
ts = msprime.sim_mutations(ts, rate=1.5e-8, random_seed=seed, model=msprime.BinaryMutationModel())
h = ts.genotype_matrix().astype(np.int8)
pos = np.floor(ts.tables.sites.position).astype(np.int64) + 1
keep = np.r_[True, np.diff(pos) > 0] & (h.max(1) <= 1)
np.savez(out, h=h[keep], pos=pos[keep], site=int(L / 2) + 1)
