# wsnb — the two commands are `make demo` and `make test`; each builds .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AIRFLOW_STAMP := $(VENV)/.installed-airflow

.PHONY: demo test test-fast bench lint format strip-notebooks venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (wsnb)" >/dev/null
	touch $(STAMP)

# `make test` also runs examples/airflow/'s fleet DAG (tests/test_airflow.py): the airflow-test
# extra, Airflow 3 and its papermill provider, ~130 packages / ~450 MB, ~45 s of CPU to install.
# `make demo` does without it.
$(AIRFLOW_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,airflow-test]'
	touch $(AIRFLOW_STAMP)

demo: $(STAMP)
	$(BIN)/wsnb demo

PYTEST_ARGS ?= --durations=20

test: $(AIRFLOW_STAMP)
	$(BIN)/python -m ruff check wsnb tests bench examples
	$(BIN)/python -m ruff format --check wsnb tests bench examples
	$(BIN)/python -m mypy
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

# The quick loop: the suite without tests marked `slow` (> ~2 s: papermill runs, kernels,
# subprocesses, big frames) or `browser` (Chromium); no ruff/mypy (see `make lint`).
test-fast: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check wsnb tests bench examples
	$(BIN)/python -m ruff format --check wsnb tests bench examples
	$(BIN)/python -m mypy

format: $(STAMP)
	$(BIN)/python -m ruff format wsnb tests bench examples
	$(BIN)/python -m ruff check --fix wsnb tests bench examples

# The working notebooks are committed without outputs, counts, timing or widget state (README,
# "Notebook outputs in git"); cell tags such as `parameters` stay.
strip-notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace \
	  --ClearOutputPreprocessor.remove_metadata_fields='["collapsed","scrolled","execution"]' \
	  --ClearMetadataPreprocessor.enabled=True --ClearMetadataPreprocessor.clear_cell_metadata=False \
	  --ClearMetadataPreprocessor.preserve_nb_metadata_mask='["kernelspec","language_info"]' \
	  notebooks/select_and_delete.ipynb notebooks/scheduled_cleanup.ipynb

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
