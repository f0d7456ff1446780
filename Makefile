# The README's two commands, and what CI runs (.ci/run calls `make test`).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test lint bench

# Creates the virtual environment once, and reinstalls when pyproject.toml changes.
# torch 2.14.1 / torchvision 0.29.1 come from this machine's local wheel files (see DEVELOPERS.md).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check splitcost tests benchmarks examples
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/profile_speed.py
