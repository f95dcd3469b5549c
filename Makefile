# Kluis: `make run` starts the server on 127.0.0.1:8000 (SQLite + files under ./data), with the
# web client at http://127.0.0.1:8000/; `make test` runs the whole test command. Both create
# .venv on first use, and install the web client's npm packages (web/node_modules) from the lock.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

# The web client (web/, TypeScript): `make web` builds its bundle into server/web/static/, which
# the server serves at / and which ships inside the wheel; `make web-test` type-checks it and runs
# its tests (every vector of tests/vectors/) under Node's test runner.
WEB_MODULES := web/node_modules/.installed
WEB_BUNDLE := server/web/static/index.html
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/tsconfig.json vault/data/common-passwords.txt

.PHONY: run test lint typecheck contracts audit pytest system-deps node-deps browser-deps web web-test web-e2e bench clean

# `make run` needs only the package; the test tools (mypy, moto, schemathesis, ...) come on top
# for `make test`.
$(RUN_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(RUN_STAMP) $(WEB_BUNDLE)
	$(BIN)/kluis server --host 127.0.0.1 --port 8000 --data-dir ./data

test: $(STAMP) lint typecheck contracts audit web-test pytest web-e2e

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

# --dist loadscope: each test module runs on one worker, so a module's server process and the
# accounts it registers (module-scoped fixtures) are set up once, not once per worker
# (docs/performance.md, "The test command").
# compileall: the tests start hundreds of `kluis` and server processes; with
# PYTHONDONTWRITEBYTECODE set (as on the development machine) each compiled this project's
# modules again (about 0.07 CPU-s for the client). The .pyc files are ignored by git.
pytest: $(STAMP) system-deps $(WEB_BUNDLE)
	$(BIN)/python -m compileall -q -j 0 vault server client_sdk
	$(BIN)/pytest -n auto --dist loadscope -q

# Node and npm (Debian packages `nodejs` and `npm`, Node 18 or later); install them when missing.
node-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else echo "the web client needs Node and npm: sudo apt-get install nodejs npm"; exit 1; fi; }

# npm ci installs exactly web/package-lock.json (no install scripts: web/.npmrc); again when the
# lock or package.json changed.
$(WEB_MODULES): web/package-lock.json web/package.json | node-deps
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_MODULES)

web: $(WEB_BUNDLE)

$(WEB_BUNDLE): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && node build.mjs

web-test: $(WEB_MODULES)
	cd web && ./node_modules/.bin/tsc --noEmit
	cd web && node build.mjs --tests
	cd web && node --test --test-reporter=spec build/test/*.test.mjs

# The browser tests drive Debian's Chromium (package `chromium`) with playwright-core, and run
# the vector suite in Debian's Firefox ESR (package `firefox-esr`) with puppeteer-core over
# WebDriver BiDi; install whichever is missing (no browser is downloaded by npm).
browser-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v firefox-esr >/dev/null || missing="$$missing firefox-esr"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "the browser tests need:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# The web app end to end (web/e2e/): each test file starts its own `kluis server` on a free
# loopback port with a temporary data directory and drives the built page in headless
# Chromium (axe-core checks, screenshots in web/build/screenshots/, the `kluis` CLI and the
# operator's tampering against the same server); vectors.test runs every file of tests/vectors/
# in Firefox ESR and in Chromium. One file at a time: the machine has 2 cores.
web-e2e: $(STAMP) $(WEB_BUNDLE) browser-deps
	cd web && node build.mjs --e2e
	cd web && node --test --test-concurrency=1 --test-reporter=spec build/e2e/*.test.mjs

bench: $(STAMP)
	$(BIN)/python benchmarks/payload_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules web/build server/web/static
