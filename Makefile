# wsnb — the two commands are `make demo` and `make test`; each builds .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (wsnb)" >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/wsnb demo

test: $(STAMP)
	$(BIN)/python -m ruff check wsnb tests bench examples
	$(BIN)/python -m ruff format --check wsnb tests bench examples
	$(BIN)/python -m mypy
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check wsnb tests bench examples
	$(BIN)/python -m ruff format --check wsnb tests bench examples
	$(BIN)/python -m mypy

format: $(STAMP)
	$(BIN)/python -m ruff format wsnb tests bench examples
	$(BIN)/python -m ruff check --fix wsnb tests bench examples

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
