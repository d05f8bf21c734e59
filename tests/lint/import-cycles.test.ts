/**
 * No module of the provider or the SDK imports, directly or through others, a module that imports
 * it back (type-only imports count: the layers of DESIGN.md flow one way).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { importCycles, importGraph } from "../support/import-graph";
import { repoRoot } from "../support/sim";

describe("import cycles", () => {
  it.each(["provider/src", "sdk/nodejs/src", "bench/src"])("%s has none", (tree) => {
    expect(importCycles(importGraph(path.join(repoRoot, tree)))).toEqual([]);
  });

  it("finds a cycle through type-only imports, re-exports and index files, naming its modules", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-cycles-"));
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      write("a.ts", 'import type { B } from "./b";\nexport interface A { b: B }\n');
      write("b.ts", 'export { c } from "./lib";\nexport interface B { n: number }\n');
      write("lib/index.ts", 'import { a } from "../a.js";\nexport const c = a;\n');
      write(
        "free.ts",
        'import { B } from "./b";\nimport * as fs from "node:fs";\nexport const f = [B, fs];\n',
      );
      write("self.ts", 'import { x } from "./self";\nexport const x = 1;\n');
      expect(importCycles(importGraph(root))).toEqual([["a.ts", "b.ts", "lib/index.ts"], ["self.ts"]]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
