"""The package version, recorded in every dataset manifest and stage fingerprint."""
__version__ = "0.1.0"
