# Engagement Tracker. `make run` serves the app on http://127.0.0.1:8000 (`make run PORT=8001` for another port);
# `make test` runs lint and tests.
# Both create or reuse .venv; pip only runs again when a requirements file changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2
# The port `make run` serves on.
PORT ?= 8000
# `make run` is the embedded development mode: debug on, SQLite, eager tasks, unless the environment says otherwise.
RUN_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1}

.PHONY: run test lint check-python migrate bootstrap shell worker beat bench bench-load bench-backfill bench-growth replica assets clean-venv production-check

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --noinput

bootstrap: migrate
	$(RUN_ENV) $(PY) manage.py bootstrap_demo

run: bootstrap
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Start the app as production does (debug off, collectstatic, the read and write gunicorn pools behind nginx,
# a worker and beat on Redis, a fresh PostgreSQL database) and use it over HTTP through nginx: log in, load a
# page and its stylesheet, create an engagement through the API, wait for the worker to score it. CI runs it
# after the tests.
production-check: $(VENV)/.installed
	$(PY) scripts/production_check.py

shell: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py shell

# With CELERY_BROKER_URL set, a real worker and beat run the background jobs.
worker: $(VENV)/.installed
	$(RUN_ENV) $(VENV)/bin/celery -A config worker --loglevel=info --concurrency=2

beat: $(VENV)/.installed
	$(RUN_ENV) $(VENV)/bin/celery -A config beat --loglevel=info --schedule=/tmp/engagement-tracker-beat

# The benchmark table on a million engagements (PostgreSQL; BENCH_DATABASE_URL to choose the database,
# BENCH_BROKER_URL the Redis database of the worker that executes the one-quarter run; bench/README.md).
# Then, on the same database, the 40-quarter backfill through 1 and 2 worker processes (bench-backfill below)
# and the production-mode load (bench-load below). How cost grows over sizes is `make bench-growth`.
bench: $(VENV)/.installed-dev
	$(PY) bench/run.py
	$(PY) bench/backfill.py
	$(PY) bench/load.py

# Pages and the API served as production serves them (nginx, gunicorn x3 for reads and x2 for writes, debug
# off, a real worker), driven by locust
# with 1 and 8 clients, and a mixed read/write load (bench/load.py; BENCH_DATABASE_URL, BENCH_LOAD_PORT,
# BENCH_ARGS="--seconds 10" for a quicker run).
bench-load: $(VENV)/.installed-dev
	$(PY) bench/load.py $(BENCH_ARGS)

# The 40-quarter backfill through real workers: in one piece, fanned out over 1 and 2 processes
# (bench/README.md; BENCH_DATABASE_URL, BENCH_BROKER_URL, BENCH_ARGS="--engagements 2000" for a quick check).
bench-backfill: $(VENV)/.installed-dev
	$(PY) bench/backfill.py $(BENCH_ARGS)

# How cost grows (issue 22): the backfill over 1 and 2 worker processes, the one-quarter run and the pages at
# 250k, 500k and 1M engagements, one database each (BENCH_GROWTH_DATABASE names them; BENCH_BROKER_URL,
# BENCH_REDIS_URL; BENCH_ARGS="--database 1000000=postgres://..." for an existing copy); writes
# bench/growth.csv and bench/growth.png (bench/README.md).
bench-growth: $(VENV)/.installed-dev
	$(PY) bench/growth.py $(BENCH_ARGS)

# A streaming read replica of the local PostgreSQL on port 5433 (pg_basebackup; idempotent). Then
# DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:5433/<database> sends dashboard reads there.
replica:
	bash scripts/replica.sh

# Refresh static/vendor/ from the pinned npm packages (needs Node; the results are committed).
assets:
	PYTHON=$(PY) bash scripts/vendor_assets.sh

clean-venv:
	rm -rf $(VENV)
