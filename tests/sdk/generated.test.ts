/**
 * The SDK's TypeScript is generated from schema.json by scripts/gen-sdk.ts: the committed files must
 * be exactly what the generator writes now, the package metadata must match the schema, and the
 * generator must carry every schema fact (docs, required inputs, secrets) into the classes.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PackageSchema } from "../../provider/src/schema";
import { generateSdkFiles, kebabCase, SdkGenerationError } from "../../scripts/gen-sdk";

const repoRoot = path.resolve(__dirname, "..", "..");
const sdkDir = path.join(repoRoot, "sdk", "nodejs");
const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8")) as PackageSchema;

/** Runs the generator (prettier, which it uses, needs a plain Node process rather than jest's VM). */
function generator(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, "node_modules", "ts-node", "dist", "bin.js"),
      "--transpile-only",
      path.join(repoRoot, "scripts", "gen-sdk.ts"),
      ...args,
    ],
    { cwd: repoRoot, encoding: "utf8" },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The generated files (unformatted) for a schema, by file name. */
function generateFor(modified: PackageSchema): Record<string, string> {
  return Object.fromEntries(generateSdkFiles(modified).map((file) => [file.path, file.text]));
}

describe("the generated Node.js SDK", () => {
  it("is exactly what scripts/gen-sdk.ts generates from the committed schema.json", () => {
    const result = generator(["--check"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("has the package name, version and dependencies the schema gives", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(sdkDir, "package.json"), "utf8")) as {
      name: string;
      version: string;
      dependencies: Record<string, string>;
      pulumi: { resource: boolean; name: string; version: string; server: string };
    };
    const nodejs = schema.language.nodejs as { packageName: string; dependencies: Record<string, string> };
    expect(pkg.name).toBe(nodejs.packageName);
    expect(pkg.version).toBe(schema.version);
    // `server`: where the engine fetches the plugin for a program that uses this package.
    expect(pkg.pulumi).toEqual({
      resource: true,
      name: schema.name,
      version: schema.version,
      server: schema.pluginDownloadURL,
    });
    for (const [dependency, range] of Object.entries(nodejs.dependencies)) {
      expect(pkg.dependencies[dependency]).toBe(range);
    }
    const defaults = fs.readFileSync(path.join(sdkDir, "src", "package-defaults.ts"), "utf8");
    expect(defaults).toContain(`export const packageVersion = "${schema.version}";`);
    expect(defaults.replace(/\s+/g, " ")).toContain(
      `export const pluginDownloadURL = "${schema.pluginDownloadURL}";`,
    );
  });

  it("declares every schema property with a doc comment made from its description", () => {
    const files: [string, string, Record<string, { description?: string }>][] = [
      ...Object.entries(schema.resources).map(
        ([token, resource]) =>
          [token, token.split(":")[2]!, resource.properties] as [
            string,
            string,
            Record<string, { description?: string }>,
          ],
      ),
      ["provider", "Provider", schema.provider.inputProperties],
    ];
    for (const [token, className, properties] of files) {
      const file = className === "Provider" ? "provider.ts" : `${kebabCase(className)}.ts`;
      const text = fs.readFileSync(path.join(sdkDir, "src", file), "utf8");
      for (const [name, property] of Object.entries(properties)) {
        // In the Args (or State) interface: the doc comment, then the property.
        const declaration = new RegExp(
          `/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*readonly ${name}\\??: pulumi\\.Input<`,
        );
        const match = declaration.exec(text);
        expect({ token, name, declared: match !== null }).toEqual({ token, name, declared: true });
        expect(normalise(match![1]!)).toBe(normalise(property.description ?? ""));
      }
    }
  });

  it("leaves the hand-written dynamic face alone and exports it as `dynamic`", () => {
    const index = fs.readFileSync(path.join(sdkDir, "src", "index.ts"), "utf8");
    expect(index).toContain(`export * as dynamic from "./dynamic";`);
    const generated = generateFor(schema);
    expect(Object.keys(generated).sort()).toEqual([
      "container-host.ts",
      "container-vm.ts",
      "errors.ts",
      "index.ts",
      "package-defaults.ts",
      "parent-template.ts",
      "provider.ts",
      "resource-references.ts",
    ]);
  });

  it("marks outputs that the schema calls secret as additional secret outputs", () => {
    const modified = structuredClone(schema) as {
      resources: Record<string, { properties: Record<string, object> }>;
    };
    const vm = modified.resources["bonneville:index:ContainerVM"]!;
    vm.properties.env = { ...vm.properties.env, secret: true };
    vm.properties.ipAddress = { ...vm.properties.ipAddress, secret: true };
    const files = generateFor(modified as unknown as PackageSchema);
    expect(files["container-vm.ts"]).toContain(`withPackageDefaults(options, ["env", "ipAddress"])`);
    expect(files["container-host.ts"]).toContain(`withPackageDefaults(options, [])`);
    expect(files["provider.ts"]).toContain(`withPackageDefaults(opts ?? {}, ["password"])`);
  });

  it("rejects a schema property without a description, naming it", () => {
    const modified = structuredClone(schema) as {
      resources: Record<string, { properties: Record<string, object> }>;
    };
    modified.resources["bonneville:index:ParentTemplate"]!.properties.uuid = { type: "string" };
    expect(() => generateFor(modified as unknown as PackageSchema)).toThrow(
      new SdkGenerationError(
        "bonneville:index:ParentTemplate.uuid: every property needs a description (it becomes the doc comment)",
      ),
    );
  });

  it("reports a stale file by name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-sdk-"));
    try {
      const out = path.join(dir, "src");
      fs.cpSync(path.join(sdkDir, "src"), out, { recursive: true, filter: (f) => !f.includes("dynamic") });
      fs.copyFileSync(path.join(sdkDir, "package.json"), path.join(dir, "package.json"));
      fs.appendFileSync(path.join(out, "container-vm.ts"), "// edited by hand\n");
      fs.rmSync(path.join(out, "errors.ts"));
      const result = generator(["--check", "--out", out]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("container-vm.ts is stale");
      expect(result.stderr).toContain("errors.ts is missing");
      expect(result.stderr).toContain("run: make sdk");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Text without comment decoration: asterisks, slashes and line breaks become single spaces. */
function normalise(text: string): string {
  return text.replace(/[*/]/g, " ").replace(/\s+/g, " ").trim();
}
