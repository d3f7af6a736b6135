# make run / make test bootstrap their own .venv; SAM and cfn-lint live in
# .venv-tools because aws-sam-cli pins pydantic differently from the project.
PYTHON ?= python3
export SAM_CLI_TELEMETRY := 0
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_TOOLS := $(TOOLS)/.installed

.PHONY: run test lint build clean demo dlq

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[local]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

$(STAMP_TOOLS):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet aws-sam-cli cfn-lint
	touch $@

run: $(STAMP_RUN)
	exec $(PY) -m local.stack

# Against a running `make run` (another terminal): one resend told end to end.
demo: $(STAMP_RUN)
	$(PY) -m local.demo

# Dead-letter queues: how to look at them and send them back (README "Operations").
dlq:
	@echo "list:    $(PY) -m ops.dlq list ResendRetryDLQ --stack .local/stack.json"
	@echo "redrive: $(PY) -m ops.dlq redrive ResendRetryDLQ --stack .local/stack.json [--to QUEUE] [--max N]"
	@echo "AWS:     $(PY) -m ops.dlq list ResendRetryDLQ --cfn-stack <stack name>   (or a queue URL)"
	@echo "queues:  ResendRetryDLQ, ResendRequestDLQ; more: $(PY) -m ops.dlq --help"

test: $(STAMP_TEST)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP_TOOLS)
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --template template.yaml --region us-east-1

build: $(STAMP_TOOLS)
	$(TOOLS)/bin/sam build --template template.yaml

clean:
	rm -rf .aws-sam .local .pytest_cache
