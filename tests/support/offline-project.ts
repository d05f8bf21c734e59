/**
 * A fresh npm project outside the repository that installs packed local packages (`npm pack`
 * tarballs) and, for everything else, the very versions this repository's package-lock.json pins,
 * with `npm ci --offline`: npm takes the tarballs from its cache, which the repository's own
 * `npm ci` filled, so nothing is fetched from a registry at test time.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

/** One package entry of a lockfile v3 `packages` map. */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** A packed local package to install. */
export interface PackedPackage {
  /** The .tgz file `npm pack` wrote. */
  readonly tarball: string;
  /** Its package.json. */
  readonly manifest: {
    readonly name: string;
    readonly version: string;
    readonly dependencies?: Record<string, string>;
  };
}

/** Packs the package in `dir` (relative to the repository) into `outDir`; returns the tarball and its manifest. */
export function npmPack(dir: string, outDir: string): PackedPackage {
  const packageDir = path.join(repoRoot, dir);
  const name = execFileSync("npm", ["pack", "--pack-destination", outDir, "--loglevel=error"], {
    cwd: packageDir,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .pop()!;
  const manifest = JSON.parse(
    fs.readFileSync(path.join(packageDir, "package.json"), "utf8"),
  ) as PackedPackage["manifest"];
  return { tarball: path.join(outDir, name), manifest };
}

/**
 * The lockfile of a project whose dependencies are the packed `local` packages plus `registry` (names
 * whose versions the repository's lock pins): every registry package any of them needs, found as
 * Node resolves it through the repository's lock, keeps that lock's version, tarball URL and integrity.
 */
export function offlineLock(
  projectName: string,
  local: readonly PackedPackage[],
  registry: readonly string[],
): { packageJson: Record<string, unknown>; lock: Record<string, unknown> } {
  const repoLock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const localNames = new Set(local.map((p) => p.manifest.name));
  const packages: Record<string, LockEntry> = {};
  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let at = from; ;) {
      const key = `${at ? `${at}/` : ""}node_modules/${name}`;
      const entry = repoLock.packages[key];
      if (entry && !entry.link) return key;
      if (!at) return undefined;
      const cut = at.lastIndexOf("node_modules/");
      at = cut <= 0 ? "" : at.slice(0, cut - 1);
    }
  };
  const include = (from: string, name: string, optional: boolean): void => {
    if (localNames.has(name)) return;
    const key = resolveFrom(from, name);
    if (!key) {
      if (optional) return;
      throw new Error(
        `the repository's package-lock.json has no ${name} reachable from ${from || "the root"}`,
      );
    }
    if (packages[key]) return;
    const entry = repoLock.packages[key]!;
    packages[key] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) include(key, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) include(key, dep, true);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) include(key, dep, true);
  };

  const rootDependencies: Record<string, string> = {};
  for (const pkg of local) {
    rootDependencies[pkg.manifest.name] = `file:${pkg.tarball}`;
    packages[`node_modules/${pkg.manifest.name}`] = {
      version: pkg.manifest.version,
      resolved: `file:${pkg.tarball}`,
      integrity: tarballIntegrity(pkg.tarball),
      ...(pkg.manifest.dependencies ? { dependencies: pkg.manifest.dependencies } : {}),
    };
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) include("", dep, false);
  }
  for (const name of registry) {
    const key = resolveFrom("", name);
    if (!key) throw new Error(`the repository's package-lock.json has no ${name}`);
    rootDependencies[name] = repoLock.packages[key]!.version!;
    include("", name, false);
  }
  const packageJson = { name: projectName, version: "1.0.0", private: true, dependencies: rootDependencies };
  const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  return {
    packageJson,
    lock: {
      name: projectName,
      version: "1.0.0",
      lockfileVersion: 3,
      requires: true,
      packages: { "": { name: projectName, version: "1.0.0", dependencies: rootDependencies }, ...sorted },
    },
  };
}

function tarballIntegrity(file: string): string {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return `sha512-${createHash("sha512").update(fs.readFileSync(file)).digest("base64")}`;
}
