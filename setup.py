"""locusflow: post-GWAS fine-mapping and TWAS on Spark, Dask or one laptop."""
from setuptools import find_packages, setup

# every package under lib/ (stage packages and their subpackages), plus the contracts in schemas/
PACKAGES = find_packages("lib") + ["locusflow.schemas"]

setup(
    name="locusflow",
    version="0.1.0",
    description="Causal variants and genes behind GWAS associations, at genome scale",
    python_requires=">=3.11",          # bio2zarr >= 0.2 requires Python 3.11
    # the dataset contracts live at the top level (schemas/) and install as locusflow.schemas
    package_dir={"": "lib", "locusflow.schemas": "schemas"},
    packages=PACKAGES,
    package_data={"locusflow.schemas": ["*.yaml"], "locusflow.data": ["**/*"]},
    include_package_data=True,
    # Every entry is imported by lib/locusflow; floors are the first release with the API we call.
    install_requires=[
        "numpy>=2.0",              # bio2zarr >= 0.2 requires numpy 2
        "scipy>=1.11",
        "pandas>=2.0,<3",          # pyspark (3.5 to 4.3) does not support pandas 3
        "pyarrow>=15",
        "zarr>=3.1,<3.2",          # Zarr format 2 on disk, zarr-python 3.1.x API
        "numcodecs>=0.15",
        "threadpoolctl>=3.1",
        "tqdm>=4.60",
        "pyyaml>=6",
        "bio2zarr[vcf]>=0.2.1",    # vcf.convert(..., zarr_format=2) is 0.2.1's; 0.1.x pins zarr < 3
        "rdata>=0.11",             # rdata.read_rda (FUSION .wgt.RDat) is new in 0.11
        "liftover>=1.5",           # munge: UCSC chain liftover (io/liftover.py)
        "pysam>=0.22",             # munge --fasta: ref against an indexed (bgzip) genome (io/fasta.py)
        "numba>=0.60",             # compiled loops: BayesC Gibbs sweep (breed), EHH scans (popgen), elastic net
        "fsspec>=2024.2",          # storage.py: every path may be a URI (s3://, gs://, abfss://, hdfs://, dbfs:/)
        "universal-pathlib>=0.3,<0.4",   # storage.as_path: pathlib's API over fsspec (UPath) for URIs
    ],
    extras_require={
        # the spark engine: a laptop installs pyspark with `locusflow[spark]`; on Databricks the runtime's
        # own pyspark (3.5 LTS or 4.x) is used and none is installed (tests/engine/test_pyspark35.py)
        "spark": ["pyspark>=3.5,<4.4"],
        "dask": ["dask[array]>=2024.1"],
        "plots": ["matplotlib>=3.7"],                            # plots/ (FOCUS figures: focus plot: true)
        "fast": ["isal>=1.0", "xxhash>=3"],                      # gzip reads (isal.igzip), content hashes ~7x faster
        # the DNA LM stages; transformers 5 breaks loading; peft: LoRA adapters of `dnalm finetune --mode lora`
        "gpu": ["torch==2.13.0", "transformers>=4.40,<5", "peft>=0.21,<0.22"],
        "sim": ["msprime>=1.3"],                                 # breed.simulate: coalescent genotypes (optional)
        "sc": ["anndata>=0.10"],                                 # twas.train.expression: single-cell .h5ad input
        # object stores (the fsspec backend of each scheme; credentials from its own environment/config)
        "s3": ["s3fs>=2024.2"], "gcs": ["gcsfs>=2024.2"], "azure": ["adlfs>=2024.2"],
        # what `make test` installs: pytest, every engine (dask), the optional parts the tests exercise
        # (matplotlib, xxhash), msprime (simulated truth in tests), selenium (browser tests), anndata (.h5ad),
        # pytest-xdist (make test runs two worker processes), s3fs + moto (the pipeline on a local S3 endpoint),
        # scikit-learn (a peer in tests only: the embedding view's PCA; the package no longer imports it)
        "dev": ["pytest>=8", "pytest-xdist>=3.5", "dask[array]>=2024.1", "matplotlib>=3.7", "xxhash>=3", "msprime>=1.3",
                "selenium>=4.20", "anndata>=0.10",               # selenium: headless Chromium tests
                "s3fs>=2024.2", "moto[server]>=5.0,<6", "scikit-learn>=1.3"],
    },
    entry_points={"console_scripts": ["locusflow=locusflow.cli:main"]},
)
