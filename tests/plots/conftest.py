import pytest

from viz_run import example_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("viz"))
