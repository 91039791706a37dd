# picgraph developer commands. `make dev` and `make test` do all the set-up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: dev test lint typecheck unit integration e2e bench package tf-check schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)  ## Serve GraphiQL at http://127.0.0.1:8000/graphql (embedded S3 + DynamoDB emulator)
	$(BIN)/picgraph serve

test: $(STAMP) lint typecheck  ## ruff, mypy and the whole pytest suite
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

schema: $(STAMP)  ## Regenerate schema.graphql from the Strawberry schema
	$(BIN)/picgraph export-schema

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
