# make run / make test bootstrap their own .venv; SAM and cfn-lint live in
# .venv-tools because aws-sam-cli pins pydantic differently from the project,
# and checkov in .venv-checkov because it pins boto3 to another exact version
# than aws-sam-cli does (one venv cannot hold both).
#
# Python 3.13 everywhere: the functions' runtime (template.yaml), the layer's build and the
# project's .venv. Found on its own: `python3.13` on PATH, else a pyenv-installed 3.13
# (each candidate is run, because a pyenv shim exists even when 3.13 is not selected).
# Override with `make PYTHON=/path/to/python3.13 ...`.
PYTHON_VERSION := 3.13
comma := ,
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python$(PYTHON_VERSION) $$(pyenv root 2>/dev/null)/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(PYTHON_VERSION))))' 2>/dev/null && command -v "$$p" && break; done)
endif
NO_PYTHON = { echo "Python $(PYTHON_VERSION) is needed (what the Lambda functions run) and none was found:"; \
	echo "  install it (e.g. 'pyenv install $(PYTHON_VERSION)', or your OS's python$(PYTHON_VERSION) package),"; \
	echo "  or name it: make PYTHON=/path/to/python$(PYTHON_VERSION) ..."; exit 1; }
# sam build runs the layer's build (layers/common/Makefile) with the runtime's Python, found on PATH.
SAM_PATH := PATH="$(dir $(PYTHON)):$$PATH"
# `sam build` for one architecture: the template's parameter, and the same for the layer's
# makefile build (SAM does not pass BuildArchitecture to it).
SAM_BUILD = LAYER_ARCHITECTURE=$(1) $(SAM_PATH) $(TOOLS)/bin/sam build --template template.yaml \
	--parameter-overrides Architecture=$(1)
export SAM_CLI_TELEMETRY := 0
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_TOOLS := $(TOOLS)/.installed
CHECKOV := .venv-checkov
STAMP_CHECKOV := $(CHECKOV)/.installed
# The deployable build is arm64 (the default of template parameter Architecture). `make smoke` also
# builds for this machine's architecture so the built code can be imported here.
HOST_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
DEPLOY_ARCH := arm64

.PHONY: run test typecheck lint build smoke checkov ci-checks clean demo dlq bench bench-quick

# A .venv made by another Python (an older checkout) is made again.
STAMP_PYTHON := $(VENV)/.python$(PYTHON_VERSION)
$(PY): $(STAMP_PYTHON)
$(STAMP_PYTHON):
	@test -n "$(PYTHON)" || $(NO_PYTHON)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(STAMP_RUN): pyproject.toml $(STAMP_PYTHON)
	$(PY) -m pip install --quiet -e '.[local]'
	touch $@

$(STAMP_TEST): pyproject.toml $(STAMP_PYTHON)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

$(STAMP_TOOLS):
	@test -n "$(PYTHON)" || $(NO_PYTHON)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet aws-sam-cli cfn-lint
	touch $@

$(STAMP_CHECKOV):
	@test -n "$(PYTHON)" || $(NO_PYTHON)
	$(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV)/bin/pip install --quiet checkov
	touch $@

run: $(STAMP_RUN)
	exec $(PY) -m local.stack

# Against a running `make run` (another terminal): one resend told end to end, then the README's
# walk-throughs (an order, an instruction, an approval), each step printed (tests/integration/test_demo.py,
# the same test `make test` runs against its own stack).
demo: $(STAMP_TEST)
	DEMO_STACK=$(or $(LOCAL_STATE_DIR),.local)/stack.json $(PY) -m pytest tests/integration/test_demo.py -s -q -p no:cacheprovider

# Dead-letter queues: how to look at them and send them back (README "Operations").
dlq:
	@echo "list:    $(PY) -m ops.dlq list ResendRetryDLQ --stack .local/stack.json"
	@echo "redrive: $(PY) -m ops.dlq redrive ResendRetryDLQ --stack .local/stack.json [--to QUEUE] [--max N]"
	@echo "AWS:     $(PY) -m ops.dlq list ResendRetryDLQ --cfn-stack <stack name>   (or a queue URL)"
	@echo "queues:  ResendRetryDLQ, ResendRequestDLQ; more: $(PY) -m ops.dlq --help"

# On pytest-xdist workers, one per core: the integration tests share one worker, which runs them in
# order, one stack at a time (tests/conftest.py: pytest_xdist_make_scheduler), while the others run the rest.
# More pytest options: make test PYTEST_ARGS=--durations=15
test: $(STAMP_TEST)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory typecheck
	$(PY) -m pytest --numprocesses auto $(PYTEST_ARGS)

# mypy ([tool.mypy] in pyproject.toml): the layer and tests/support, then each function on its own, because
# every function's handler module is a top-level `app` and one mypy run can hold only one. The runs share
# .mypy_cache, so the layer is checked once.
typecheck: $(STAMP_TEST)
	$(PY) -m mypy
	@for function in functions/*/; do echo "mypy $$function"; $(PY) -m mypy "$$function" || exit 1; done

lint: $(STAMP_TOOLS)
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --template template.yaml --region us-east-1

build: $(STAMP_TOOLS)
	$(call SAM_BUILD,$(DEPLOY_ARCH))

# Imports and invokes every built function with only its own code, the built layer and
# what the Lambda runtime provides on sys.path (.ci/smoke_build.py says how and why).
smoke: build $(STAMP_TEST)
	$(call SAM_BUILD,$(HOST_ARCH)) --build-dir .aws-sam/smoke
	$(PY) .ci/smoke_build.py --build-dir .aws-sam/build --smoke-dir .aws-sam/smoke

# No failed check; skips are inline in template.yaml (Metadata checkov/skip), each with its reason.
checkov: $(STAMP_CHECKOV)
	$(CHECKOV)/bin/checkov --file template.yaml --framework cloudformation secrets --skip-download --compact

# What .ci/run adds after `make test`.
ci-checks: lint checkov smoke

# Benchmarks against their floors -> docs/benchmarks.md + .json (bench/run.py). Full: ~4 min,
# runs sam build; `make bench-quick` (or `make bench QUICK=1`) checks it runs, numbers not evidence.
bench: $(STAMP_RUN) $(if $(QUICK),,$(STAMP_TOOLS))
	$(SAM_PATH) $(PY) -m bench.run $(if $(QUICK),--quick,) $(BENCH_ARGS)

bench-quick: $(STAMP_RUN)
	$(SAM_PATH) $(PY) -m bench.run --quick $(BENCH_ARGS)

clean:
	rm -rf .aws-sam .local .pytest_cache
