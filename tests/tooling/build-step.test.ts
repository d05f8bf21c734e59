/**
 * scripts/build-step.sh, which runs each step of `make build` (npm ci, the simulator build, tsc):
 * skipped while its stamp is newer than its inputs, and, when two makes on one clone reach the same
 * step at once, run by one of them only, the other waiting for it (the race that broke a second
 * `make demo`'s npm ci).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");
const script = path.join(repoRoot, "scripts", "build-step.sh");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-build-step-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs one step whose command logs its start and end around a pause; resolves with its stderr. */
function step(
  stamp: string,
  input: string,
  log: string,
  pauseSeconds: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      script,
      [
        stamp,
        "the test step",
        input,
        "--",
        "sh",
        "-c",
        `echo start >>"$0"; sleep ${pauseSeconds}; echo end >>"$0"`,
        log,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("scripts/build-step.sh", () => {
  it("runs a step once, then skips it until an input is newer than the stamp", async () => {
    const input = path.join(dir, "input");
    const stamp = path.join(dir, "out", "stamp");
    const log = path.join(dir, "log");
    fs.writeFileSync(input, "1");
    expect(await step(stamp, input, log, 0)).toEqual({ code: 0, stderr: "build-step: the test step\n" });
    expect(await step(stamp, input, log, 0)).toEqual({ code: 0, stderr: "" });
    expect(fs.readFileSync(log, "utf8")).toBe("start\nend\n");
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(input, later, later);
    await step(stamp, input, log, 0);
    expect(fs.readFileSync(log, "utf8")).toBe("start\nend\nstart\nend\n");
  });

  it("lets two makes reaching the same step at once run it once: the second waits, then finds it done", async () => {
    const input = path.join(dir, "input");
    const stamp = path.join(dir, "stamp");
    const log = path.join(dir, "log");
    fs.writeFileSync(input, "1");
    const first = step(stamp, input, log, 2);
    // The second starts while the first holds the lock.
    while (!fs.existsSync(log)) await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await step(stamp, input, log, 2);
    expect(await first).toEqual({ code: 0, stderr: "build-step: the test step\n" });
    expect(second).toEqual({
      code: 0,
      stderr: "build-step: another make on this clone is building; waiting for it before: the test step\n",
    });
    expect(fs.readFileSync(log, "utf8")).toBe("start\nend\n");
  });

  it("fails with the command's exit code and leaves the stamp unwritten", async () => {
    const input = path.join(dir, "input");
    const stamp = path.join(dir, "stamp");
    fs.writeFileSync(input, "1");
    const failed = await new Promise<number | null>((resolve) =>
      spawn(script, [stamp, "a failing step", input, "--", "sh", "-c", "exit 3"], { stdio: "ignore" }).on(
        "close",
        resolve,
      ),
    );
    expect(failed).toBe(3);
    expect(fs.existsSync(stamp)).toBe(false);
  });
});
