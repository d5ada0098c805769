# Two commands do all set-up: `make dev` and `make test` (`make test-fast` for a quick loop). They create .venv
# and install the project (with its dev extras) when pyproject.toml changed since the last install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install dev test test-fast test-deps lint format up clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@# The stand-ins (paperplan_local) stay out of the wheel: the checkout itself goes on the venv's path.
	$(BIN)/python -c "import sysconfig; print(sysconfig.get_path('purelib'))" | xargs -I{} sh -c 'echo "$(CURDIR)" > {}/paperplan_local.pth'
	@touch $(STAMP)

install: $(STAMP)

## The whole product on this machine: every stand-in plus `dagster dev` on http://127.0.0.1:3000
dev: install
	$(BIN)/paperplan-sync local up --dagster

## Only the stand-ins (for running `dagster dev` or the CLI yourself)
up: install
	$(BIN)/paperplan-sync local up

# Debian packages the end-to-end tests run; installed when missing (as root), else named.
TEST_DEBS += nginx
TEST_DEBS += nodejs  # runs deploy/airtable's automation script against the local Airtable
TEST_DEBS += chromium  # e2e/test_browser.py: the Dagster UI in a headless browser

# Then PostgreSQL on 127.0.0.1:5432 for the production-instance tests: found, started, or installed
# (as root; else named) by .ci/test-postgres.
test-deps:
	@missing=$$(for p in $(TEST_DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make test needs Debian packages: sudo apt-get install -y $$missing" >&2; exit 1; fi; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing
	@./.ci/test-postgres

## House style, layer contracts and types (ruff, import-linter, mypy; configured in pyproject.toml): CI fails on
## a violation
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy paperplan_sync

## Apply the house style
format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The developer's loop, under a minute: every test that needs no daemon, browser or PostgreSQL and is not
## marked slow, in two processes (pytest-xdist). `make test` runs these and the rest.
test-fast: install
	$(BIN)/python -m pytest -m "not e2e and not slow" -n 2 -q

## The whole test suite (on a fresh machine it first installs what the end-to-end tests need: test-deps)
# Two steps: the tests without a daemon in two processes (pytest-xdist; each process has its own stand-ins on
# free ports and its own tmp dirs), then the end-to-end ones one at a time (fixed ports, real daemons, timings).
test: install lint test-deps
	$(BIN)/python -m pytest -m "not e2e" -n 2
	$(BIN)/python -m pytest -m e2e

clean:
	rm -rf $(VENV) .dagster_home .local_state .pytest_cache
