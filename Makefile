# The two entry points of the README: `make demo` and `make test`.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP_FLAGS ?= --progress-bar off
TEST_WORKERS ?= 2      # pytest-xdist processes (each with its own Spark session); 0 = in one process

.PHONY: venv demo test bench clean

$(BIN)/locusflow: setup.py
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (Python 3.11) on PATH" >&2; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing locusflow into $(VENV) (pyspark is a ~450 MB source package: a few minutes on a fresh machine)"
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install $(PIP_FLAGS) -e '.[dev,dask,gpu,spark]'
	touch $(BIN)/locusflow

venv: $(BIN)/locusflow

demo: venv
	$(BIN)/locusflow run conf/example.yaml

test: venv
	$(BIN)/python -m pytest -q -ra --durations=15 -n $(TEST_WORKERS) --dist loadfile tests

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf out .pytest_cache spark-warehouse
