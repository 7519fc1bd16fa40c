"""Read an LDSC-style sumstats file with pyfocus's own GWAS parser (run in the pyfocus venv); print rows,
the first SNP and the sum of Z (argv: file)."""
import sys

from pyfocus.data.gwas import GWAS

g = GWAS.parse_gwas(sys.argv[1])
print(len(g), g["SNP"].iloc[0], repr(float(g["Z"].sum())), ",".join(g.columns))
