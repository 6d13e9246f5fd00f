# One task runner; CI calls the same targets.
PYTHON ?= python

.PHONY: install test lint bench docs

install:
	$(PYTHON) -m pip install -e '.[test]'

test:
	$(PYTHON) -m pytest -q

lint:
	ruff check src tests

bench:
	$(PYTHON) bench/bench_import.py
	$(PYTHON) bench/bench_demo.py
	$(PYTHON) bench/bench_kpi.py
	$(PYTHON) bench/bench_track.py

docs:
	$(PYTHON) docs/gen_docs.py
