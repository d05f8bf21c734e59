#!/usr/bin/env bash
# make demo: starts the embedded vSphere and deploys examples/container-pool to it — with
# `pulumi up` when the Pulumi CLI is on PATH, otherwise under Pulumi's mock runtime with the real
# plugin doing the work — then prints its container VMs, destroys everything, checks that the
# inventory is back to where it started and stops the simulator. Arguments go to scripts/demo.ts
# (--engine auto|cli|mock, --count N, --config key=value, --keep, --stop, --netns, --help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx ts-node --transpile-only scripts/demo.ts "$@"
