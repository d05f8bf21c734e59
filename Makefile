# Bonneville: containers as vSphere VMs, forked by Instant Clone, declared with Pulumi.
#   make demo   run the main job on the embedded vSphere
#   make test   every test (lint, type checks, simulator Go tests, jest suites)
# Every target installs what it needs (npm packages, Debian packages, the simulator build).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NPM ?= npm
export NODE_OPTIONS ?= --max-old-space-size=4096

.PHONY: all build deps sim provider typecheck lint format schema schema-check test test-sim test-js demo bench plugin clean

all: build

node_modules/.installed: package.json package-lock.json provider/package.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed

sim:
	sim/run --build

provider: deps
	npx tsc -p provider/tsconfig.json

build: deps sim provider

typecheck: deps
	npx tsc -p tsconfig.json

lint: deps
	npx prettier --check --log-level warn .
	npx eslint --max-warnings 0 provider/src tests scripts

format: deps
	npx prettier --write --log-level warn .

schema: provider
	npx ts-node --transpile-only scripts/gen-schema.ts

schema-check: provider
	npx ts-node --transpile-only scripts/gen-schema.ts --check

test-sim:
	sim/test

test-js: build
	npx jest --ci

test: build lint typecheck schema-check test-sim test-js

demo: build
	scripts/demo.sh

bench: build
	@echo "make bench: the fleet benchmark is not built yet (see BENCHMARKS.md)"; exit 1

plugin: build
	scripts/package-plugin.sh

clean:
	rm -rf provider/dist sim/.build bench/peer/.build build coverage
