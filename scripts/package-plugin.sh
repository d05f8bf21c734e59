#!/usr/bin/env bash
# Builds the resource plugin tarballs that `pulumi plugin install resource bonneville <version>` installs
# (from the schema's pluginDownloadURL, or a local file with --file), one per platform Pulumi runs on:
#   <output-dir>/pulumi-resource-bonneville-v<version>-<os>-<arch>.tar.gz
#   os: linux darwin windows; arch: amd64 arm64           (default output-dir: build/)
# Each holds at its root:
#   pulumi-resource-bonneville   the plugin the engine starts (a Node.js script: needs node >= 18 on PATH)
#   bonneville                   the `bonneville` command (bonneville docker-api …)
#   *.cmd                        (windows only) the same two, started through node: Windows has no shebangs
#   dist/bundle/bonneville.js    all of Bonneville's JavaScript and its dependencies in one file (esbuild)
#   package.json                 name, version, the Node.js requirement and the plugin download URL
# The JavaScript is the same on every platform; only the launchers differ. No PulumiPlugin.yaml: the
# engine runs the root executable directly, as for any binary plugin. Needs only `npm ci` (no
# simulator, no tsc): esbuild compiles the TypeScript itself.
#
# Usage: scripts/package-plugin.sh [output-dir]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/build}" && cd "${1:-$root/build}" && pwd)"
version="$(node -p "require('$root/provider/package.json').version")"
stage="$(mktemp -d "$out/.package-plugin.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# The stubs of @pulumi/pulumi/proto must share one google-protobuf copy with the well-known types the
# server loads (see provider/src/server/protocol.ts): every google-protobuf import goes to theirs.
protobuf="$(cd "$root/provider" && node -p '
  const path = require("path");
  const stubs = path.dirname(require.resolve("@pulumi/pulumi/proto/provider_pb"));
  path.dirname(require.resolve("google-protobuf/package.json", { paths: [stubs] }))')"

echo "package-plugin: bundling provider/src into one file (esbuild)" >&2
common="$stage/common"
mkdir -p "$common/dist/bundle"
"$root/node_modules/.bin/esbuild" "$root/provider/src/bundle.ts" \
  --bundle --platform=node --target=node18 --format=cjs \
  --define:BONNEVILLE_BUNDLE=true --alias:google-protobuf="$protobuf" \
  --minify --keep-names --legal-comments=eof --log-level=warning \
  --log-override:require-resolve-not-external=silent \
  --outfile="$common/dist/bundle/bonneville.js"

for command in pulumi-resource-bonneville bonneville; do
  cp "$root/provider/bin/$command" "$common/$command"
  chmod 755 "$common/$command"
done
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const keep = { name: p.name, version: p.version, description: p.description, license: p.license,
    engines: p.engines, bonneville: p.bonneville };
  fs.writeFileSync(process.argv[2], JSON.stringify(keep, null, 2) + "\n");
' "$root/provider/package.json" "$common/package.json"

# Smoke test: the bundled plugin starts and prints its port.
port="$(cd "$common" && node -e '
  const child = require("child_process").spawn("./pulumi-resource-bonneville", [], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
    if (out.includes("\n")) { process.stdout.write(out.split("\n")[0]); child.kill("SIGINT"); }
  });
  setTimeout(() => { child.kill("SIGKILL"); process.exit(1); }, 10000).unref();
' || true)"
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
  echo "package-plugin: the bundled plugin did not print a port (got: '$port')" >&2
  exit 1
fi

for os in linux darwin windows; do
  for arch in amd64 arm64; do
    name="pulumi-resource-bonneville-v${version}-${os}-${arch}"
    dir="$stage/$name"
    cp -R "$common" "$dir"
    if [ "$os" = windows ]; then
      for command in pulumi-resource-bonneville bonneville; do
        # Pulumi on Windows starts a plugin's .cmd (as it does its own pulumi-resource-pulumi-nodejs.cmd).
        printf '@echo off\r\nnode "%%~dp0%s" %%*\r\n' "$command" >"$dir/$command.cmd"
      done
    fi
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then
      # Sorted, owner-neutral entries: the same inputs give the same archive.
      tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf - . | gzip -n -9 >"$out/$name.tar.gz"
    else
      tar -C "$dir" -cf - . | gzip -9 >"$out/$name.tar.gz"
    fi
    echo "$out/$name.tar.gz"
  done
done
