/**
 * The govmomi peer (bench/peer/): builds it, and runs it against a world's
 * simulator with the same parents, pool, folder, port group and container
 * spec that the Bonneville fleet uses.
 */
import { execFile, execFileSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../../tests/harness";
import { CONTAINER, containersOf, type FleetWorld, type PhaseFigures } from "./fleet";
import { perItem, round2, summarize } from "./measure";

/** What the peer prints (see bench/peer/main.go). */
interface PeerOutput {
  readonly n: number;
  readonly wallMs: number;
  readonly createMs: readonly number[];
  readonly createCpuMs: number;
  readonly soapCalls: Record<string, number>;
  readonly soapCallsTotal: number;
  readonly setupSoapCalls: Record<string, number>;
  readonly destroyWallMs: number | null;
  readonly destroyMs?: readonly number[];
  readonly destroySoapCalls?: Record<string, number>;
  readonly destroyCpuMs?: number;
  readonly errors: readonly string[];
}

/** The peer's figures at one N. */
export interface PeerFleetFigures {
  readonly client: "govmomi-peer";
  readonly n: number;
  readonly create: PhaseFigures;
  readonly delete: PhaseFigures;
  /**
   * SOAP calls the simulator counted for the whole peer process, and the peer's own count of the
   * same (its login's RetrieveServiceContent and the final Logout are made before and after it counts).
   */
  readonly soapCrossCheck: { readonly simulator: number; readonly peer: number };
  /** Container VMs left in the simulator after the peer destroyed its clones (0 when it cleaned up). */
  readonly verified: { readonly containersLeftAfterDelete: number };
}

/** Builds the peer when its sources changed (Go and Debian's govmomi); returns the binary's path. */
export function buildPeer(): string {
  const script = path.join(repoRoot, "bench", "peer", "build");
  const out = execFileSync(script, [], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trim().split("\n");
  return lines[lines.length - 1]!;
}

/**
 * Runs the peer on `world` (whose plugin should be closed first, so only the peer talks to the
 * simulator): N instant clones of the world's parents, then their destruction.
 */
export async function runPeerFleet(world: FleetWorld, n: number, binary: string): Promise<PeerFleetFigures> {
  const args = [...peerArgs(world, n, "peer-c"), "-destroy"];
  await world.sim.resetStats();
  const stdout = await runProgram(binary, args);
  const simCalls = (await world.sim.stats()).calls;
  const containersLeftAfterDelete = containersOf(await world.sim.inventory()).length;
  const out = JSON.parse(stdout) as PeerOutput;
  const destroyCalls = out.destroySoapCalls ?? {};
  const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
  const createPer = perItem(out.soapCalls, n);
  const destroyPer = perItem(destroyCalls, n);
  return {
    client: "govmomi-peer",
    n,
    create: {
      n,
      wallMs: round2(out.wallMs),
      latency: summarize(out.createMs),
      soap: { calls: out.soapCalls, perItemByMethod: createPer.byMethod, perItem: createPer.total },
      clientCpuMs: round2(out.createCpuMs),
      clientCpuMsPerItem: round2(out.createCpuMs / n),
      errors: out.errors.filter((e) => e.startsWith("create ")),
    },
    delete: {
      n,
      wallMs: round2(out.destroyWallMs ?? 0),
      latency: summarize(out.destroyMs ?? []),
      soap: { calls: destroyCalls, perItemByMethod: destroyPer.byMethod, perItem: destroyPer.total },
      clientCpuMs: round2(out.destroyCpuMs ?? 0),
      clientCpuMsPerItem: round2((out.destroyCpuMs ?? 0) / n),
      errors: out.errors.filter((e) => !e.startsWith("create ")),
    },
    soapCrossCheck: {
      simulator: sum(simCalls),
      peer: sum(out.setupSoapCalls) + out.soapCallsTotal + sum(destroyCalls),
    },
    verified: { containersLeftAfterDelete },
  };
}

/**
 * The peer's arguments for N clones of the world's parents named `<prefix>-<i>`, with the same pool,
 * folder, port group and container spec as the Bonneville fleet (creates only; add `-destroy`).
 */
export function peerArgs(world: FleetWorld, n: number, prefix: string): string[] {
  const networks = world.host.outputs.networks as Record<string, string>;
  return [
    "-url",
    world.sim.url,
    "-user",
    world.sim.user,
    "-password",
    world.sim.password,
    "-thumbprint",
    world.sim.thumbprint,
    "-parents",
    world.parents.map((p) => p.id).join(","),
    "-folder",
    String(world.host.outputs.folderId),
    "-pool",
    String(world.host.outputs.resourcePoolId),
    "-network",
    networks.bridge!,
    "-image",
    CONTAINER.image,
    "-command",
    JSON.stringify(CONTAINER.command),
    "-env",
    JSON.stringify(CONTAINER.env),
    "-labels",
    JSON.stringify(CONTAINER.labels),
    "-prefix",
    prefix,
    "-n",
    String(n),
  ];
}

/** Runs a program to completion and returns its stdout (a failed clone still prints its figures). */
export function runProgram(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && !stdout.trim())
        reject(new Error(`${path.basename(file)} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
