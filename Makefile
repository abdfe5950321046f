# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM := /usr/bin/chromium
REDIS := /usr/bin/redis-server

.PHONY: demo test lint install chromium redis clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# xstatic-bootstrap ships only an sdist whose setup.py needs pkg_resources,
	# which setuptools>=81 dropped: build it against an older setuptools.
	$(PY) -m pip install -q "setuptools<81" wheel
	$(PY) -m pip install -q --no-build-isolation xstatic-bootstrap
	$(PY) -m pip install -q -e ".[test,dev]"
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

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache
