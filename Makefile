# The README's two commands, and what CI runs (.ci/run calls `make test`).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test check lint bench golden

# Creates the virtual environment once, and reinstalls when pyproject.toml changes.
# torch 2.14.1 / torchvision 0.29.1 come from this machine's local wheel files (see DEVELOPERS.md).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# ruff, mypy --strict on splitcost/, and the import contract (the layers of the stack).
lint: install
	$(BIN)/python -m ruff check splitcost tests benchmarks examples fuzz
	$(BIN)/python -m mypy
	$(BIN)/python -c 'import sys; from importlinter.cli import lint_imports_command; sys.argv[1:] = ["--no-cache"]; sys.exit(lint_imports_command())' 

# Everything CI runs.
test: lint
	$(BIN)/python -m pytest

# The fast inner loop: the same gate without the tests marked slow, on both cores (under a
# minute on a quiet machine).
check: lint
	$(BIN)/python -m pytest -m "not slow" -x -n 2

# Regenerate the golden outputs after a deliberate change, then read the diff.
golden: install
	SPLITCOST_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

bench: install
	$(BIN)/python benchmarks/profile_speed.py
