# Two commands for a clinic's technician: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: run test bench assets translations messages clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11+ is missing: apt-get install python3 python3-venv"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

portal/static/vendor/htmx.min.js: package.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	npm install --no-audit --no-fund --silent
	mkdir -p portal/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js portal/static/vendor/htmx.min.js

assets: portal/static/vendor/htmx.min.js

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d portal/translations

run: $(STAMP) assets translations
	$(BIN)/portal init
	$(BIN)/portal demo --first-run
	HOST=$(HOST) PORT=$(PORT) $(BIN)/portal serve --with-worker

test: $(STAMP) assets translations
	$(BIN)/portal check --quiet-ok || true
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) assets translations
	$(BIN)/python -m pytest tests/bench -s -m bench

clean:
	rm -rf $(VENV) node_modules portal/static/vendor instance

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
