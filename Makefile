# Everything a fresh clone needs, from nothing but Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432

.PHONY: demo test lint bench bench-web bench-delivery fraud-eval install clean db-up chromium

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=python3.x"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/referral demo

# Tests run on SQLite and on a throw-away PostgreSQL database that bin/test-postgres creates,
# hands to pytest and drops again.
# Tests run in two processes (pytest-xdist), a test file at a time each, so a file's
# module-scoped web server and its Prefect API are started once.
TEST_WORKERS ?= 2
test: $(STAMP) chromium
	PYTHON=$(BIN)/python PG_URL=$(PG_URL) ./bin/with-test-postgres $(BIN)/python -m pytest -q \
		-n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Headless Chromium for the page tests (Debian's packages); installed once, when missing.
chromium:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium and chromium-driver for the page tests"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q chromium chromium-driver >/dev/null \
		|| { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -q >/dev/null && \
		     $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q chromium chromium-driver >/dev/null; }; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check referral db tasks flows cli config integrations web
	$(BIN)/mypy referral db tasks flows cli config integrations web
	$(BIN)/lint-imports

bench: $(STAMP)
	PG_URL=$(PG_URL) ./bin/with-test-postgres $(BIN)/python -m bench.run $(BENCH_ARGS)

fraud-eval: $(STAMP)
	PG_URL=$(PG_URL) ./bin/with-test-postgres $(BIN)/python -m bench.fraud_eval $(BENCH_ARGS)

bench-delivery: $(STAMP)
	PG_URL=$(PG_URL) ./bin/with-test-postgres $(BIN)/python -m bench.delivery $(BENCH_ARGS)

bench-web: $(STAMP)
	PG_URL=$(PG_URL) ./bin/with-test-postgres $(BIN)/python -m bench.web $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
