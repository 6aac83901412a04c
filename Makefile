# Quick start: `make demo` and `make test` on a bare machine with python3.
# Every target sets up what it needs: a virtual environment with pinned dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXTRAS := jwt,dev

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint typecheck unit lock clean

help:
	@echo "make demo       set up, then run the JWT authorizer end to end on loopback (offline)"
	@echo "make test       set up, then lint, type check and run the whole test suite"
	@echo "make lint       ruff check and ruff format --check"
	@echo "make typecheck  mypy --strict"
	@echo "make unit       the test suite only"
	@echo "make lock       re-pin constraints.txt from a fresh resolution"
	@echo "make clean      remove the virtual environment and caches"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[$(EXTRAS)]'
	@touch $@

venv: $(STAMP)

demo: venv
	$(BIN)/authorizers demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest

test: lint typecheck unit

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	{ echo "# Pinned versions for every environment the Makefile builds (pip install -c constraints.txt)."; \
	  echo "# Regenerate: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
