import * as fs from "node:fs";
import * as path from "node:path";
import { resourceTypes } from "../../provider/src/resources";
import { ResourceInitError } from "../../provider/src/resources/errors";
import {
  generateSchema,
  schemaJson,
  type PackageSchema,
  type SchemaProperty,
} from "../../provider/src/schema";
import { withoutSameObjectReplacements } from "../../provider/src/resources/common";
import type { DiffResult, PropertySchema, ResourceType } from "../../provider/src/resources/resource";
import type { VSphereClient } from "../../provider/src/vsphere";
import { referenceMarkdown } from "../../provider/src/reference-docs";
import { providerVersion } from "../../provider/src/server/serve";
import { createMemoryResourceTypes, MEMORY_TOKEN } from "../harness/fixtures/memory-resource-types";

const repoRoot = path.resolve(__dirname, "..", "..");

describe("the package schema", () => {
  it("is committed as schema.json exactly as generated (run scripts/gen-schema.ts after changing resources)", () => {
    const committed = fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8");
    expect(committed).toBe(schemaJson({ resourceTypes, version: providerVersion() }));
  });

  it("is documented in docs/reference.md exactly as generated, every property described", () => {
    const schema = generateSchema({ resourceTypes, version: providerVersion() });
    const committed = fs.readFileSync(path.join(repoRoot, "docs", "reference.md"), "utf8");
    expect(committed).toBe(referenceMarkdown(schema));
    for (const [token, resource] of Object.entries(schema.resources)) {
      expect(committed).toContain(`## ${token.split(":")[2]}`);
      for (const [name, property] of Object.entries(resource.properties)) {
        expect({ token, name, description: property.description }).toEqual({
          token,
          name,
          description: expect.stringMatching(/\w{3,}.{12,}/),
        });
        expect(committed).toContain(`| \`${name}\` |`);
      }
    }
  });

  it("names the package, its version and the Node.js SDK package", () => {
    const schema = generateSchema({ resourceTypes, version: "1.2.3" });
    expect(schema.name).toBe("bonneville");
    expect(schema.version).toBe("1.2.3");
    expect(schema.language.nodejs).toMatchObject({ packageName: "@bonneville/pulumi" });
  });

  it("describes every config variable, the password secret, the environment in words only", () => {
    const { variables } = generateSchema({ resourceTypes, version: "0.0.0" }).config;
    expect(Object.keys(variables)).toEqual([
      "vsphereServer",
      "user",
      "password",
      "allowUnverifiedSsl",
      "thumbprint",
      "datacenter",
      "maxTasksInFlight",
      "maxTasksInFlightPerHost",
    ]);
    for (const variable of Object.values(variables)) expect(variable.description).toMatch(/\w{10,}/);
    expect(variables.password).toEqual({
      type: "string",
      description:
        "The password for vCenter; always stored as a secret. Can also be set with the `VSPHERE_PASSWORD` environment variable.",
      secret: true,
    });
    expect(variables.allowUnverifiedSsl).toEqual({
      type: "boolean",
      description: expect.stringContaining("Default `false`") as unknown,
    });
  });

  it("keys resources by token with inputs, outputs, required lists, secrets and replaceOnChanges", () => {
    const { resourceTypes: memory } = createMemoryResourceTypes({ ResourceInitError });
    const schema = generateSchema({ resourceTypes: memory, version: "0.0.0" });
    const resource = schema.resources[MEMORY_TOKEN]!;
    expect(resource.requiredInputs).toEqual(["name"]);
    expect(resource.required).toEqual(["name", "size", "objectId", "generation"]);
    expect(resource.inputProperties.token).toMatchObject({ type: "string", secret: true });
    expect(resource.inputProperties.size).toMatchObject({
      type: "integer",
      default: 1,
      replaceOnChanges: true,
    });
    expect(resource.inputProperties.size!.willReplaceOnChanges).toBeUndefined();
    expect(resource.inputProperties.labels).toEqual({
      type: "object",
      description: "Labels.",
      additionalProperties: { type: "string" },
    });
    expect(resource.properties.objectId).toEqual({
      type: "string",
      description: "The ID the store gave the object.",
    });
  });
});

/** schema.json as committed: what Pulumi's code generators for every language read. */
function committedSchema(): PackageSchema {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, "schema.json"), "utf8")) as PackageSchema;
}

