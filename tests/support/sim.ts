/**
 * Starts and controls Bonneville's embedded vSphere (sim/) for tests: each
 * call to {@link startSim} runs its own simulator on a free loopback port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import type { VSphereClient } from "../../provider/src/vsphere";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const simBinary = path.join(repoRoot, "sim", ".build", "bonneville-sim");

/** Connection details printed by the simulator's READY line. */
export interface SimEndpoint {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly thumbprint: string;
}

/** A fault rule for the simulator's control API (see sim/overlay/bonneville_control.go). */
export interface FaultRule {
  readonly method: string;
  readonly rate?: number;
  readonly fault?: string;
  readonly drop?: boolean;
  readonly latencyMs?: number;
  readonly count?: number;
  /** A `*_Task` call answers at once with its task, queued, and does its work this much later (InstantClone_Task). */
  readonly taskDelayMs?: number;
  /** With method `WaitForUpdatesEx`: the property collector misses the notifications (count: polls hit). */
  readonly missUpdates?: boolean;
}

export interface SimInventoryVM {
  id: string;
  name: string;
  template: boolean;
  powerState: string;
  host: string;
  pool: string;
  folder: string;
  networks: string[];
  extraConfig: Record<string, string>;
  ipAddress: string;
}
export interface SimInventoryEntity {
  id: string;
  name: string;
  parent: string;
}
export interface SimInventory {
  virtualMachines: SimInventoryVM[];
  portGroups: SimInventoryEntity[];
  resourcePools: SimInventoryEntity[];
  folders: SimInventoryEntity[];
  hosts: SimInventoryEntity[];
}

export interface SimStats {
  calls: Record<string, number>;
  injected: Record<string, number>;
  sessions: number;
}

/** The vCenter timing model's figures (see sim/overlay/bonneville_timing.go). */
export interface SimTimingModel {
  cloneMs: number;
  perHost: number;
  vcenterTasks: number;
  powerOffMs: number;
  destroyMs: number;
  toolsAddressMs: number;
  agentStartMs: number;
  spread: number;
}

/** GET /bonneville/timing: the model, each modelled operation, and when each container reported running. */
export interface SimTimingReport {
  on: boolean;
  model?: SimTimingModel;
  ops: {
    method: string;
    task: string;
    name?: string;
    vm?: string;
    host?: string;
    queuedAt: number;
    startedAt?: number;
    endedAt?: number;
    /** How long the model drew for the work, ms (endedAt − startedAt adds the simulator's own delays). */
    drawnMs?: number;
  }[];
  /** VM ID → when its guest reported the container running (Unix ms). */
  running: Record<string, number>;
  /** VM ID → the drawn time from the fork's power-on to its guest reporting, ms. */
  bootDrawn: Record<string, number>;
  peakVCenter: number;
  peakHost: Record<string, number>;
  queuedNow: number;
}

/** A running simulator and its control API. */
export class Sim implements SimEndpoint {
  private constructor(
    private readonly child: ChildProcess | undefined,
    readonly url: string,
    readonly user: string,
    readonly password: string,
    readonly thumbprint: string,
  ) {}

  /** Attaches to a simulator started elsewhere (the global test setup). */
  static attach(endpoint: SimEndpoint): Sim {
    return new Sim(undefined, endpoint.url, endpoint.user, endpoint.password, endpoint.thumbprint);
  }

