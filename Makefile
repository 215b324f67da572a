# Two entry points for a fresh machine (see README):
#   make demo  - JupyterLab with the workshop notebooks on the offline sample world
#   make test  - every test (Python, JavaScript, and JupyterLab in Debian Chromium)
# Each target installs what it needs: .venv, the package with its JS build, test tools,
# and Debian's chromium for the browser tests.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.dkist-widgets-installed
JS_SRC := $(shell find js/src -name '*.ts') js/build.mjs js/package.json js/package-lock.json
BUNDLE := dkist_widgets/static/world_status.js
PYTEST_ARGS ?=

.PHONY: demo test test-python test-js setup chromium clean-venv lint docs test-oldest

setup: $(STAMP) $(BUNDLE)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The editable install runs hatch-jupyter-builder, which runs `npm install` and the
# esbuild bundle in js/ (a wheel built for users carries the bundle: no npm needed).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# `npm ci`: installs exactly the committed lock (which lists every platform's optional
# packages, so npm never rewrites it) and leaves the working tree clean.
js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund

# Rebuild the bundle whenever a TypeScript source changed since the last build.
$(BUNDLE): $(JS_SRC) js/node_modules/.package-lock.json
	cd js && npm run build
	touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: setup
	$(VENV)/bin/dkist-widgets demo

test-js: js/node_modules/.package-lock.json
	cd js && npx tsc --noEmit && npm test --silent

test-python: setup chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (lint + format check) through pre-commit's local hooks, so `pre-commit install`
# gives contributors exactly what CI checks.
lint: setup
	$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

# The documentation site, warnings as errors; the workshop notebooks are executed on
# the sandbox while it builds.
docs: setup
	rm -rf docs/_build
	$(PY) -m sphinx -b html -W --keep-going -q docs docs/_build/html

# The kernel-side tests on the lowest versions pyproject.toml declares (.venv-oldest).
OLDEST := .venv-oldest
test-oldest: $(BUNDLE)
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(PY) tools/lowest_constraints.py sandbox lab > $(OLDEST)/constraints.txt
	$(OLDEST)/bin/python -m pip install --quiet -c $(OLDEST)/constraints.txt ".[sandbox,lab]" \
	  "pytest>=8" "pytest-timeout>=2.3" "hypothesis>=6.100" "nbclient>=0.10" "nbformat>=5.10" "responses>=0.25"
	$(OLDEST)/bin/python tools/lowest_constraints.py sandbox lab | $(OLDEST)/bin/python tools/check_installed.py
	$(OLDEST)/bin/python -m pytest tests --ignore=tests/browser -m "not slow" -q -p no:cacheprovider $(OLDEST_ARGS)

test: lint test-js docs test-python

clean-venv:
	rm -rf $(VENV)
