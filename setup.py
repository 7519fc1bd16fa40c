"""locusflow: post-GWAS fine-mapping and TWAS on Spark, Dask or one laptop."""
from setuptools import find_packages, setup

# every package under lib/ (stage packages and their subpackages), plus the contracts in schemas/
PACKAGES = find_packages("lib") + ["locusflow.schemas"]

setup(
    name="locusflow",
    version="0.1.0",
    description="Causal variants and genes behind GWAS associations, at genome scale",
    python_requires=">=3.10",
    # the dataset contracts live at the top level (schemas/) and install as locusflow.schemas
    package_dir={"": "lib", "locusflow.schemas": "schemas"},
    packages=PACKAGES,
    package_data={"locusflow.schemas": ["*.yaml"], "locusflow.data": ["**/*"]},
    include_package_data=True,
    install_requires=[
        "numpy>=1.26",
        "scipy>=1.11",
        "pandas>=2.0,<3",          # pyspark 4.3 does not support pandas 3
        "pyarrow>=15",
        "pyspark>=4.0,<4.4",
        "zarr>=3.1,<3.2",          # Zarr format 2 on disk, zarr-python 3.1.x API
        "numcodecs>=0.15",
        "threadpoolctl>=3.1",
        "tqdm>=4.60",
        "pyyaml>=6",
        "scikit-learn>=1.3",
        "matplotlib>=3.7",
        "bio2zarr[vcf]>=0.1.5",
        "rdata>=0.11",
        "liftover>=1.5",           # munge: UCSC chain liftover (io/liftover.py)
        "pysam>=0.22",             # munge --fasta: ref against an indexed (bgzip) genome (io/fasta.py)
        "numba>=0.60",             # compiled sequential loops: BayesC Gibbs sweep (breed), EHH scans (popgen)
    ],
    extras_require={
        "dask": ["dask[array]>=2024.1"],
        "gpu": ["torch==2.13.0", "transformers>=4.40"],
        "fast": ["xxhash>=3"],      # content hashes (locusflow.checksum) ~7x faster than blake2b
        "dev": ["pytest>=8", "dask[array]>=2024.1", "msprime>=1.3", "xxhash>=3"],   # msprime: simulated truth in tests
    },
    entry_points={"console_scripts": ["locusflow=locusflow.cli:main"]},
)
