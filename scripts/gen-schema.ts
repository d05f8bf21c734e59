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
import { schemaJson } from "../provider/src/schema";
import { providerVersion } from "../provider/src/server/serve";

/** Where the committed schema lives. */
export const schemaPath = path.resolve(__dirname, "..", "schema.json");

function main(args: readonly string[]): number {
  const text = schemaJson({ resourceTypes, version: providerVersion() });
  if (args.includes("--check")) {
    const committed = fs.existsSync(schemaPath) ? fs.readFileSync(schemaPath, "utf8") : "";
    if (committed === text) return 0;
    process.stderr.write(`${schemaPath} is stale; run: npx ts-node --transpile-only scripts/gen-schema.ts\n`);
    return 1;
  }
  fs.writeFileSync(schemaPath, text);
  process.stdout.write(`wrote ${schemaPath} (${resourceTypes.length} resource types)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
