# Two commands do all set-up: `make dev` and `make test`. Both create .venv and install the project
# (with its dev extras) when pyproject.toml changed since the last install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install dev test up clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## The whole product on this machine: every stand-in plus `dagster dev` on http://127.0.0.1:3000
dev: install
	$(BIN)/paperplan-sync local up --dagster

## Only the stand-ins (for running `dagster dev` or the CLI yourself)
up: install
	$(BIN)/paperplan-sync local up

## The whole test suite. On a fresh machine it first installs or starts what the end-to-end tests need
## (Chromium, PostgreSQL on 127.0.0.1:5432: with apt-get when root, otherwise it says what to install).
test: install
	./.ci/test-prereqs
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .dagster_home .local_state .pytest_cache
