# Bonneville: containers as vSphere VMs, forked by Instant Clone, declared with Pulumi.
#   make demo     run the main job on the embedded vSphere (make demo DEMO_ARGS=--keep leaves it running)
#   make test     every test (lint, type checks, simulator Go tests, jest suites)
#   make plugin   the plugin tarballs, build/pulumi-resource-bonneville-v<version>-<os>-<arch>.tar.gz
# Every target installs what it needs (npm packages, Debian packages, the simulator build). Build steps
# run only when their inputs changed (stamps), and two makes on one clone wait for each other's steps
# (scripts/build-step.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export NODE_OPTIONS ?= --max-old-space-size=4096
# ts-node's compile cache, which would otherwise go to /tmp.
export V8_COMPILE_CACHE_CACHE_DIR ?= $(CURDIR)/build/v8-compile-cache
TSC := node node_modules/typescript/bin/tsc
STEP := scripts/build-step.sh
# Where the engine downloads the plugin (schema.json's pluginDownloadURL, the SDK's pulumi.server):
# `make schema sdk plugin PLUGIN_DOWNLOAD_URL=https://…/v${VERSION}` records a new one in
# provider/package.json before it regenerates; unset, the recorded one stays.
PLUGIN_DOWNLOAD_URL ?=

PROVIDER_SOURCES := $(shell find provider/src -name '*.ts') provider/tsconfig.json tsconfig.json provider/package.json
SDK_SOURCES := $(shell find sdk/nodejs/src -name '*.ts') sdk/nodejs/tsconfig.json sdk/nodejs/package.json
SIM_SOURCES := $(wildcard sim/*.go sim/overlay/*.go) sim/run sim/lib.sh
MANIFESTS := package.json package-lock.json provider/package.json sdk/nodejs/package.json

.PHONY: all build deps sim provider sdk sdk-build typecheck typecheck-examples lint format schema schema-check test test-sim test-js test-tools soak demo bench plugin plugin-download-url clean

all: build

node_modules/.installed: $(MANIFESTS)
	@$(STEP) $@ "installing node_modules (npm ci)" $^ -- npm ci --no-audit --no-fund --loglevel=error

deps: node_modules/.installed

sim/.build/make.stamp: $(SIM_SOURCES)
	@$(STEP) $@ "building the embedded vSphere (sim/run --build)" $^ -- sim/run --build

sim: sim/.build/make.stamp

provider/dist/.built: $(PROVIDER_SOURCES) node_modules/.installed
	@$(STEP) $@ "compiling provider/ (tsc)" $^ -- $(TSC) -p provider/tsconfig.json

provider: provider/dist/.built

# The Node.js SDK: `make sdk` regenerates its TypeScript from schema.json (tests/sdk/generated.test.ts
# fails when the committed files differ); `make sdk-build` compiles it to sdk/nodejs/bin.
sdk: deps plugin-download-url
	npx ts-node --transpile-only scripts/gen-sdk.ts

sdk/nodejs/bin/.built: $(SDK_SOURCES) provider/dist/.built
	@$(STEP) $@ "compiling sdk/nodejs (tsc)" $^ -- $(TSC) -p sdk/nodejs/tsconfig.json

sdk-build: sdk/nodejs/bin/.built

build: deps sim provider sdk-build

typecheck: provider
	@echo "make: type-checking provider, tests, scripts and bench (tsc --noEmit)"
	$(TSC) -p tsconfig.json

typecheck-examples: sdk-build
	@echo "make: type-checking examples/container-pool against the SDK"
	$(TSC) -p examples/container-pool/tsconfig.json --noEmit

lint: deps
	@echo "make: lint (prettier --check, eslint)"
	npx prettier --check --log-level warn .
	npx eslint --max-warnings 0 provider/src sdk/nodejs/src bench/src tests scripts

format: deps
	npx prettier --write --log-level warn .

# Records PLUGIN_DOWNLOAD_URL, when given, as provider/package.json's bonneville.pluginDownloadURL
# ($(value …): the URL's ${VERSION} is the engine's to fill in, not make's).
plugin-download-url:
	@if [ -n '$(value PLUGIN_DOWNLOAD_URL)' ]; then node scripts/set-plugin-download-url.js '$(value PLUGIN_DOWNLOAD_URL)'; fi

schema: plugin-download-url provider
	npx ts-node --transpile-only scripts/gen-schema.ts

schema-check: provider
	@echo "make: schema.json and docs/reference.md match the resource definitions"
	npx ts-node --transpile-only scripts/gen-schema.ts --check

# What the tests need besides npm packages: the docker CLI (tests/docker), installed when missing.
test-tools:
	@scripts/ensure-docker-cli.sh

# Temporary files of the tests (theirs, the simulator's datastores, jest's cache) go to build/tmp,
# never /tmp; whatever a test leaves there is named at the end and removed.
TEST_TMP := $(CURDIR)/build/tmp

test-sim:
	@echo "make: the embedded vSphere's Go tests (sim/test; about a minute, silent until done)"
	@mkdir -p $(TEST_TMP)
	TMPDIR=$(TEST_TMP) sim/test
test-js: build test-tools
	@rm -rf $(TEST_TMP) && mkdir -p $(TEST_TMP)
	@echo "make: jest suites (each file is named as it finishes; the demo, reliability and docker suites take minutes)"
	@status=0; TMPDIR=$(TEST_TMP) npx jest --ci --cacheDirectory=$(CURDIR)/build/jest-cache || status=$$?; \
	left="$$(ls -A $(TEST_TMP))"; \
	if [ -n "$$left" ]; then echo "make: tests left in build/tmp (removed now):"; echo "$$left" | sed 's/^/  /'; fi; \
	rm -rf $(TEST_TMP); exit $$status

test: build lint typecheck typecheck-examples schema-check test-sim test-js

# make demo DEMO_ARGS=--netns runs the pool on namespace-backed VMs with the real guest agent (root).
DEMO_ARGS ?=
demo: build
	scripts/demo.sh $(DEMO_ARGS)

# The fault soak at full count: 200 ContainerVMs created and deleted under injected vim faults
# (`make test` runs the same test with 40; see RELIABILITY.md).
soak: build
	BONNEVILLE_SOAK_COUNT=200 npx jest --ci tests/reliability/soak.test.ts
	BONNEVILLE_FLEET_COUNT=1000 BONNEVILLE_FLEET_PARENTS=3 npx jest --ci tests/reliability/frozen-fleet.test.ts

# make bench BENCH_ARGS=--write-figures also updates bench/figures.json, bench/fleet.svg and BENCHMARKS.md.
bench: build
	npx ts-node --transpile-only bench/src/main.ts $(BENCH_ARGS)

# Needs only the npm packages: esbuild bundles the TypeScript itself, no simulator.
plugin: deps plugin-download-url
	scripts/package-plugin.sh

clean:
	rm -rf provider/dist sdk/nodejs/bin sim/.build bench/peer/.build build coverage
