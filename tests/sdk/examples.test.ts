/**
 * The examples against the package schema. The TypeScript example is type-checked against the SDK by
 * `make typecheck-examples`; the YAML example has no compiler here, so this test reads it and checks
 * every resource type, property and `${resource.output}` reference it uses against schema.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { PackageSchema } from "../../provider/src/schema";

const repoRoot = path.resolve(__dirname, "..", "..");
const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8")) as PackageSchema;
const yamlDir = path.join(repoRoot, "examples", "yaml-pool");

interface YamlProgram {
  name: string;
  runtime: string;
  plugins?: { providers?: { name: string; path?: string }[] };
  config?: Record<string, { type: string; default?: unknown; items?: { type: string } }>;
  resources: Record<string, { type: string; properties?: Record<string, unknown>; options?: unknown }>;
  outputs?: Record<string, unknown>;
}

const program = yaml.load(fs.readFileSync(path.join(yamlDir, "Pulumi.yaml"), "utf8")) as YamlProgram;

/** Every `${...}` expression inside a value. */
function expressions(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!);
  if (Array.isArray(value)) return value.flatMap(expressions);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(expressions);
  return [];
}

/** `parent-0.vmId` → ["parent-0", "vmId"]; `pool.networks["bridge"]` → ["pool", "networks"]; `hosts[0]` → ["hosts"]. */
function referenceParts(expression: string): [string, string | undefined] {
  const match = /^([A-Za-z_][\w-]*)(?:\.([A-Za-z_]\w*))?/.exec(expression.trim());
  if (!match) throw new Error(`unreadable expression \${${expression}}`);
  return [match[1]!, match[2]];
}

describe("examples/yaml-pool", () => {
  it("is a Pulumi YAML project that loads the plugin from this repository's build", () => {
    expect(program.name).toBe("yaml-pool");
    expect(program.runtime).toBe("yaml");
    const providers = program.plugins?.providers ?? [];
    expect(providers.map((p) => p.name)).toEqual([schema.name]);
    const pluginDir = path.resolve(yamlDir, providers[0]!.path!);
    expect(fs.existsSync(path.join(pluginDir, `pulumi-resource-${schema.name}`))).toBe(true);
  });

  it("uses only resource types and input properties the schema has, with every required input", () => {
    const problems: string[] = [];
    for (const [name, resource] of Object.entries(program.resources)) {
      const type = schema.resources[resource.type];
      if (!type) {
        problems.push(`${name}: unknown type ${resource.type}`);
        continue;
      }
      const properties = resource.properties ?? {};
      for (const key of Object.keys(properties)) {
        if (!(key in type.inputProperties)) problems.push(`${name}: ${resource.type} has no input "${key}"`);
      }
      for (const key of type.requiredInputs) {
        if (!(key in properties)) problems.push(`${name}: required input "${key}" is missing`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("refers only to declared config and to outputs the referenced resources have", () => {
    const problems: string[] = [];
    const check = (where: string, value: unknown): void => {
      for (const expression of expressions(value)) {
        const [root, property] = referenceParts(expression);
        if (program.config && root in program.config) continue;
        const resource = program.resources[root];
        if (!resource) {
          problems.push(`${where}: \${${expression}} names neither a config key nor a resource`);
          continue;
        }
        const properties = schema.resources[resource.type]?.properties ?? {};
        if (property !== undefined && property !== "id" && property !== "urn" && !(property in properties)) {
          problems.push(`${where}: \${${expression}}: ${resource.type} has no output "${property}"`);
        }
      }
    };
    for (const [name, resource] of Object.entries(program.resources)) check(name, resource.properties);
    check("outputs", program.outputs);
    expect(problems).toEqual([]);
  });

  it("declares the same pool as the TypeScript example: a parent per host, six containers over them", () => {
    const byType = (type: string): string[] =>
      Object.entries(program.resources)
        .filter(([, r]) => r.type === type)
        .map(([name]) => name);
    expect(byType("bonneville:index:ContainerHost")).toEqual(["pool"]);
    const parents = byType("bonneville:index:ParentTemplate");
    expect(parents).toEqual(["parent-0", "parent-1", "parent-2"]);
    expect(parents.map((p) => program.resources[p]!.properties!.host)).toEqual([
      "${hosts[0]}",
      "${hosts[1]}",
      "${hosts[2]}",
    ]);
    expect(program.config!.hosts!.default).toEqual([
      "DC0_C0/DC0_C0_H0",
      "DC0_C0/DC0_C0_H1",
      "DC0_C0/DC0_C0_H2",
    ]);
    const vms = byType("bonneville:index:ContainerVM");
    expect(vms).toHaveLength(6);
    expect(vms.map((vm) => program.resources[vm]!.properties!.parentId)).toEqual(
      vms.map((_, i) => `\${parent-${i % 3}.vmId}`),
    );
    const table = program.outputs!.containerTable as Record<string, unknown>[];
    expect(table).toHaveLength(6);
    for (const row of table) {
      expect(Object.keys(row).sort()).toEqual([
        "cloneSeconds",
        "host",
        "hostId",
        "mac",
        "name",
        "network",
        "vmId",
      ]);
    }
  });
});
