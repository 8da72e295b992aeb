# JESIP Learn. `make run` serves the site; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Plain http on loopback for development; production serves https and keeps cookies Secure.
export SESSION_COOKIE_SECURE ?= 0
# Emails print whole to the terminal (links and all) unless an SMTP server is set.
export MAIL_BACKEND ?= $(if $(SMTP_HOST),smtp,console)
# The site's own address, which every link in an email starts with (the site will not start
# without it), and the host names it answers to.
export SITE_URL ?= http://$(HOST):$(PORT)
export TRUSTED_HOSTS ?= $(HOST),localhost

.PHONY: run serve setup demo test test-suite test-unit screenshots lint bench scan clean-venv vendor-frontend fingerprint-static chromium

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The learning record store the xAPI tests send to, in a virtual environment of its own.
RALPH_VENV := .venv-ralph
RALPH_REQUIREMENTS := tests/support/requirements-ralph.txt

$(RALPH_VENV)/.installed: $(RALPH_REQUIREMENTS)
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(RALPH_REQUIREMENTS)
	touch $@

# Node and npm for the test tools below: Debian's, installed when missing (and root).
.PHONY: node
node:
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else \
	    echo "Node and npm are missing: run 'sudo apt-get install nodejs npm' for the tests." >&2; \
	    exit 1; \
	  fi; \
	fi

# What the package tests load in Chromium: the scorm-again SCORM run-time and the ADL/IMS
# schema files, pinned by tests/scorm/package-lock.json and installed once.
SCORM_TEST_MODULES := tests/scorm/node_modules/.installed

$(SCORM_TEST_MODULES): tests/scorm/package.json tests/scorm/package-lock.json | node
	cd tests/scorm && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The OpenID provider the single sign-on tests sign in at (oidc-provider on Node), from the
# committed lock file.
OIDC_PROVIDER := tests/oidc/node_modules/.installed

$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json | node
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

## setup: install, migrate the database and load the reference data
setup: $(VENV)/.runtime-installed
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app organisations seed
	@if ls courses/*/course.md >/dev/null 2>&1; then $(BIN)/flask --app app courses import courses; fi

## run: everything a newcomer needs, then serve on http://$(HOST):$(PORT), with the
## scheduled jobs' worker beside the server (Ctrl-C stops both)
run: setup
	@$(BIN)/flask --app app users setup-link
	@trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(BIN)/flask --app app jobs run & worker=$$!; \
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

## demo: a separate database (instance/demo.db) filled with invented people, then serve.
## Never point DEMO_DATABASE_URL at a production database.
DEMO_LEARNERS ?= 2000
DEMO_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/demo.db
demo: export DATABASE_URL = $(DEMO_DATABASE_URL)
demo: setup
	@$(BIN)/flask --app app demo seed --learners $(DEMO_LEARNERS) --skip-if-seeded
	@$(BIN)/flask --app app users setup-link
	@# Its own secret key: a session from the everyday database must not sign in here.
	@test -s instance/demo_secret_key || (umask 077; $(BIN)/python -c \
	  'import secrets; print(secrets.token_hex(32))' > instance/demo_secret_key)
	SECRET_KEY="$$(cat instance/demo_secret_key)" \
	  $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

## chromium: Debian's Chromium for the browser tests, the headless shell most of them use and
## the whole browser the course packages play in (installed when missing and root)
CHROMIUM_PACKAGES := chromium chromium-headless-shell
chromium:
	@missing="$$(for p in $(CHROMIUM_PACKAGES); do command -v $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "Missing for the browser tests: run 'sudo apt-get install" $$missing"'." >&2; \
	    exit 1; \
	  fi; \
	fi

## test: lint (ruff, and import-linter's layers in .importlinter), then the whole suite (unit, integration and browser tests)
# The suite runs in this many processes (files kept together), each with a database of its
# own; PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?= $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test: $(VENV)/.dev-installed $(RALPH_VENV)/.installed $(SCORM_TEST_MODULES) $(OIDC_PROVIDER) chromium lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-unit: the fast tests (course content, scoring, settings, exports: no web pages, no
## browser), in seconds
UNIT_TESTS := tests/content tests/unit tests/test_scoring.py tests/test_package_scoring.py
test-unit: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q $(UNIT_TESTS)

## screenshots: the browser tests, saving full-page screenshots at 1280 and 375 px of every
## page they look at, in test-artifacts/screenshots (`make test` saves only a failed test's)
screenshots: $(VENV)/.dev-installed $(RALPH_VENV)/.installed $(SCORM_TEST_MODULES) $(OIDC_PROVIDER) chromium
	JESIP_SCREENSHOTS=1 $(BIN)/python -m pytest $(PYTEST_ARGS) tests/browser

## test-suite: the suite alone, when `make test` has installed what it needs
test-suite: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## bench: performance figures, each as a ratio against a baseline measured in the same run
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run_all.py

## scan: Wapiti against a demo site, signed in; fails on any finding of medium or higher
scan: $(VENV)/.runtime-installed
	PYTHON=$(PYTHON) bash scripts/security-scan.sh

## vendor-frontend: rebuild static/vendor from the versions pinned in scripts/frontend
vendor-frontend:
	bash scripts/vendor-frontend.sh

## fingerprint-static: after changing a file in static/, give the references to it the new fingerprint
fingerprint-static:
	$(PYTHON) scripts/fingerprint_static.py

clean-venv:
	rm -rf $(VENV) $(RALPH_VENV) tests/scorm/node_modules tests/oidc/node_modules
