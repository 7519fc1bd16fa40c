"""The package logger does not propagate to the root logger; this fixture hands its records to caplog."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture
def warnings_log(caplog):
    """caplog with the records of the ``locusflow`` logger."""
    lg = logging.getLogger("locusflow")
    lg.addHandler(caplog.handler)
    yield caplog
    lg.removeHandler(caplog.handler)
