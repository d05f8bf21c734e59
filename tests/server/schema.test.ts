import * as fs from "node:fs";
import * as path from "node:path";
import { resourceTypes } from "../../provider/src/resources";
import { ResourceInitError } from "../../provider/src/resources/errors";
import { generateSchema, schemaJson } from "../../provider/src/schema";
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

  it("describes every config variable, with env defaults and the password secret", () => {
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
    expect(variables.password).toMatchObject({
      secret: true,
      defaultInfo: { environment: ["VSPHERE_PASSWORD"] },
    });
    expect(variables.vsphereServer!.defaultInfo).toEqual({ environment: ["VSPHERE_SERVER"] });
    expect(variables.allowUnverifiedSsl).toMatchObject({ type: "boolean", default: false });
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
