# openledger-warehouse — targets a newcomer can guess.
SHELL := /bin/bash
UV ?= python3 -m uv
export UV_PYTHON ?= 3.11

.PHONY: install browser postgresql demo test test-fast bench lint fmt dev docs clean devnet-down

# `make dev PORT=3001` serves the Dagster UI on another port (the demo prints the same one).
PORT ?= 3000

install: .venv/.installed devnet/node_modules/.installed

# The UI and report tests drive Debian's chromium (no browser download at run time).
browser:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The lake's many-machine test runs a PostgreSQL catalog: Debian's postgresql, started by the
# test on a free loopback port under a temp dir (no cluster of the package's own is used).
postgresql:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
		echo "installing Debian postgresql for the lake tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

.venv/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet 'uv>=0.13,<0.14'
	# Bytecode compiled at install: without it the first `olw --help` costs seconds. (Not the
	# pyproject setting: that makes every `uv run` re-check 12k files, about a second each.)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

devnet/node_modules/.installed: devnet/package.json devnet/package-lock.json
	cd devnet && npm ci --no-audit --no-fund
	@touch $@

demo: install
	OLW_DEV_PORT=$(PORT) $(UV) run olw demo

test: install browser postgresql
	$(UV) run pytest

test-fast: install browser postgresql
	$(UV) run pytest -m "not slow"

bench: install
	$(UV) run python -m bench

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy pipelines
	$(UV) run sqlfluff lint dbt_models

fmt: install
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

# Schedules and sensors start stopped; `make dev AUTOMATION=1` starts the devnet ones running.
dev: install
	$(UV) run olw dev --port $(PORT) $(if $(AUTOMATION),--automation,)

# dbt's documentation site (models, columns, lineage) for the warehouse, on 127.0.0.1:$(DOCS_PORT).
DOCS_PORT ?= 8580
docs: install
	cd dbt_models && OLW_WAREHOUSE=$${OLW_WAREHOUSE:-$(CURDIR)/.olw/warehouse.duckdb} \
		DBT_SEND_ANONYMOUS_USAGE_STATS=false ../.venv/bin/dbt docs generate --profiles-dir . \
		--project-dir . --quiet && echo "dbt docs: dbt_models/target/index.html" && \
		../.venv/bin/dbt docs serve --profiles-dir . --project-dir . --host 127.0.0.1 \
		--port $(DOCS_PORT) --no-browser

devnet-down:
	-$(UV) run olw devnet down

clean: devnet-down
	rm -rf .olw dbt_models/target dbt_models/logs exports reports
