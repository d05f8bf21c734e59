#!/usr/bin/env bash
# One step of `make build` (npm ci, the simulator build, a TypeScript compile), run only when one of its
# inputs is newer than its stamp, and safe when two `make`s run on the same clone at once: steps take
# one lock (flock on build/.build.lock), and a step that waited looks at its stamp again, so the second
# `make` finds the first one's work done instead of redoing it under the first one's feet (npm ci
# deletes node_modules; tsc rewrites the files a running demo loads).
#
# Usage: scripts/build-step.sh STAMP DESCRIPTION INPUT... -- COMMAND [ARG...]
set -euo pipefail

cd "$(dirname "$0")/.."
stamp="$1"
what="$2"
shift 2
inputs=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  inputs+=("$1")
  shift
done
if [[ $# -lt 2 ]]; then
  echo "build-step: usage: build-step.sh STAMP DESCRIPTION INPUT... -- COMMAND [ARG...]" >&2
  exit 2
fi
shift

is_current() {
  [[ -f "$stamp" ]] || return 1
  local input
  for input in "${inputs[@]}"; do
    [[ "$input" -nt "$stamp" ]] && return 1
  done
  return 0
}

mkdir -p build
exec 9>build/.build.lock
if ! flock -n 9; then
  echo "build-step: another make on this clone is building; waiting for it before: $what" >&2
  flock 9
fi
if is_current; then
  exit 0
fi
echo "build-step: $what" >&2
"$@"
mkdir -p "$(dirname "$stamp")"
touch "$stamp"