  static async start(env: Record<string, string> = {}): Promise<Sim> {
    const child = spawn(simBinary, [], {
      env: { ...process.env, BONNEVILLE_SIM_PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stderr: string[] = [];
    child.stderr!.on("data", (d: Buffer) => {
      stderr.push(d.toString());
      if (stderr.length > 200) stderr.shift();
    });
    const lines = readline.createInterface({ input: child.stdout! });
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`simulator not ready in 30s: ${stderr.join("")}`)),
        30000,
      );
      lines.on("line", (line) => {
        if (line.startsWith("BONNEVILLE_SIM_READY ")) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`simulator exited with ${code}: ${stderr.join("")}`));
      });
    });
    const fields = parseReadyLine(ready);
    return new Sim(child, fields.url, fields.user, fields.password, fields.thumbprint);
  }

  /** The simulator's process ID (undefined for one attached to, not started). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Base URL of the control API (same origin as the SDK endpoint). */
  get controlUrl(): string {
    return this.url.replace(/\/sdk$/, "/bonneville");
  }

  private async control<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await insecureFetch(`${this.controlUrl}${route}`, method, body);
    if (res.status !== 200) throw new Error(`sim control ${method} ${route}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as T;
  }

  inventory(): Promise<SimInventory> {
    return this.control<SimInventory>("GET", "/inventory").then((inv) => ({
      virtualMachines: inv.virtualMachines ?? [],
      portGroups: inv.portGroups ?? [],
      resourcePools: inv.resourcePools ?? [],
      folders: inv.folders ?? [],
      hosts: inv.hosts ?? [],
    }));
  }
  stats(): Promise<SimStats> {
    return this.control<SimStats>("GET", "/stats");
  }
  resetStats(): Promise<unknown> {
    return this.control("POST", "/stats/reset");
  }
  addFault(rule: FaultRule): Promise<unknown> {
    return this.control("POST", "/faults", rule);
  }
  clearFaults(): Promise<unknown> {
    return this.control("DELETE", "/faults");
  }
  expireSessions(): Promise<{ expired: number }> {
    return this.control("POST", "/sessions/expire");
  }
  /** Turns the vCenter timing model on with these figures (the rest at the model's defaults). */
  setTiming(model: Partial<SimTimingModel>): Promise<unknown> {
    return this.control("POST", "/timing", model);
  }
  /** The vCenter timing model's report (sim/overlay/bonneville_timing.go). */
  timing(): Promise<SimTimingReport> {
    return this.control<SimTimingReport>("GET", "/timing");
  }

  /**
   * Runs `body` with an operator's vSphere client, logged in to this simulator and closed after:
   * someone acting in the vSphere client behind Bonneville's back.
   */
  async operator<T>(body: (client: VSphereClient) => Promise<T>): Promise<T> {
    const { VSphereClient } = await import("../../provider/src/vsphere");
    const client = new VSphereClient({
      url: this.url,
      user: this.user,
      password: this.password,
      thumbprint: this.thumbprint,
    });
    try {
      return await body(client);
    } finally {
      await client.close();
    }
  }

  /** Deletes a VM (powered off first) as an operator would. */
  destroyVm(id: string): Promise<void> {
    return this.operator(async (client) => {
      const { VirtualMachine, MoRef } = await import("../../provider/src/vsphere");
      const vm = new VirtualMachine(client, new MoRef("VirtualMachine", id));
      await vm.powerOff();
      await vm.destroy();
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }
}

export function parseReadyLine(line: string): SimEndpoint {
  const fields: Record<string, string> = {};
  for (const part of line.trim().split(/\s+/).slice(1)) {
    const eq = part.indexOf("=");
    fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  for (const key of ["url", "user", "password", "thumbprint"]) {
    if (!fields[key]) throw new Error(`READY line lacks ${key}: ${line}`);
  }
  return { url: fields.url!, user: fields.user!, password: fields.password!, thumbprint: fields.thumbprint! };
}

/** HTTPS request to the simulator's own control API; its certificate is self-signed. */
export async function insecureFetch(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const https = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (body !== undefined) {
      req.setHeader("content-type", "application/json");
      req.end(JSON.stringify(body));
    } else {
      req.end();
    }
  });
}

/** The simulator the global test setup started for this run. */
export function sharedSim(): Sim {
  const raw = process.env.BONNEVILLE_TEST_SIM;
  if (!raw)
    throw new Error("BONNEVILLE_TEST_SIM is not set: run the tests with `make test` (jest global setup)");
  return Sim.attach(JSON.parse(raw) as SimEndpoint);
}
