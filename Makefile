# kpipe: `make demo` and `make test` set everything up on a fresh Debian machine and are safe to
# run again. See README.md.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
VENV := .venv

.PHONY: demo test conformance deps venv build python c-lib go-lib node php interop-deps stack stack-down stack-status clean-stack

# The stack's addresses (which follow its port env vars) reach tests and examples as
# KPIPE_*_BOOTSTRAP / KPIPE_REGISTRY_URL.
STACK_ENV = set -a && eval "$$(dev/stack env)" && set +a

# The demo: the pipeline's story (examples/story/story.py): PHP and Python producers, a poison
# record, schema evolution, kpipe mirror online -> offline, a Node notifier and a Go billing
# service, the billing group migrated to offline; it ends with a verification table.
DEMO_YAML = eval "$$(dev/stack env --kpipe-yaml | sed 's/^/export /')"
demo: deps venv build python go-lib node php stack
	@dev/timed demo-deps bash -c 'cd examples/node && npm install --no-audit --no-fund --loglevel=error'
	$(STACK_ENV) && $(DEMO_YAML) && KPIPE_BIN=$(CARGO_TARGET_DIR)/debug/kpipe $(VENV)/bin/python examples/story/story.py

test: deps venv build python c-lib go-lib node php interop-deps stack
	$(STACK_ENV) && dev/run-tests

# The cross-language suite alone: golden vectors, options and acknowledgement cases, and the
# exchange matrix (every binding produces, every binding consumes), with its summary line.
conformance: deps venv build python go-lib node php interop-deps stack
	$(STACK_ENV) && dev/run-tests conformance

deps:
	@dev/install-deps

# Python tools the suites use (pytest, and confluent-kafka/fastavro as reference implementations).
venv: $(VENV)/.installed
$(VENV)/.installed: tests/requirements.txt
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@dev/timed venv $(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $@

# Build everything first, so compile time is not charged to any test's timeouts.
build:
	@dev/timed build cargo build --workspace --all-targets

# kpipe for Python, built from bindings-python (release, abi3) into the tools venv.
python: venv
	@dev/timed python $(VENV)/bin/pip install -q --disable-pip-version-check ./bindings-python

# The C binding's static library (bindings-c/lib/libkpipe_capi.a, what its suite links).
c-lib:
	@dev/timed c-lib $(MAKE) -s -C bindings-c lib

# The Go binding's static library (bindings-go/lib/libkpipe_capi.a, what cgo links).
go-lib:
	@dev/timed go-lib $(MAKE) -s -C bindings-go lib

# kpipe for Node (bindings-node): its install hook builds the release addon with cargo, as
# `npm install ./bindings-node` does for a user; also TypeScript for the type check. The hook
# keeps an addon that exists, so `--force` rebuilds it after a change (cargo: a no-op if none).
node:
	@dev/timed node bash -c 'cd bindings-node && npm install --no-audit --no-fund --loglevel=error && node scripts/install.js --force'

# kpipe for PHP (bindings-php): the `kpipe` extension (release), loaded by the php suite with
# `php -d extension=bindings-php/modules/kpipe.so`; `make -C bindings-php install` installs it.
php:
	@dev/timed php $(MAKE) -s -C bindings-php build

# The clients no one here wrote that the exchange matrix checks kpipe against (confluent-kafka
# for Python comes with tests/requirements.txt): confluent-kafka-go, fetched and compiled into
# Go's build cache here (the test's own `go build` of the agent is then quick); the JS pair,
# @confluentinc/kafka-javascript built from source against the librdkafka it ships
# (CKJS_LINKING=dynamic: its default build downloads sources, which fails offline).
JS_FOREIGN := tests/conformance/exchange/foreign/js
interop-deps: $(JS_FOREIGN)/node_modules/.installed
	@dev/timed interop-deps-go bash -c 'cd tests/conformance/exchange/foreign/go && go build -o /dev/null .'
$(JS_FOREIGN)/node_modules/.installed: $(JS_FOREIGN)/package-lock.json
	@dev/timed interop-deps bash -c 'cd $(JS_FOREIGN) && CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error'
	@touch $@

stack:
	@dev/timed stack dev/stack up

stack-down:
	dev/stack down

stack-status:
	dev/stack status
