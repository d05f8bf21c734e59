/**
 * The parts of `make demo`'s Pulumi CLI path that run without the CLI: finding `pulumi` on PATH and
 * preparing the copy of the project that `pulumi up` runs in.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { copyProgram, findPulumiCli } from "../../scripts/demo-pulumi-cli";

const repoRoot = path.resolve(__dirname, "..", "..");
const example = path.join(repoRoot, "examples", "container-pool");

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-demo-test-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the demo's Pulumi CLI path", () => {
  it("finds an executable named pulumi on PATH, and nothing when there is none", () => {
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin);
    expect(findPulumiCli({ PATH: [bin, "/nonexistent"].join(path.delimiter) })).toBeUndefined();
    fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\n", { mode: 0o644 });
    expect(findPulumiCli({ PATH: bin })).toBeUndefined();
    fs.chmodSync(path.join(bin, "pulumi"), 0o755);
    expect(findPulumiCli({ PATH: `/nonexistent${path.delimiter}${bin}` })).toBe(path.join(bin, "pulumi"));
  });

  it("runs a copy of the example whose Pulumi.yaml points at this repository's plugin build", () => {
    const work = path.join(tmp, "container-pool");
    copyProgram(example, work);
    expect(fs.readdirSync(work).sort()).toEqual([
      "Pulumi.yaml",
      "index.ts",
      "node_modules",
      "package.json",
      "tsconfig.json",
    ]);
    const project = yaml.load(fs.readFileSync(path.join(work, "Pulumi.yaml"), "utf8")) as {
      name: string;
      runtime: unknown;
      plugins: { providers: { name: string; path: string }[] };
    };
    expect(project.name).toBe("container-pool");
    expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
    expect(project.plugins.providers).toEqual([
      { name: "bonneville", path: path.join(repoRoot, "provider", "bin") },
    ]);
    expect(fs.readFileSync(path.join(work, "index.ts"), "utf8")).toBe(
      fs.readFileSync(path.join(example, "index.ts"), "utf8"),
    );
    // The program's imports resolve from the copy as from the original.
    expect(fs.realpathSync(path.join(work, "node_modules", "@bonneville", "pulumi"))).toBe(
      path.join(repoRoot, "sdk", "nodejs"),
    );
  });
});
