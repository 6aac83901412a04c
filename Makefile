# Quick start: `make demo` and `make test` on a bare machine with python3.
# Every target sets up what it needs: a virtual environment with pinned dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXTRAS := jwt,aws,saml,dev
SAM_VENV  := .tools/sam
SAM_STAMP := $(SAM_VENV)/.installed-stamp
SAM       := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
RIE_VENV  := .tools/rie
RIE_STAMP := $(RIE_VENV)/.installed-stamp
# sam build needs the Lambda runtime's Python on PATH: pyenv's 3.12 if present (its shim
# alone does not run), else a python3.12 that actually starts.
PYTHON312 ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 2>/dev/null) \
	$$(command -v python3.12); do "$$p" -c pass 2>/dev/null && { echo "$$p"; break; }; done)

# Lambda layer zips (make layer): the runtime's Python, 3.11, 3.12 or 3.13.
LAYER_PYTHON ?= 3.12

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint typecheck unit template bench lock clean rie rie-tools events layer

help:
	@echo "make demo       set up, then run the JWT authorizer end to end on loopback (offline)"
	@echo "make test       set up, then lint, type check, sam validate/build, the test suite, the layer zips and the RIE run"
	@echo "make lint       ruff check and ruff format --check"
	@echo "make typecheck  mypy --strict"
	@echo "make unit       the test suite only"
	@echo "make template   sam validate --lint and sam build of sam-template.yaml"
	@echo "make layer      layer zips in dist/ (full, slim; x86_64, arm64; LAYER_PYTHON=3.12), sizes, canary"
	@echo "make rie        run every built function under the Lambda Runtime Interface Emulator (no Docker)"
	@echo "make rie-tools  the Python 3.12 with awslambdaric that the emulator starts (.tools/rie)"
	@echo "make bench      measure per-request and per-principal-class costs (numbers, no pass/fail)"
	@echo "make events     (re)write events/*.json and env.json for local invocation (re-signs SigV4 and SAML)"
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

$(SAM_STAMP): constraints-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r constraints-sam.txt
	@touch $@

template: $(SAM_STAMP)
	$(SAM) validate --lint -t sam-template.yaml
	@test -n "$(PYTHON312)" || { echo "sam build needs python3.12 on PATH (or under pyenv)"; exit 1; }
	PATH="$(dir $(PYTHON312)):$$PATH" $(SAM) build -t sam-template.yaml -b build/sam

# The Lambda runtime's Python with awslambdaric, for authorizers invoke --rie and make rie.
$(RIE_STAMP): constraints-rie.txt
	@test -n "$(PYTHON312)" || { echo "the emulator needs python3.12 (or one under pyenv)"; exit 1; }
	$(PYTHON312) -m venv $(RIE_VENV)
	$(RIE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r constraints-rie.txt
	@touch $@

rie-tools: $(RIE_STAMP)

# The sam build output under the real runtime interface, every handler (tests marked rie).
rie: venv template rie-tools
	$(BIN)/pytest -m rie tests/integration

# Both architectures and variants from manylinux wheels; fails over budget or on a failed canary.
layer: venv
	$(BIN)/python layer/build.py --python $(LAYER_PYTHON) --arch x86_64 --arch arm64 --variant full --variant slim --out dist

test: lint typecheck template unit layer rie

bench: venv
	$(BIN)/python benchmarks/run.py

# SigV4 and SAML events are time-bound: run again before invoking them.
events: venv
	$(BIN)/python -m events.generate

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	{ echo "# Pinned versions for every environment the Makefile builds (pip install -c constraints.txt)."; \
	  echo "# Regenerate: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