/** A value of the property's type, different from {@link valueOf}(…, "old"). */
function valueOf(property: PropertySchema, which: "old" | "new"): unknown {
  const text = which === "old" ? "DC0/host/DC0_C0/Resources/a" : "resgroup-9";
  switch (property.type) {
    case "string":
      return property.enum ? property.enum[which === "old" ? 0 : 1] : text;
    case "integer":
    case "number":
      return which === "old" ? 1 : 2;
    case "boolean":
      return which === "new";
    case "array":
      return [valueOf(property.items!, which)];
    case "object":
      return { key: property.additionalProperties ? valueOf(property.additionalProperties, which) : text };
  }
}

/**
 * Diff of a change to one input, as the plugin computes it, with vCenter answering that the old
 * and the new value name the same object (so a reference rewritten as its ID is an update).
 */
async function diffOfChange(resourceType: ResourceType, name: string): Promise<DiffResult> {
  const property = resourceType.schema.inputProperties[name]!;
  const olds = { [name]: valueOf(property, "old"), powerState: "poweredOn" };
  const news = { [name]: valueOf(property, "new") };
  const sameObject = { value: "resgroup-9", type: "ResourcePool" };
  const lookups = {
    client: async () => ({ find: { resolve: async () => sameObject } }) as unknown as VSphereClient,
    config: { vsphereServer: "vc", user: "u", password: "p", allowUnverifiedSsl: false },
  };
  const diff = resourceType.diff("vm-1", olds, news);
  return withoutSameObjectReplacements(resourceType.schema, diff, olds, news, lookups);
}

describe("schema.json's flags mean what the plugin does", () => {
  it("marks replaceOnChanges (enforced by the engine) only where Diff always replaces; willReplaceOnChanges where Diff may update in place", async () => {
    const schema = committedSchema();
    const checked: string[] = [];
    for (const resourceType of resourceTypes) {
      const published = schema.resources[resourceType.token]!;
      for (const [name, property] of Object.entries(resourceType.schema.inputProperties)) {
        if (!property.replaceOnChanges) continue;
        const diff = await diffOfChange(resourceType, name);
        const flags = published.inputProperties[name]!;
        const entry = `${resourceType.token}.${name}`;
        checked.push(entry);
        if (diff.replaces.includes(name)) {
          expect({ entry, replaceOnChanges: flags.replaceOnChanges }).toEqual({
            entry,
            replaceOnChanges: true,
          });
        } else {
          // Diff answered an in-place update (the same object named another way).
          expect({ entry, kind: diff.detailedDiff[name] }).toEqual({ entry, kind: "update" });
          expect({ entry, flags: [flags.replaceOnChanges, flags.willReplaceOnChanges] }).toEqual({
            entry,
            flags: [undefined, true],
          });
        }
      }
    }
    expect(checked).toContain("bonneville:index:ContainerVM.parentId");
    expect(checked).toContain("bonneville:index:ContainerVM.image");
  });

  it("declares no environment defaults and no provider-input defaults that other languages' SDKs would write into state", () => {
    const schema = committedSchema();
    const everywhere: [string, SchemaProperty][] = [
      ...Object.entries(schema.config.variables).map(
        ([n, p]) => [`config.${n}`, p] as [string, SchemaProperty],
      ),
      ...Object.entries(schema.provider.inputProperties).map(
        ([n, p]) => [`provider.${n}`, p] as [string, SchemaProperty],
      ),
      ...Object.entries(schema.resources).flatMap(([token, r]) =>
        Object.entries({ ...r.inputProperties, ...r.properties }).map(
          ([n, p]) => [`${token}.${n}`, p] as [string, SchemaProperty],
        ),
      ),
    ];
    expect(everywhere.length).toBeGreaterThan(20);
    expect(everywhere.filter(([, p]) => p.defaultInfo !== undefined).map(([n]) => n)).toEqual([]);
    expect(
      Object.entries(schema.provider.inputProperties)
        .filter(([, p]) => p.default !== undefined)
        .map(([n]) => n),
    ).toEqual([]);
    expect(JSON.stringify(schema)).not.toMatch(/"environment"/);
    // The environment is still honoured by the plugin, and said so.
    expect(schema.provider.description).toContain("`VSPHERE_PASSWORD` for `password`");
  });
});
