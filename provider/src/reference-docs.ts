/**
 * The resource reference (docs/reference.md), generated from the package schema so
 * that the documentation of every resource and property cannot drift from the code.
 */
import type { PackageSchema, SchemaProperty } from "./schema";

function typeOf(p: SchemaProperty): string {
  if (p.type === "array" && p.items) return `list of ${typeOf(p.items)}`;
  if (p.type === "object" && p.additionalProperties) return `map of ${typeOf(p.additionalProperties)}`;
  return p.type;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n+/g, " ");
}

function table(
  properties: Readonly<Record<string, SchemaProperty>>,
  required: readonly string[],
  withDefaults: boolean,
): string[] {
  const lines = [
    withDefaults
      ? "| property | type | required | default | description |"
      : "| property | type | description |",
    withDefaults ? "| --- | --- | --- | --- | --- |" : "| --- | --- | --- |",
  ];
  for (const [name, p] of Object.entries(properties)) {
    const type = `${typeOf(p)}${p.secret ? " (secret)" : ""}`;
    if (withDefaults) {
      const def =
        p.default !== undefined
          ? `\`${JSON.stringify(p.default)}\``
          : p.defaultInfo
            ? `env ${p.defaultInfo.environment.map((e) => `\`${e}\``).join(", ")}`
            : "";
      const replaces = p.replaceOnChanges || p.willReplaceOnChanges;
      const flags = `${required.includes(name) ? "yes" : ""}${replaces ? `${required.includes(name) ? ", " : ""}replaces` : ""}`;
      lines.push(`| \`${name}\` | ${type} | ${flags} | ${def} | ${cell(p.description ?? "")} |`);
    } else {
      lines.push(`| \`${name}\` | ${type} | ${cell(p.description ?? "")} |`);
    }
  }
  return lines;
}

/** Markdown reference of the provider configuration and every resource. */
export function referenceMarkdown(schema: PackageSchema): string {
  const out: string[] = [
    "# Bonneville resource reference",
    "",
    `Generated from \`schema.json\` (package \`${schema.name}\` ${schema.version}) by \`make schema\`; do not edit by hand.`,
    "In the *required* column, *replaces* marks a property whose change replaces the resource; every other change is made in place.",
    "",
    "## Provider configuration",
    "",
    schema.provider.description,
    "",
    ...table(schema.config.variables, [], true),
    "",
  ];
  for (const [token, resource] of Object.entries(schema.resources)) {
    const name = token.split(":")[2] ?? token;
    const outputs = Object.fromEntries(
      Object.entries(resource.properties).filter(([key]) => !(key in resource.inputProperties)),
    );
    out.push(
      `## ${name}`,
      "",
      `Token \`${token}\`.`,
      "",
      resource.description,
      "",
      "### Inputs",
      "",
      ...table(resource.inputProperties, resource.requiredInputs, true),
      "",
      "### Outputs",
      "",
      "Every input is also an output (as vSphere has it after a refresh), plus:",
      "",
      ...table(outputs, [], false),
      "",
    );
  }
  return `${out.join("\n").trimEnd()}\n`;
}
