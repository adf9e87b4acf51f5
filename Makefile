# Quick start: `make run` (the embedded default) and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamps carry a checksum of pyproject.toml, setup.py and the modules mypyc compiles (listed in
# tokentrail/compiled.py): a changed dependency list reinstalls, a changed hot module recompiles.
COMPILED := $(shell sed -n 's/^    "\(.*\.py\)",$$/\1/p' tokentrail/compiled.py)
SUM := $(shell cat pyproject.toml setup.py tokentrail/compiled.py $(COMPILED) | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.run-$(SUM)
TEST_STAMP := $(VENV)/.test-$(SUM)

# Compiled modules from an earlier build: removed first, so that none outlives its source.
CLEAN_SO := find . -name '*.so' -not -path './$(VENV)/*' -delete

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml setup.py tokentrail/compiled.py $(COMPILED) | $(BIN)/python
	$(CLEAN_SO)
	$(BIN)/python -m pip install -q -e .
	$(BIN)/tokentrail --version
	touch $@

$(TEST_STAMP): pyproject.toml setup.py tokentrail/compiled.py $(COMPILED) | $(BIN)/python
	$(CLEAN_SO)
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/tokentrail --version
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/tokentrail run

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

bench: $(TEST_STAMP)
	for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) tokentrail-out tokentrail-state .pytest_cache .ruff_cache .mypy_cache build
	$(CLEAN_SO)
