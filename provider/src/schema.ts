/**
 * Generates Bonneville's Pulumi package schema from the resource types and the
 * provider configuration schema. The plugin serves it from GetSchema and
 * `scripts/gen-schema.ts` writes the committed `schema.json` from the same function.
 */
import type { PropertySchema, ResourceType } from "./resources/resource";
import {
  configEnvironmentVariable,
  PACKAGE_NAME,
  providerConfigKeys,
  providerConfigSchema,
} from "./provider-config";
import { pluginDownloadUrl } from "./plugin-download-url";

/** npm package name of the generated Node.js SDK. */
export const NODEJS_PACKAGE_NAME = "@bonneville/pulumi";

/** One property in Pulumi package-schema form. */
export interface SchemaProperty {
  readonly type: string;
  readonly description?: string;
  readonly items?: SchemaProperty;
  readonly additionalProperties?: SchemaProperty;
  readonly default?: unknown;
  /** Never emitted (see toConfigProperty); kept so that a schema read back can be checked for it. */
  readonly defaultInfo?: { readonly environment: readonly string[] };
  readonly secret?: boolean;
  /** A change replaces the resource: Pulumi's code generators make it a resource option the engine enforces. */
  readonly replaceOnChanges?: boolean;
  /** Documentation only: a change replaces the resource, as the provider's Diff decides. */
  readonly willReplaceOnChanges?: boolean;
}

/** One resource in Pulumi package-schema form. */
export interface SchemaResource {
  readonly description: string;
  readonly inputProperties: Readonly<Record<string, SchemaProperty>>;
  readonly requiredInputs: readonly string[];
  readonly properties: Readonly<Record<string, SchemaProperty>>;
  readonly required: readonly string[];
}

/** The Pulumi package schema (the subset Bonneville uses). */
export interface PackageSchema {
  readonly name: string;
  readonly displayName: string;
  readonly version: string;
  readonly description: string;
  readonly keywords: readonly string[];
  readonly license: string;
  readonly publisher: string;
  /** Where the engine downloads the plugin from (see plugin-download-url.ts). */
  readonly pluginDownloadURL: string;
  readonly meta: { readonly moduleFormat: string };
  readonly config: {
    readonly variables: Readonly<Record<string, SchemaProperty>>;
    readonly defaults: readonly string[];
  };
  readonly provider: {
    readonly description: string;
    readonly inputProperties: Readonly<Record<string, SchemaProperty>>;
    readonly requiredInputs: readonly string[];
  };
  readonly resources: Readonly<Record<string, SchemaResource>>;
  readonly language: Readonly<Record<string, unknown>>;
}

/** Options of {@link generateSchema}. */
export interface GenerateSchemaOptions {
  /** The resource types to describe (normally `resourceTypes` from `resources/`). */
  readonly resourceTypes: readonly ResourceType[];
  /** The package version (normally provider/package.json's). */
  readonly version: string;
}

/** Builds the package schema; the output is deterministic (keys in declaration order). */
export function generateSchema(options: GenerateSchemaOptions): PackageSchema {
  const configVariables: Record<string, SchemaProperty> = {};
  for (const key of providerConfigKeys) configVariables[key] = toConfigProperty(providerConfigSchema[key]);

  const resources: Record<string, SchemaResource> = {};
  for (const resourceType of options.resourceTypes) {
    const { schema } = resourceType;
    const inputProperties = mapProperties(schema.inputProperties);
    const properties = { ...inputProperties, ...mapProperties(schema.outputProperties) };
    const required = new Set<string>(schema.requiredInputs);
    for (const [name, property] of Object.entries(schema.inputProperties)) {
      if (property.default !== undefined) required.add(name);
    }
    for (const name of Object.keys(schema.outputProperties)) required.add(name);
    // Every resource names its object itself when `name` is omitted, so its output always has one.
    if ("name" in schema.inputProperties) required.add("name");
    resources[resourceType.token] = {
      description: schema.description,
      inputProperties,
      requiredInputs: [...schema.requiredInputs],
      properties,
      required: [...required],
    };
  }

  return {
    name: PACKAGE_NAME,
    displayName: "Bonneville",
    version: options.version,
    description: "Containers as vSphere virtual machines, each forked in about a second by Instant Clone.",
    keywords: ["pulumi", "bonneville", "vsphere", "containers", "instant-clone", "category/infrastructure"],
    license: "Apache-2.0",
    publisher: "Bonneville",
    pluginDownloadURL: pluginDownloadUrl(),
    meta: { moduleFormat: "(.*)" },
    config: { variables: configVariables, defaults: [] },
    provider: {
      description:
        "The provider type for the bonneville package: one vCenter connection per provider. " +
        "Properties left unset are read by the plugin from its own environment " +
        `(${environmentDefaults()}), so those values never reach the stack's state.`,
      inputProperties: { ...configVariables },
      requiredInputs: [],
    },
    resources,
    language: {
      nodejs: {
        packageName: NODEJS_PACKAGE_NAME,
        packageDescription: "Bonneville: containers as vSphere VMs forked by Instant Clone.",
        dependencies: { "@pulumi/pulumi": "^3.0.0" },
        respectSchemaVersion: true,
      },
    },
  };
}

