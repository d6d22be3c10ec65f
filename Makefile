# Two commands on a fresh machine with Python 3.11 or 3.12:
#   make run    set up .venv from the lock file and run the nightly job on the sample data
#   make test   set up .venv, lint, and run every test tier (what CI runs)
#   make check  lint and the fast tiers (unit, integration): the contributor's loop
#
# The first supported Python found is used: python3, python3.12, python3.11 (or say which:
# make run PYTHON=/usr/bin/python3.12).
SUPPORTED_PYTHON := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))
ifndef PYTHON
# The interpreter itself (sys.executable), not a launcher such as a pyenv shim: uv would see a
# different interpreter each time and rebuild .venv.
PYTHON := $(firstword $(foreach p,python3 python3.12 python3.11,$(shell command -v $(p) >/dev/null 2>&1 && $(p) -c '$(SUPPORTED_PYTHON)' 2>/dev/null && $(p) -c 'import sys; print(sys.executable)')))
endif
VENV := .venv
UV := $(PYTHON) -m uv

export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup run test check fast-tests lint format ui sample bench clean spark-setup test-spark

setup:
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c '$(SUPPORTED_PYTHON)' 2>/dev/null; then \
		echo "collab-health needs Python 3.11 or 3.12 (found: $(or $(PYTHON),no python3, python3.12 or python3.11 of a supported version) $$($(PYTHON) --version 2>&1)); install one, e.g. 'apt install python3.12 python3.12-venv', or name it: make run PYTHON=/path/to/python3.12"; \
		exit 1; fi
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv  # an "externally managed" Python (PEP 668)
	$(UV) sync --frozen --inexact --compile-bytecode --python $(PYTHON)

run: setup
	$(VENV)/bin/collab-health run

# Lint, then every tier: what CI runs (.ci/run) and README promises. The Spark tests have
# their own target (they need the optional spark packages and Java): CI runs both.
test: lint
	$(VENV)/bin/pytest -m "not spark"

# The optional engine: pyspark and dbt-spark[session] (the lock's 'spark' group, ~500 MB, so
# not in `make setup`); Java 17 or later must be on the PATH (.ci/run installs Debian's).
# `make setup` leaves them installed (--inexact), so `make check` beside `make test-spark` is safe.
spark-setup: setup
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --group spark

# The Spark tests: the sample built on DuckDB and on Spark, every mart compared (README,
# "Running on Spark / Databricks"). A few minutes.
test-spark: spark-setup
	COLLAB_HEALTH_REQUIRE_SPARK=$${COLLAB_HEALTH_REQUIRE_SPARK:-1} $(VENV)/bin/pytest -m spark

# The fast loop for contributors: lint beside the unit and integration tiers (no whole-job
# runs), on two cores at once; each one's output is printed whole when it ends.
check: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint fast-tests

fast-tests: setup
	$(VENV)/bin/pytest -m "unit or integration" -q

# Lint: ruff (Python: rules and formatting) and sqlfluff (dbt models and tests, dbt templater).
# sqlfluff's dbt templater opens a DuckDB connection: give it a scratch file, not the warehouse.
LINT_WAREHOUSE := $(CURDIR)/var/lint/lint.duckdb
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p $(dir $(LINT_WAREHOUSE))
	COLLAB_HEALTH_WAREHOUSE=$(LINT_WAREHOUSE) $(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/tests --processes 2 --disable-progress-bar --nocolor

# Apply what the linters can fix by themselves.
format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	@mkdir -p $(dir $(LINT_WAREHOUSE))
	COLLAB_HEALTH_WAREHOUSE=$(LINT_WAREHOUSE) $(VENV)/bin/sqlfluff fix dbt_project/models dbt_project/tests --processes 2 --disable-progress-bar

ui: setup
	$(VENV)/bin/collab-health ui

# Rebuild the committed synthetic diagnostic exports (deterministic: no diff expected).
sample: setup
	$(VENV)/bin/python -m ingest.synthetic

# The national-scale benchmark: generates inputs (cached in var/bench), runs the nightly job
# and the hand-written DuckDB baseline at each scale, prints stage times and peak memory.
# e.g. make bench BENCH_ARGS="--scales 1"
BENCH_ARGS ?=
bench: setup
	$(VENV)/bin/python benchmarks/nightly_at_scale.py $(BENCH_ARGS)

clean:
	rm -rf var dbt_project/target dbt_project/logs
