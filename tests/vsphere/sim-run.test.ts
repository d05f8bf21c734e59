/**
 * sim/run refuses a port in use with one line that names it and the way out, instead of the
 * simulator's Go panic.
 */
import { spawnSync } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "../support/sim";

const simRun = path.join(repoRoot, "sim", "run");

describe("sim/run", () => {
  it.each([
    ["the embedded vSphere", {}],
    ["an upstream vcsim", { VCSIM: "/bin/false" }],
  ])(
    "with its port taken, %s prints one line naming the port and BONNEVILLE_SIM_PORT=0",
    async (_, extra) => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const run = spawnSync(simRun, [], {
          env: { ...process.env, BONNEVILLE_SIM_PORT: String(port), ...extra },
          encoding: "utf8",
          timeout: 60_000,
        });
        expect(run.status).toBe(1);
        expect(run.stdout).toBe("");
        const lines = run.stderr
          .split("\n")
          .filter((l) => l.trim() !== "" && !/building the embedded/.test(l));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`port ${port} on 127.0.0.1 is taken`);
        expect(lines[0]).toContain("BONNEVILLE_SIM_PORT=0");
        expect(run.stderr).not.toMatch(/panic|goroutine/);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
});
