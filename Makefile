# Kluis: `make run` starts the server on 127.0.0.1:8000 (SQLite + files under ./data);
# `make test` runs the whole test command. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts audit pytest system-deps bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kluis server --host 127.0.0.1 --port 8000 --data-dir ./data

test: $(STAMP) lint typecheck contracts audit pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# Known vulnerabilities in the installed dependencies (PyPI's advisory data). A package the
# service does not know is reported as "could not be audited", not as a failure.
audit: $(STAMP)
	$(BIN)/pip-audit --progress-spinner off --local

# The tests run the real `age` binary (Debian package `age`); install it when missing.
system-deps:
	@command -v age >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age; \
	  else echo "the tests need the age binary: sudo apt-get install age"; exit 1; fi; }

pytest: $(STAMP) system-deps
	$(BIN)/pytest -n auto -q

bench: $(STAMP)
	$(BIN)/python benchmarks/payload_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
