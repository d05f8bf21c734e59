/**
 * The published docs beside the generated reference: docs/_index.md (overview and a worked example)
 * and docs/installation-configuration.md. Their TypeScript type-checks against the SDK, the
 * configuration table (and the README's) names every provider setting with the environment variable
 * provider-config.ts gives it, or none, and the install steps name the tarballs `make plugin` really
 * writes.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { configEnvironmentVariable, providerConfigKeys } from "../../provider/src/provider-config";

const repoRoot = path.resolve(__dirname, "..", "..");
const docs = path.join(repoRoot, "docs");
const pages = ["_index.md", "installation-configuration.md"];
const read = (page: string): string => fs.readFileSync(path.join(docs, page), "utf8");
const version = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, "provider", "package.json"), "utf8")) as { version: string }
).version;

describe("the provider's docs pages", () => {
  it("carry the front matter a package page needs", () => {
    for (const page of pages) {
      const front = /^---\n([\s\S]*?)\n---\n/.exec(read(page))?.[1] ?? "";
      expect(front).toMatch(/^title: \S/m);
      expect(front).toMatch(/^meta_desc: \S/m);
      expect(front).toMatch(/^layout: package$/m);
    }
  });

  it("have TypeScript examples that type-check against the SDK", () => {
    const dir = path.join(repoRoot, "build", "docs-examples");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const page of pages) {
      const blocks = [...read(page).matchAll(/```typescript\n([\s\S]*?)```/g)].map((m) => m[1]!);
      expect(blocks.length).toBeGreaterThan(0);
      blocks.forEach((block, i) => {
        const file = path.join(dir, `${page.replace(/\W/g, "-")}-${i}.ts`);
        // Each block is a module of its own.
        fs.writeFileSync(file, `${block}\nexport {};\n`);
        files.push(file);
      });
    }
    const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const compilerOptions = {
      noEmit: true,
      strict: true,
      target: "ES2022",
      module: "node16",
      types: ["node"],
      skipLibCheck: true,
    };
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: files.map((f) => path.basename(f)) }),
    );
    try {
      const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
        cwd: dir,
        encoding: "utf8",
      });
      expect(result.stdout + result.stderr).toBe("");
      expect(result.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("list every provider setting with its environment variable, and none for the admission limits", () => {
    // The repository README has the same table.
    const tables = [
      read("installation-configuration.md"),
      fs.readFileSync(path.join(repoRoot, "README.md"), "utf8"),
    ];
    expect(providerConfigKeys.filter((key) => configEnvironmentVariable(key) === undefined)).toEqual([
      "maxTasksInFlight",
      "maxTasksInFlightPerHost",
    ]);
    for (const table of tables) {
      for (const key of providerConfigKeys) {
        const variable = configEnvironmentVariable(key);
        expect(table).toContain(
          `| \`bonneville:${key}\`${key === "password" ? " (secret)" : ""} | ${variable ? `\`${variable}\` ` : ""}|`,
        );
      }
    }
  });

  it("name the tarballs make plugin writes", () => {
    const page = read("installation-configuration.md");
    expect(page).toContain("build/pulumi-resource-bonneville-v<version>-<os>-<arch>.tar.gz");
    expect(page).toContain(`pulumi-resource-bonneville-v${version}-linux-amd64.tar.gz`);
    const script = fs.readFileSync(path.join(repoRoot, "scripts", "package-plugin.sh"), "utf8");
    expect(script).toContain('name="pulumi-resource-bonneville-v${version}-${os}-${arch}"');
    expect(script).toContain('out="$(mkdir -p "${1:-$root/build}"');
  });
});
