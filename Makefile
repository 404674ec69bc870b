# simcardionet-lite: everything a fresh machine (Python 3.11 or 3.12, git, make) needs.
#   make book   set up .venv, build the book executing every chapter (smoke preset)
#   make test   set up .venv, run the unit tests and execute every chapter notebook (nbval)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Python 3.11 or 3.12 (the versions requirements/lock.txt is checked on): python3.11 if it runs,
# else python3.12, else python3 when it is one of the two. PYTHON=/path/to/python overrides.
SUPPORTED := ((3, 11), (3, 12))
VERSION_OK := import sys; sys.exit(sys.version_info[:2] not in $(SUPPORTED))
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
	if $$p -c '$(VERSION_OK)' >/dev/null 2>&1; then command -v $$p; break; fi; done)
VENV   := .venv
PY     := $(VENV)/bin/python
# The set-up is redone only when the pins change: the stamp name carries their hash.
PIN_HASH := $(shell cat pyproject.toml requirements/lock.txt | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.stamp-$(PIN_HASH)

# The venv first on PATH; Jupyter kernels looked up in the venv only, so the notebooks'
# "python3" kernel is this venv's Python and not a user-level kernelspec. MPLBACKEND is left
# unset on purpose: a kernel then uses the (headless) inline backend, which puts the figures
# into the book, and plain Python falls back to Agg when there is no display.
unexport MPLBACKEND
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export JUPYTER_DATA_DIR := $(CURDIR)/$(VENV)/share/jupyter
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

NBVAL_CELL_TIMEOUT ?= 600
# The exact test command (README and .ci/run run it through `make test`).
PYTEST_CMD := $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=$(NBVAL_CELL_TIMEOUT) -ra --durations=15

.PHONY: help setup book test check-book notebooks check-notebooks clean distclean

help:
	@echo "make book   - set up .venv and build the book (every chapter executed, smoke preset)"
	@echo "make test   - set up .venv, run tests/ and execute every notebook in notebooks/ (nbval)"
	@echo "make check-book       - load every page of _build/html in headless Chromium: stderr boxes, machine paths,"
	@echo "                         figures without caption, unrendered math, broken links; screenshots in _build/screenshots"
	@echo "make notebooks        - regenerate notebooks/*.ipynb from book/*.md (outputs stripped)"
	@echo "make check-notebooks  - fail if notebooks/ is out of date"
	@echo "make clean / distclean - remove the build (and the .venv)"

$(STAMP): pyproject.toml requirements/lock.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or 3.12 required; none of python3.11, python3.12, python3 on PATH is one (or pass PYTHON=/path/to/python3.12)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] in $(SUPPORTED) else "error: Python 3.11 or 3.12 required, found " + sys.version.split()[0] + " at " + sys.executable)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] in $(SUPPORTED) else "error: $(VENV) has Python " + sys.version.split()[0] + "; 3.11 or 3.12 required (make distclean, then make again)")'
	$(PY) -m pip install --quiet -c requirements/lock.txt -e '.[dev]'
	rm -f $(VENV)/.stamp-*
	touch $@

setup: $(STAMP)

notebooks: $(STAMP)
	$(PY) -m simcardionet_lite.notebooks

check-notebooks: $(STAMP)
	$(PY) -m simcardionet_lite.notebooks --check

# Jupyter Book's execution cache keys on each chapter's text only; a change to the library
# must re-execute the chapters too, so the cache is dropped when the package sources change.
PKG_HASH = $(shell find simcardionet_lite -name '*.py' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)

book: $(STAMP)
	@if [ ! -f _build/.pkg-$(PKG_HASH) ]; then rm -rf _build/.jupyter_cache _build/.doctrees _build/.pkg-*; fi  # Sphinx re-reads (and so re-executes) only changed sources: drop its doctrees too
	$(VENV)/bin/jupyter-book build . --builder html
	@touch _build/.pkg-$(PKG_HASH)
	@echo "Book built: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(PYTEST_CMD)

# The browser check of the built book (needs Chromium; `make book` does not). Run it after `make book`.
check-book: $(STAMP)
	$(PY) scripts/check_book.py --html _build/html

clean:
	rm -rf _build .pytest_cache

distclean: clean
	rm -rf $(VENV)
