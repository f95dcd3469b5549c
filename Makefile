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

# The tests run the real `age` binary (Debian package `age`) and check the transparency log
# against Go's checksum-database code (golang-go, and golang-golang-x-mod-dev for
# golang.org/x/mod/sumdb under /usr/share/gocode); install whichever is missing.
GOCODE := /usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go
system-deps:
	@missing=""; \
	command -v age >/dev/null || missing="$$missing age"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	[ -f $(GOCODE) ] || missing="$$missing golang-golang-x-mod-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "the tests need:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

pytest: $(STAMP) system-deps
	$(BIN)/pytest -n auto -q

bench: $(STAMP)
	$(BIN)/python benchmarks/payload_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