/** The schema as the JSON text that GetSchema returns and `schema.json` holds (2-space indent, final newline). */
export function schemaJson(options: GenerateSchemaOptions): string {
  return `${JSON.stringify(generateSchema(options), null, 2)}\n`;
}

/** Top-level property names that are always secret in a resource's outputs (or the provider's inputs). */
export function secretPropertyNames(
  properties: Readonly<Record<string, PropertySchema>>,
  ...more: Readonly<Record<string, PropertySchema>>[]
): string[] {
  return [properties, ...more].flatMap((map) =>
    Object.entries(map)
      .filter(([, property]) => property.secret === true)
      .map(([name]) => name),
  );
}

function mapProperties(properties: Readonly<Record<string, PropertySchema>>): Record<string, SchemaProperty> {
  const out: Record<string, SchemaProperty> = {};
  for (const [name, property] of Object.entries(properties)) out[name] = toSchemaProperty(property);
  return out;
}

/**
 * A provider configuration property. Its environment fallback is documented, not declared as
 * `defaultInfo`: Pulumi's generated SDKs for other languages would read `VSPHERE_*` in the program
 * and send the values as provider inputs, which the engine records in the stack's state (the
 * password among them). Nor does it carry a `default`, which those SDKs would send explicitly and
 * so mask the plugin's environment; the plugin applies both itself (CheckConfig, Configure).
 */
function toConfigProperty(property: PropertySchema): SchemaProperty {
  const { default: _default, ...rest } = property;
  void _default;
  return toSchemaProperty(rest);
}

/** `VSPHERE_SERVER` for `vsphereServer`, … (in schema order) for the provider's description. */
function environmentDefaults(): string {
  return providerConfigKeys
    .flatMap((key) => {
      const variable = configEnvironmentVariable(key);
      return variable === undefined ? [] : [`\`${variable}\` for \`${key}\``];
    })
    .join(", ");
}

/**
 * A property in package-schema form. A change that replaces the resource is `replaceOnChanges`
 * (which Pulumi's code generators turn into a resource option the engine enforces, whatever Diff
 * says) only where Diff always replaces; where Diff may answer an in-place update (a reference
 * input rewritten as the ID of the same object) it is the documentation-only `willReplaceOnChanges`.
 */
function toSchemaProperty(property: PropertySchema): SchemaProperty {
  const enumNote =
    property.enum && property.enum.length > 0
      ? ` One of: ${property.enum.map((value) => `\`${value}\``).join(", ")}.`
      : "";
  return {
    type: property.type,
    description: `${property.description}${enumNote}`,
    ...(property.items ? { items: toNestedProperty(property.items) } : {}),
    ...(property.additionalProperties
      ? { additionalProperties: toNestedProperty(property.additionalProperties) }
      : {}),
    ...(property.default !== undefined ? { default: property.default } : {}),
    ...(property.secret ? { secret: true } : {}),
    ...(property.replaceOnChanges
      ? property.reference
        ? { willReplaceOnChanges: true }
        : { replaceOnChanges: true }
      : {}),
  };
}

/** Element and map value types carry only their type (the schema rejects descriptions there). */
function toNestedProperty(property: PropertySchema): SchemaProperty {
  return {
    type: property.type,
    ...(property.items ? { items: toNestedProperty(property.items) } : {}),
    ...(property.additionalProperties
      ? { additionalProperties: toNestedProperty(property.additionalProperties) }
      : {}),
  };
}
