#!/usr/bin/env bash
# make demo: starts the embedded vSphere, connects with Bonneville's vSphere
# client, shows the inventory, forks a parent into containers by instant
# clone, deletes them again and stops the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx ts-node --transpile-only scripts/demo.ts
