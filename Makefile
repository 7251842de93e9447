# The README's two commands are `make demo` and `make test`; everything they need is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins its own dependencies tightly; it lives in a virtual environment of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Source tarballs of the OpenSearch plugins that Maven serves no zip for (Alerting,
# Notifications, Index Management): the local node builds them from here when it must.
ifneq ($(wildcard ../shared/vendor),)
export OKTA_PIPELINE_PLUGIN_SOURCES ?= $(abspath ../shared/vendor)
endif

# `make ui` opens the Dagster UI on the instance `make demo` records its runs in (.dagster_home).
.PHONY: install browser demo ui test lint typecheck validate terraform-check pytest screenshots bench bench-quick opensearch-up opensearch-down clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required: set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The Dagster UI's browser test drives Debian's chromium through its chromedriver; Selenium is
# given both paths, so it never downloads a browser of its own. Installed here when missing.
browser:
	@if [ ! -x /usr/bin/chromedriver ]; then \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		echo "Installing chromium and chromium-driver (the Dagster UI's browser test)"; \
		$$sudo apt-get update -q && \
		$$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends chromium chromium-driver; \
	fi

$(CHECKOV_STAMP): terraform/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r terraform/checkov-requirements.txt
	@touch $(CHECKOV_STAMP)

demo: install
	$(BIN)/okta-pipeline demo

ui: install
	$(BIN)/okta-pipeline ui

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

validate: install
	$(BIN)/dagster definitions validate -w workspace.yaml

# terraform fmt and validate where Terraform and its providers can be had (a notice otherwise);
# checkov on terraform/, where every skipped check carries its reason inline.
terraform-check: $(CHECKOV_STAMP)
	bash terraform/check.sh
	$(CHECKOV_VENV)/bin/checkov --directory terraform --framework terraform --skip-download --quiet --compact

# The deployment tests run checkov themselves (CHECKOV names the binary); the UI's test, a browser.
pytest: install browser $(CHECKOV_STAMP)
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(BIN)/pytest

# docs/images: the Dagster UI after the demo, as the UI's browser test sees it at each step.
screenshots: install browser
	OKTA_PIPELINE_SCREENSHOTS=docs/images $(BIN)/pytest okta_pipeline_tests/ui

# The benchmark's quick mode runs as a smoke test: it checks every scenario end to end (no
# timing is asserted; bench/RESULTS.md holds a full run's numbers).
test: lint typecheck validate terraform-check pytest bench-quick

bench: install
	$(BIN)/okta-pipeline bench

bench-quick: install
	$(BIN)/okta-pipeline bench --quick

opensearch-up: install
	$(BIN)/okta-pipeline opensearch up

opensearch-down: install
	$(BIN)/okta-pipeline opensearch down

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
