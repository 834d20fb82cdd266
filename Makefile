# Two commands for a clinic's technician: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: run test test-clock bench assets translations messages clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11+ is missing: apt-get install python3 python3-venv"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

# npm ci installs exactly what package-lock.json pins: htmx for the pages, axe-core (dev) for the
# accessibility checks of the browser tests, which read it from node_modules.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	npm ci --no-audit --no-fund --silent
	@touch $@

portal/static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p portal/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js portal/static/vendor/htmx.min.js

# signature_pad: the consent form's finger/stylus signatures (drawn as vector strokes)
portal/static/vendor/signature_pad.umd.min.js: node_modules/.installed
	mkdir -p portal/static/vendor
	cp node_modules/signature_pad/dist/signature_pad.umd.min.js portal/static/vendor/signature_pad.umd.min.js

assets: portal/static/vendor/htmx.min.js portal/static/vendor/signature_pad.umd.min.js node_modules/.installed

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d portal/translations

run: $(STAMP) assets translations
	$(BIN)/portal init
	$(BIN)/portal demo --first-run
	HOST=$(HOST) PORT=$(PORT) $(BIN)/portal serve --with-worker

# The whole suite except the timed benchmarks; the 20 slowest tests are listed at the end.
test: $(STAMP) assets translations
	$(BIN)/portal check --quiet-ok || true
	$(BIN)/python -m pytest -m "not bench" --durations=20 $(PYTEST_ARGS)

# The suite again with the clinic's clock at the hours that once broke it: late evening,
# before opening (with the server on UTC, a day behind the clinic) and New Year's Eve
# (with the server on New York time). The three runs go side by side on SQLite, each with its
# own instance folder; browser tests and the walks of every page are left to make test.
# See tests/clock.py.
CLOCK_RUNS := "2026-06-10 22:30|Asia/Shanghai" "2026-06-10 07:30|UTC" "2026-12-31 23:50|America/New_York"
test-clock: $(STAMP) assets translations
	@dir=$$(mktemp -d); i=0; \
	for run in $(CLOCK_RUNS); do \
	  i=$$((i+1)); \
	  ( env -u DATABASE_URL -u HUEY_URL PORTAL_INSTANCE="$$dir/instance$$i" PORTAL_TEST_NOW="$${run%|*}" TZ="$${run#*|}" \
	      $(BIN)/python -m pytest -q -p no:cacheprovider -m "not bench and not e2e and not heavy" \
	      --ignore=tests/bench $(PYTEST_ARGS) > "$$dir/run$$i.log" 2>&1; echo $$? > "$$dir/run$$i.rc" ) & \
	done; wait; \
	failed=0; i=0; \
	for run in $(CLOCK_RUNS); do \
	  i=$$((i+1)); echo "== clinic clock at $${run%|*}, server time zone $${run#*|}"; \
	  if [ "$$(cat "$$dir/run$$i.rc")" = 0 ]; then tail -n 1 "$$dir/run$$i.log"; else cat "$$dir/run$$i.log"; failed=1; fi; \
	done; \
	rm -rf "$$dir"; exit $$failed

# The speed budgets of DESIGN.md at realistic sizes (100k patients, 1M appointments): prints
# every budget with its measured figure and fails when one is missed. Takes 15-30 minutes.
bench: $(STAMP) assets translations
	PORTAL_BENCH=1 $(BIN)/python -m pytest tests/bench -m bench -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules portal/static/vendor instance

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
