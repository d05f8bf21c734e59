#!/usr/bin/env bash
# Builds the resource plugin tarball that `pulumi plugin install resource bonneville <version> --file <tarball>`
# installs: build/pulumi-resource-bonneville-v<version>-<os>-<arch>.tar.gz, holding at its root the
# executable launcher `pulumi-resource-bonneville` (a Node.js script; needs `node` >= 18 on PATH), the
# compiled server (dist/), package.json, schema.json and the production node_modules.
# No PulumiPlugin.yaml: the engine runs the root executable directly, as for any binary plugin.
#
# Usage: scripts/package-plugin.sh [output-dir]     (default: build/)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build}"
version="$(node -p "require('$root/provider/package.json').version")"

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "package-plugin: unsupported OS $(uname -s); expected Linux or Darwin" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "package-plugin: unsupported architecture $(uname -m); expected x86_64 or arm64" >&2; exit 1 ;;
esac

name="pulumi-resource-bonneville-v${version}-${os}-${arch}"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

echo "package-plugin: compiling provider/" >&2
rm -rf "$root/provider/dist"
node "$root/node_modules/typescript/bin/tsc" -p "$root/provider/tsconfig.json"
(cd "$root" && node scripts/production-deps.js >"$stage/.deps")

cp "$root/provider/bin/pulumi-resource-bonneville" "$stage/pulumi-resource-bonneville"
chmod 755 "$stage/pulumi-resource-bonneville"
cp -R "$root/provider/dist" "$stage/dist"
find "$stage/dist" -name '*.map' -delete
cp "$root/provider/package.json" "$stage/package.json"
cp "$root/schema.json" "$stage/schema.json"

echo "package-plugin: copying production node_modules" >&2
while IFS= read -r dir; do
  [ -n "$dir" ] || continue
  mkdir -p "$stage/$(dirname "$dir")"
  cp -R "$root/$dir" "$stage/$dir"
done <"$stage/.deps"
rm "$stage/.deps"

# Smoke test: the packaged plugin starts and prints its port.
port="$(cd "$stage" && node -e '
  const child = require("child_process").spawn("./pulumi-resource-bonneville", [], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
    if (out.includes("\n")) { process.stdout.write(out.split("\n")[0]); child.kill("SIGINT"); }
  });
  setTimeout(() => { child.kill("SIGKILL"); process.exit(1); }, 10000).unref();
' || true)"
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
  echo "package-plugin: the packaged plugin did not print a port (got: '$port')" >&2
  exit 1
fi

mkdir -p "$out"
tar -czf "$out/$name.tar.gz" -C "$stage" .
echo "$out/$name.tar.gz"
