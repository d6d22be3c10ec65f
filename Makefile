# Two commands on a fresh machine with Python 3.11:
#   make run   set up .venv from the lock file and run the nightly job on the sample data
#   make test  set up .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
UV := $(PYTHON) -m uv

export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup run test check lint format ui sample bench clean

setup:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv  # an "externally managed" Python (PEP 668)
	$(UV) sync --frozen --python $(PYTHON)

run: setup
	$(VENV)/bin/collab-health run

# Every tier: what CI runs (.ci/run) and README promises.
test: setup
	$(VENV)/bin/pytest

# The fast loop for contributors: lint, then the unit and integration tiers (no whole-job runs).
check: lint
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
