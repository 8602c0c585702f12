# Every target bootstraps .venv itself, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: serve test test-fast lint typecheck format openapi clean bench bench-smoke

$(BIN)/industry-facts: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/industry-facts
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

serve: $(BIN)/industry-facts
	PORT=$(PORT) $(BIN)/industry-facts serve

# Everything, over one pytest-xdist worker per core (four at most: each holds its own seeded
# databases and servers); loadgroup keeps a group's tests (the hostile matrix) on one worker.
test: $(VENV)/.dev
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadgroup

# The suite on SQLite without the slow suites (gunicorn, chromium, faults, thousands of
# requests; pytest -m slow runs them): for the edit-test loop, in under 3 minutes. One
# pytest-xdist worker per core; worksteal hands a worker that ran out the others' tests.
test-fast: $(VENV)/.dev
	TEST_DATABASE_URL= $(BIN)/python -m pytest -m "not slow and not postgres" -n auto --dist worksteal

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy over models/ (strict) and api/; its settings are [tool.mypy] in pyproject.toml.
typecheck: $(VENV)/.dev
	$(BIN)/mypy

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: $(BIN)/industry-facts
	$(BIN)/industry-facts openapi write --format=json openapi/openapi.json

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis .mypy_cache

# Builds synthetic 10k- and 1M-statistic databases (cached in .bench/, copied to PostgreSQL
# at BENCH_DATABASE_URL's server), needs wrk, and writes bench/RESULTS.md.
bench: $(VENV)/.dev
	$(BIN)/python -m bench.run

# Every part of the benchmark at its smallest, one short round, its report in a scratch
# file: .ci/run runs it so that the benchmark cannot break unseen. It fails when a request
# fails or a step breaks, never on a figure.
bench-smoke: $(VENV)/.dev
	BENCH_SIZES=1000 BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_IMPORT_ROWS=10000 \
	BENCH_POSTGRES_IMPORT_ROWS=2000 BENCH_POSTED_ROWS=1000 BENCH_WRITES=20 BENCH_UPDATES=5 \
	BENCH_POSTS=20 BENCH_PATCHES=20 BENCH_MIXED_REQUESTS=2000 BENCH_INPROCESS_REQUESTS=10 \
	BENCH_RESULTS=$${BENCH_RESULTS:-$$(mktemp)} $(BIN)/python -m bench.run
