# kpipe: `make demo` and `make test` set everything up on a fresh Debian machine and are safe to
# run again. See README.md.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
VENV := .venv

.PHONY: demo test deps venv build stack stack-down stack-status clean-stack

# The stack's addresses (which follow its port env vars) reach tests and examples as
# KPIPE_*_BOOTSTRAP / KPIPE_REGISTRY_URL.
STACK_ENV = set -a && eval "$$(dev/stack env)" && set +a

demo: deps stack
	$(STACK_ENV) && eval "$$(dev/stack env --kpipe-yaml | sed 's/^/export /')" && \
	  cargo run -q -p kpipe-example --bin kpipe-demo -- kpipe.yaml

test: deps venv build stack
	$(STACK_ENV) && dev/run-tests

deps:
	@dev/install-deps

# Python tools the suites use (pytest, and confluent-kafka/fastavro as reference implementations).
venv: $(VENV)/.installed
$(VENV)/.installed: tests/requirements.txt
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $@

# Build everything first, so compile time is not charged to any test's timeouts.
build:
	cargo build --workspace --all-targets

stack:
	dev/stack up

stack-down:
	dev/stack down

stack-status:
	dev/stack status
