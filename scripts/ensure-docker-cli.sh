#!/usr/bin/env bash
# `make test` needs the `docker` client: tests/docker drives the Docker endpoint with it. When it is
# missing this installs it from Debian: the client-only package `docker-cli` where the release has one
# (Debian 13 and later), else `docker.io` (Debian 12: client and daemon in one package; the daemon is
# not started or used). As root, with passwordless sudo, or it says what to run.
set -euo pipefail

if command -v docker >/dev/null 2>&1; then
  exit 0
fi
say() { echo "ensure-docker-cli: $*" >&2; }
runner=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    runner=(sudo -n)
  else
    say "the tests need the docker CLI; install it with: sudo apt-get install -y docker-cli (Debian 13) or docker.io (Debian 12)"
    exit 1
  fi
fi
say "no docker CLI on PATH: installing it (one time)"
"${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
package=docker.io
if [[ -n "$(apt-cache show docker-cli 2>/dev/null)" ]]; then
  package=docker-cli
fi
say "apt-get install $package"
"${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >&2
command -v docker >/dev/null 2>&1 || { say "$package installed no docker command"; exit 1; }
