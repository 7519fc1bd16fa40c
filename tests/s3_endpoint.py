"""A local S3 endpoint for tests: moto's server bound to 127.0.0.1 on a port chosen when tests start.

The port and the (fake) credentials are fixed at import, so the one Spark session of the test run can
hand them to its Python workers (``spark.executorEnv.*``); the server itself runs only while a test that
uses the ``s3`` fixture runs (started and stopped by the fixture). The package reads the endpoint the
standard way (``AWS_ENDPOINT_URL``), as it would a real S3-compatible store's.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = _free_port()
ENV = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORT}", "AWS_ACCESS_KEY_ID": "testing",
       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def s3_server():
    """Start moto's S3 server on 127.0.0.1:PORT with :data:`ENV` set; yield a fresh bucket URI; stop it."""
    import pytest
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
    srv.start()
    try:
        import fsspec
        fsspec.filesystem("s3", skip_instance_cache=True).mkdir(bucket := f"lf-{uuid.uuid4().hex[:8]}")
        yield f"s3://{bucket}"
    finally:
        srv.stop()
        import fsspec
        fsspec.filesystem("s3").clear_instance_cache()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
