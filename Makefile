# Coopflow — everyday commands. GNU make.
#   make run    install (if needed) and start the whole back office (embedded default)
#   make test   install (if needed) and run the tests against a throwaway PostgreSQL database
#   make check  exactly the gates CI runs (ruff, format, mypy, layering rules); the pre-commit hook
#   make lint   the same as make check
#   make demo   start with demo data and a fast business clock (2 s per business day)
#   make bench  run every benchmark (bench/README.md; BENCH_ARGS=--quick for a short run)
#   make chaos  the chaos campaign: SEED=n N=missions, CHAOS_ARGS="--worker-kills 5 ..."
#   make clean  remove caches and the demo's state (keeps .venv and var/ data)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Test processes (pytest-xdist; each has its own database and Temporal servers); 0 = one process.
TEST_WORKERS ?= 2
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run test check lint hooks demo bench chaos clean

help:
	@sed -n '2,10p' Makefile | sed 's/^# *//'

venv: $(STAMP)

# Re-installs only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $(STAMP)

run: venv
	bash .ci/system-deps run
	$(BIN)/coopflow up

test: venv
	bash .ci/system-deps
	bash .ci/with-test-db $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The gates live in one place, tests/test_gates.py (same folders for ruff, format and mypy, and the
# layering rules); CI runs them inside make test, this runs only them (no database needed).
check: venv
	$(BIN)/pytest -q -n 0 -p no:cacheprovider tests/test_gates.py

lint: check

# Runs make check before every commit in this clone.
hooks:
	git config core.hooksPath .githooks

# A fresh demo every time: its state (SQLite + Temporal history) lives in var/demo.
demo: venv
	bash .ci/system-deps run
	rm -rf var/demo
	COOPFLOW_DAY_SECONDS=2 COOPFLOW_VAR_DIR=var/demo $(BIN)/coopflow up --demo

# Figures, never pass/fail: each script prints a table and appends to bench/results/.
bench: venv
	$(BIN)/python bench/cost.py $(filter --quick,$(BENCH_ARGS))
	$(BIN)/python bench/lifecycle.py $(BENCH_ARGS)
	$(BIN)/python bench/large_book.py $(BENCH_ARGS)
	$(BIN)/python bench/waiting.py $(BENCH_ARGS)

clean:
	rm -rf var/demo build .pytest_cache .mypy_cache .ruff_cache *.egg-info test-artifacts
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

# The chaos campaign (bench/chaos.py): N missions through the API of its own stack while the
# worker, the Temporal server and PostgreSQL (behind a proxy) are hurt; then every invariant.
SEED ?= 1
N ?= 40
CHAOS_ARGS ?=
chaos: venv
	bash .ci/system-deps
	$(BIN)/python -m bench.chaos --seed $(SEED) --n $(N) $(CHAOS_ARGS)
