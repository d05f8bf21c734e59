# Bonneville: containers as vSphere VMs, forked by Instant Clone, declared with Pulumi.
#   make demo   run the main job on the embedded vSphere
#   make test   every test (lint, type checks, simulator Go tests, jest suites)
# Every target installs what it needs (npm packages, Debian packages, the simulator build).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NPM ?= npm
export NODE_OPTIONS ?= --max-old-space-size=4096

.PHONY: all build deps sim provider sdk sdk-build typecheck typecheck-examples lint format schema schema-check test test-sim test-js soak demo bench plugin clean

all: build

node_modules/.installed: package.json package-lock.json provider/package.json sdk/nodejs/package.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed

sim:
	sim/run --build

provider: deps
	npx tsc -p provider/tsconfig.json

# The Node.js SDK: `make sdk` regenerates its TypeScript from schema.json (tests/sdk/generated.test.ts
# fails when the committed files differ); `make sdk-build` compiles it to sdk/nodejs/bin.
sdk: deps
	npx ts-node --transpile-only scripts/gen-sdk.ts

sdk-build: provider
	npx tsc -p sdk/nodejs/tsconfig.json

build: deps sim provider sdk-build

typecheck: provider
	npx tsc -p tsconfig.json

typecheck-examples: sdk-build
	npx tsc -p examples/container-pool/tsconfig.json --noEmit

lint: deps
	npx prettier --check --log-level warn .
	npx eslint --max-warnings 0 provider/src sdk/nodejs/src bench/src tests scripts

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

test: build lint typecheck typecheck-examples schema-check test-sim test-js

# make demo DEMO_ARGS=--netns runs the pool on namespace-backed VMs with the real guest agent (root).
demo: build
	scripts/demo.sh $(DEMO_ARGS)

# The fault soak at full count: 200 ContainerVMs created and deleted under injected vim faults
# (`make test` runs the same test with 40; see RELIABILITY.md).
soak: build
	BONNEVILLE_SOAK_COUNT=200 npx jest --ci tests/reliability/soak.test.ts

# make bench BENCH_ARGS=--write-figures also updates bench/figures.json, bench/fleet.svg and BENCHMARKS.md.
bench: build
	npx ts-node --transpile-only bench/src/main.ts $(BENCH_ARGS)

plugin: build
	scripts/package-plugin.sh

clean:
	rm -rf provider/dist sim/.build bench/peer/.build build coverage
