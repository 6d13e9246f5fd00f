# One task runner; CI calls the same targets.
PYTHON ?= python

.PHONY: install test lint layers typecheck bench bench-web docs

install:
	$(PYTHON) -m pip install -e '.[test]'

test:
	$(PYTHON) -m pytest -q

lint:
	ruff check src tests
	$(MAKE) layers
	$(MAKE) typecheck

typecheck:
	$(PYTHON) -m mypy src

# import layers (docs/architecture.md, "Layers"): import-linter from the dev extra
layers:
	lint-imports

bench:
	$(PYTHON) bench/bench_import.py
	$(PYTHON) bench/bench_demo.py
	$(PYTHON) bench/bench_kpi.py
	$(PYTHON) bench/bench_track.py

# Web app under load (issue 6): 50 simulated users for 60 s on a copy of a demo
# workspace (it is written to: bench users, sessions, tracking records). BENCH_HOME=/path make bench-web
BENCH_HOME ?= /tmp/web3k
bench-web:
	$(PYTHON) bench/bench_web.py --home $(BENCH_HOME) $(BENCH_WEB_ARGS)

docs:
	$(PYTHON) docs/gen_docs.py

# Re-vendor the front-end assets from the npm registry (versions in src/zhuizong/web/static/vendor/VENDOR.md)
vendor:
	rm -rf /tmp/zz-vendor && mkdir -p /tmp/zz-vendor && cd /tmp/zz-vendor && npm pack echarts@5.6.0 htmx.org@2.0.11 && \
	  for f in *.tgz; do mkdir -p $${f%.tgz} && tar xzf $$f -C $${f%.tgz}; done
	cp /tmp/zz-vendor/echarts-5.6.0/package/dist/echarts.min.js src/zhuizong/web/static/vendor/
	cp /tmp/zz-vendor/htmx.org-2.0.11/package/dist/htmx.min.js src/zhuizong/web/static/vendor/
