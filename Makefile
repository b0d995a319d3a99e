# The two quick-start commands are `make local` and `make check`; each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CDK := node_modules/.bin/cdk
STAMPS := .make
SHELL := bash

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup local check lint typecheck test test-real-cli synth lint-templates schemas openapi cost clean

setup: $(STAMPS)/python $(STAMPS)/node

$(STAMPS)/python: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/node: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

## Run the whole system locally: an in-memory AWS on 127.0.0.1, the API on port 8080.
local: setup
	$(BIN)/outpost local --host 127.0.0.1 --port $(or $(PORT),8080)

## Every check CI runs, in order of speed.
check: setup lint typecheck test synth lint-templates

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

test:
	$(BIN)/pytest

## On demand: a real agent CLI (Aider, pinned as in worker_image/Dockerfile) driven by the
## worker in local mode against a fake model endpoint on 127.0.0.1.
REAL_CLI := .real-cli
AIDER_VERSION := 0.86.2
test-real-cli: setup $(REAL_CLI)/aider-$(AIDER_VERSION)
	OUTPOST_TEST_AIDER=$(CURDIR)/$(REAL_CLI)/aider-$(AIDER_VERSION)/bin/aider \
		$(BIN)/pytest tests/integration/test_real_cli.py -v

# The system Python when there is one: local mode started as root runs agents as nobody,
# who may not read a Python installed under /root.
$(REAL_CLI)/aider-$(AIDER_VERSION):
	$(or $(wildcard /usr/bin/python3),$(PYTHON)) -m venv $@
	$@/bin/python -m pip install --quiet --disable-pip-version-check aider-chat==$(AIDER_VERSION)

## A real synth of every environment through the npm CLI, bundling the Lambda code.
synth: setup
	rm -rf cdk.out
	time $(CDK) synth --quiet
	$(BIN)/python -m cdk_app.summary cdk.out

lint-templates:
	$(BIN)/cfn-lint

schemas:
	$(BIN)/python -m outpost.models.schema docs/schemas

openapi:
	$(BIN)/python -m outpost.api.openapi docs/api/openapi.yaml

cost:
	$(BIN)/python -m cdk_app.cost docs/cost.md

clean:
	rm -rf $(VENV) node_modules cdk.out $(STAMPS) $(REAL_CLI)
