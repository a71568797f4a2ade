# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/precursor up --demo

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/precursor bench ingest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .precursor .pytest_cache
