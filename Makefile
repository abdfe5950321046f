# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM := /usr/bin/chromium
REDIS := /usr/bin/redis-server

.PHONY: demo test test-fast lint docs install chromium redis clean benchmarks

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,dev,docs]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m dashboard --config configs/demo.yaml

chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && apt-get install -y -qq chromium; }

# The Celery integration test starts its own redis-server on a loopback port.
redis:
	@test -x $(REDIS) || { apt-get update -qq && apt-get install -y -qq redis-server; }

test: install chromium redis
	$(PY) -m pytest

# The edit loop: everything but the browser suite and the slow fits (about 3 minutes).
test-fast: install
	$(PY) -m pytest -m "not browser and not slow"

# Every benchmark at reduced sizes, one table of ratios (about 8 minutes; needs chromium).
benchmarks: install chromium
	$(PY) benchmarks/run_all.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The docs site (mkdocs-material); --strict fails on a broken link or reference.
docs: install
	$(VENV)/bin/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) .pytest_cache build/site
