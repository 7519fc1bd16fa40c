"""Fixtures of the TWAS tests."""
import pytest


@pytest.fixture(scope="module")
def mxdata(realdata):
    """The real GTEx PredictDB test models (MetaXcan's own test data, ../shared/realdata)."""
    d = realdata / "metaxcan_test_models"
    if not d.exists():
        pytest.skip("metaxcan_test_models absent")
    return d
