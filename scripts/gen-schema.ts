/**
 * Writes the Pulumi package schema to schema.json at the repository root, generated from the
 * resource types and the provider config schema (the same function GetSchema serves).
 * `--check` only compares and exits 1 when the committed file is stale.
 *
 * Usage: npx ts-node --transpile-only scripts/gen-schema.ts [--check]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { resourceTypes } from "../provider/src/resources";
import { generateSchema, schemaJson } from "../provider/src/schema";
import { referenceMarkdown } from "../provider/src/reference-docs";
import { providerVersion } from "../provider/src/server/serve";

/** Where the committed schema lives. */
export const schemaPath = path.resolve(__dirname, "..", "schema.json");
/** Where the generated resource reference lives. */
export const referencePath = path.resolve(__dirname, "..", "docs", "reference.md");

function main(args: readonly string[]): number {
  const options = { resourceTypes, version: providerVersion() };
  const files: [string, string][] = [
    [schemaPath, schemaJson(options)],
    [referencePath, referenceMarkdown(generateSchema(options))],
  ];
  if (args.includes("--check")) {
    let stale = 0;
    for (const [file, text] of files) {
      const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      if (committed === text) continue;
      process.stderr.write(`${file} is stale; run: make schema\n`);
      stale++;
    }
    return stale ? 1 : 0;
  }
  for (const [file, text] of files) {
    fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
