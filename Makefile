# Haltung — two commands do everything: `make run` serves, `make test` tests.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Where to serve and which models to use: `make run PORT=8603`, or the service's own settings
# (HALTUNG_PORT=8603 make run); a make variable wins over the environment, both over the defaults.
HALTUNG_HOST       ?= 127.0.0.1
HALTUNG_PORT       ?= 8000
HALTUNG_MODELS_DIR ?= models
HOST   ?= $(HALTUNG_HOST)
PORT   ?= $(HALTUNG_PORT)
MODELS ?= $(HALTUNG_MODELS_DIR)

.PHONY: run test test-deps install model lint fuzz container-test container-test-cold corpus-stats bench-quality bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

$(MODELS)/current: | $(VENV)/.installed
	@echo "No model in $(MODELS)/ yet: training the default model on the starter corpus ..."
	$(PY) -m training train --data starter --dev-fraction 0.2 --out $(MODELS)

model: $(MODELS)/current

run: $(VENV)/.installed $(MODELS)/current
	HALTUNG_HOST=$(HOST) HALTUNG_PORT=$(PORT) HALTUNG_MODELS_DIR=$(MODELS) $(PY) -m service

# Debian packages the tests need (chromium for tests/browser), installed when missing.
test-deps:
	bash scripts/install-test-deps.sh

test: $(VENV)/.installed test-deps
	$(VENV)/bin/ruff check service training tests bench haltung_client
	$(VENV)/bin/mypy
	$(PY) -m pytest

# Schemathesis against a real server with a tiny model: every check, fixed seed, a few minutes (scripts/fuzz.py)
fuzz: $(VENV)/.installed
	$(PY) scripts/fuzz.py

# ruff and the type checker (mypy, strict on training/ and service/; settings in pyproject.toml)
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check service training tests bench haltung_client
	$(VENV)/bin/mypy

container-test:
	bash scripts/container-test.sh

# As a new machine runs it: an empty cache, so the stand-in base is bootstrapped from Debian's packages.
container-test-cold:
	cache=$$(mktemp -d) && rc=0 && HALTUNG_CT_CACHE=$$cache bash scripts/container-test.sh || rc=$$?; \
	rm -rf "$$cache"; exit $$rc

corpus-stats: $(VENV)/.installed
	$(PY) -m training stats starter

bench-quality: $(VENV)/.installed
	$(PY) bench/quality.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
