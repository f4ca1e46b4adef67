# The two commands README.md promises: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run run-detached test lint unit integration contracts bench down clean reliability catalogues

$(BIN)/qloop: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e ".[dev]"
	touch $(BIN)/qloop

# Infrastructure (RabbitMQ + FerretDB/mongod), the four services, demo data; prints URLs.
run: $(BIN)/qloop
	set -a && eval "$$(deploy/local/infra.sh up)" && set +a && $(BIN)/qloop up

run-detached: $(BIN)/qloop
	set -a && eval "$$(deploy/local/infra.sh up)" && set +a && $(BIN)/qloop up --detach

down: $(BIN)/qloop
	$(BIN)/qloop down; deploy/local/infra.sh down

# Lint, contracts, then every test that is not marked slow (tests provision infra).
test: lint
	deploy/local/tools.sh
	set -a && eval "$$(deploy/local/infra.sh up)" && set +a && \
	  $(BIN)/pytest -m "not slow" -p no:cacheprovider

lint: $(BIN)/qloop
	$(BIN)/ruff check .
	$(BIN)/mypy services
	$(BIN)/lint-imports
	$(BIN)/qloop contracts check

unit: $(BIN)/qloop
	$(BIN)/pytest -m unit -q

# Faults under full load on the real stack (tests/reliability; CI runs the short variants
# within `make test`). QLOOP_FAULT_COMPLAINTS sets the load; figures: state/reliability.jsonl.
reliability: $(BIN)/qloop
	set -a && eval "$$(deploy/local/infra.sh up)" && set +a && \
	  $(BIN)/pytest tests/reliability -m slow -p no:cacheprovider -o timeout=3600

bench: $(BIN)/qloop
	set -a && eval "$$(deploy/local/infra.sh up)" && set +a && $(BIN)/python -m bench

clean:
	rm -rf $(VENV) state .mypy_cache .ruff_cache .pytest_cache

# Message catalogues of the services people read (desk, reporting, workflow): extract the
# marked texts (with the shared services/common/i18n.py), update each language's .po; then
# translate the new entries (tests/unit/test_catalogues.py fails while one lacks its Chinese).
catalogues: $(BIN)/qloop
	for s in desk reporting workflow; do \
	  $(BIN)/pybabel -q extract -F services/$$s/babel.cfg -k N_ -k say --no-location --sort-output \
	    -o services/$$s/locale/messages.pot services/$$s services/common/i18n.py && \
	  for l in zh en; do \
	    if [ -f services/$$s/locale/$$l/LC_MESSAGES/messages.po ]; then \
	      $(BIN)/pybabel -q update -i services/$$s/locale/messages.pot -d services/$$s/locale -l $$l \
	        --no-fuzzy-matching --ignore-obsolete; \
	    else $(BIN)/pybabel -q init -i services/$$s/locale/messages.pot -d services/$$s/locale -l $$l; fi; \
	  done; \
	done
