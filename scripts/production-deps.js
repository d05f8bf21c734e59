#!/usr/bin/env node
// Prints, one per line, the installed package directories (relative to the repository root) that
// provider/package.json's dependencies need at run time: the closure over dependencies and the
// optional dependencies that are installed. Nested node_modules travel inside their parent.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "provider", "package.json"), "utf8"));

function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return fs.realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

// The plugin loads only @pulumi/pulumi/proto (the protocol stubs), which require nothing but these;
// following the SDK's full dependency tree would ship about 200 packages the plugin never loads.
const USED_DEPENDENCIES = { "@pulumi/pulumi": ["@grpc/grpc-js", "google-protobuf"] };

const seen = new Set();
const queue = Object.keys(manifest.dependencies || {}).map((name) => ({
  name,
  from: path.join(root, "provider"),
  required: true,
}));
while (queue.length > 0) {
  const { name, from, required } = queue.shift();
  const dir = findPackage(name, from);
  if (!dir) {
    if (required) {
      process.stderr.write(
        `production-deps: ${name} (needed from ${path.relative(root, from) || "."}) is not installed; run npm ci\n`,
      );
      process.exit(1);
    }
    continue;
  }
  if (seen.has(dir)) continue;
  seen.add(dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const deps = USED_DEPENDENCIES[pkg.name] || Object.keys(pkg.dependencies || {});
  for (const dep of deps) queue.push({ name: dep, from: dir, required: true });
  for (const dep of Object.keys(pkg.optionalDependencies || {}))
    queue.push({ name: dep, from: dir, required: false });
}

// Only top-most directories: a package nested inside another one's node_modules is copied with it.
const dirs = [...seen].sort();
const top = dirs.filter(
  (dir) => !dirs.some((other) => other !== dir && dir.startsWith(`${other}${path.sep}`)),
);
process.stdout.on("error", () => process.exit(0));
process.stdout.write(top.map((dir) => `${path.relative(root, dir)}\n`).join(""));
