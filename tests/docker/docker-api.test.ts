/**
 * `bonneville docker-api` driven by the real docker CLI (/usr/local/bin/docker, client 28.x) against an
 * embedded vSphere of its own: a ContainerHost and a ParentTemplate made by the resource functions,
 * then `docker version`, `info`, `network ls`, `run -d`, `ps`, `ps -a --filter label=…`, `inspect`,
 * `stop` and `rm`, each output checked against the simulator's inventory, which is as it was at the end.
 * Also: the listen policy (no non-loopback address without TLS client verification, TLS with client
 * certificates works), Docker's error form for unsupported endpoints, created-then-started containers,
 * the agent's failure, `docker wait`, and containers a Pulumi program owns.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Sim, insecureFetch, repoRoot, type SimInventory, type SimInventoryVM } from "../support/sim";
import { MoRef, objectKinds, VirtualMachine, VSphereClient } from "../../provider/src/vsphere";
import { containerHost, containerVm, parentTemplate } from "../../provider/src/resources";
import type { OperationContext, PropertyMap, ProviderConfig } from "../../provider/src/resources";
import { ensurePluginBuilt } from "../harness/plugin";

/** The docker CLI: the first `docker` on PATH (this machine's is /usr/local/bin/docker). */
const DOCKER = findDocker();

function findDocker(): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).concat("/usr/local/bin")) {
    const candidate = path.join(dir, "docker");
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    "the docker CLI is not installed: these tests drive the real `docker` client (no daemon needed)",
  );
}
const bonnevilleBin = path.join(repoRoot, "provider", "bin", "bonneville");

let sim: Sim;
let client: VSphereClient;
let config: ProviderConfig;
let before: SimInventory;
let withHost: SimInventory;
let hostId: string;
let hostName: string;
let folderId: string;
let bridgeId: string;
let parentId: string;
let endpoint: Endpoint;
let dockerConfig: string;

function context(urn: string): OperationContext {
  return {
    client: () => Promise.resolve(client),
    urn,
    signal: new AbortController().signal,
    progress: () => undefined,
    config,
  };
}

/** A running `bonneville docker-api` process. */
interface Endpoint {
  readonly child: ChildProcess;
  readonly dockerHost: string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Environment of the endpoint: the simulator's connection, as a user would export it. */
function endpointEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("VSPHERE_")) env[k] = v;
  return {
    ...env,
    VSPHERE_SERVER: sim.url,
    VSPHERE_USER: sim.user,
    VSPHERE_PASSWORD: sim.password,
    VSPHERE_THUMBPRINT: sim.thumbprint,
  };
}

/** Starts the endpoint with `flags` and reads its DOCKER_HOST line. */
async function startEndpoint(flags: readonly string[]): Promise<Endpoint> {
  const child = spawn(bonnevilleBin, ["docker-api", ...flags], {
    env: endpointEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const dockerHost = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`endpoint not ready in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /DOCKER_HOST=(\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`endpoint exited with ${code}: ${stderr}`));
    });
  });
  return {
    child,
    dockerHost,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs `bonneville` to completion (for start-up refusals). */
function runBonneville(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onStderr?: (text: string, child: ChildProcess) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bonnevilleBin, args, {
      env: { ...endpointEnv(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

interface DockerResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real docker CLI against `host` (default: the test's endpoint) with a private config dir. */
function docker(
  args: readonly string[],
  options: { host?: string; tls?: readonly string[]; started?: (child: ChildProcess) => void } = {},
): Promise<DockerResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DOCKER_")) env[k] = v;
  env.DOCKER_CONFIG = dockerConfig;
  env.DOCKER_CLI_HINTS = "false";
  const argv = [...(options.tls ?? []), "-H", options.host ?? endpoint.dockerHost, ...args];
  return new Promise((resolve) => {
    const child = execFile(DOCKER, argv, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    options.started?.(child);
  });
}

/** The rows of a docker table output (`ps`, `network ls`), each split on runs of 2+ spaces. */
function rows(output: string): string[][] {
  return output
    .trim()
    .split("\n")
    .slice(1)
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s{2,}/));
}

/** A raw HTTP request to the endpoint (for answers the CLI rewords). */
function rawRequest(
  method: string,
  urlPath: string,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const { hostname, port } = new URL(endpoint.dockerHost.replace(/^tcp:/, "http:"));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: urlPath }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A POST asking to upgrade the connection, as BuildKit's session does; resolves with a refusal. */
function upgradeRequest(urlPath: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(endpoint.dockerHost.replace(/^tcp:/, "http:"));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: hostname,
      port,
      method: "POST",
      path: urlPath,
      headers: { Connection: "Upgrade", Upgrade: "h2c" },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("upgrade", () => reject(new Error(`${urlPath} was upgraded`)));
    req.on("error", reject);
    req.end();
  });
}

/** A raw request that resolves once the response headers arrive; `body` resolves when it ends. */
function rawResponse(method: string, urlPath: string): Promise<{ status: number; body: Promise<string> }> {
  const { hostname, port } = new URL(endpoint.dockerHost.replace(/^tcp:/, "http:"));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: urlPath }, (res) => {
      const body = new Promise<string>((done) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => done(text));
      });
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on("error", reject);
    req.end();
  });
}

function vmNamed(inventory: SimInventory, name: string): SimInventoryVM | undefined {
  return inventory.virtualMachines.find((v) => v.name === name && v.pool === hostId);
}

function decoded(vm: SimInventoryVM, key: string): unknown {
  return JSON.parse(Buffer.from(vm.extraConfig[key]!, "base64").toString("utf8"));
}

const vmIds = (inventory: SimInventory) => inventory.virtualMachines.map((v) => v.id).sort();

/** Builds provider/dist when its sources changed (the command runs compiled code). */
function ensureCliBuilt(): void {
  ensurePluginBuilt();
  const main = path.join(repoRoot, "provider", "dist", "cli", "main.js");
  if (fs.existsSync(main)) return;
  execFileSync(process.execPath, [
    path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    path.join(repoRoot, "provider", "tsconfig.json"),
  ]);
}

beforeAll(async () => {
  ensureCliBuilt();
  dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-docker-config-"));
  sim = await Sim.start({ BONNEVILLE_SIM_READY_MS: "200" });
  before = await sim.inventory();
  config = {
    vsphereServer: sim.url,
    user: sim.user,
    password: sim.password,
    allowUnverifiedSsl: false,
    thumbprint: sim.thumbprint,
  };
  client = new VSphereClient({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
  });
  const hostInputs = containerHost.check(
    {
      name: "docker-host",
      cluster: "DC0_C0",
      bridgeSwitch: "DVS0",
      containerNetworks: { frontend: "DC0_DVPG1" },
    },
    undefined,
    { name: "docker-host" },
  );
  expect(hostInputs.failures).toEqual([]);
  const host = await containerHost.create(
    context("urn:pulumi:test::docker::bonneville:index:ContainerHost::host"),
    hostInputs.inputs,
  );
  hostId = host.id;
  hostName = String(host.outputs.name);
  folderId = String(host.outputs.folderId);
  bridgeId = String(host.outputs.bridgePortGroupId);
  const parentInputs = parentTemplate.check(
    {
      name: "docker-parent",
      source: "bonneville-source",
      resourcePoolId: hostId,
      folderId,
      networks: [bridgeId],
    },
    undefined,
    { name: "docker-parent" },
  );
  expect(parentInputs.failures).toEqual([]);
  const parent = await parentTemplate.create(
    context("urn:pulumi:test::docker::bonneville:index:ParentTemplate::parent"),
    parentInputs.inputs,
  );
  parentId = parent.id;
  withHost = await sim.inventory();
  endpoint = await startEndpoint([
    "--host-id",
    hostId,
    "--parent-id",
    parentId,
    "--listen",
    "tcp://127.0.0.1:0",
    "--network",
    "frontend=DC0_DVPG1",
    "--start-timeout",
    "60",
  ]);
});

afterAll(async () => {
  await endpoint?.stop();
  await client?.close();
  await sim?.stop();
  if (dockerConfig) fs.rmSync(dockerConfig, { recursive: true, force: true });
});

describe("bonneville docker-api with the docker CLI", () => {
  it("prints the DOCKER_HOST it listens on, on loopback", () => {
    expect(endpoint.dockerHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  it("docker version negotiates API 1.47 and names the engine", async () => {
    const result = await docker(["version"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/API version:\s+1\.47 \(downgraded from 1\.\d+\)/);
    expect(result.stdout).toContain("Server: Bonneville (containers as vSphere VMs forked by Instant Clone)");
    expect(result.stdout).toMatch(/API version:\s+1\.47 \(minimum version 1\.24\)/);
    expect(result.stdout).toMatch(/Version:\s+0\.\d+\.\d+/);
  });

  it("docker info describes the ContainerHost", async () => {
    const result = await docker(["info"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ Containers: 0\n/);
    expect(result.stdout).toContain(" Storage Driver: vsphere-instant-clone");
    expect(result.stdout).toContain(`  ContainerHost: ${hostName} (${hostId})`);
    expect(result.stdout).toContain(`  ParentTemplate: docker-parent (${parentId})`);
    expect(result.stdout).toContain(` Name: ${hostName}`);
    expect(result.stdout).toContain(" Swarm: inactive");
    expect(result.stdout).toContain(" OSType: linux");
  });

  it("docker network ls lists the host's bridge and its configured network", async () => {
    const result = await docker(["network", "ls"]);
    expect(result.code).toBe(0);
    const table = rows(result.stdout);
    expect(table.map((r) => r.slice(1))).toEqual([
      ["bridge", "vsphere-portgroup", "local"],
      ["frontend", "vsphere-portgroup", "local"],
    ]);
    for (const r of table) expect(r[0]).toMatch(/^[0-9a-f]{12}$/);
    const inspect = JSON.parse((await docker(["network", "inspect", "bridge"])).stdout) as Record<
      string,
      unknown
    >[];
    expect(inspect[0]!.Options).toEqual({
      "com.bonneville.port-group-id": bridgeId,
      "com.bonneville.port-group-name": `${hostName}-bridge`,
      "com.bonneville.source": "bridge",
    });
  });

  let webId: string;
  let webVm: SimInventoryVM;

  it("docker run -d --name web nginx:1.27 records the image and forks one container VM", async () => {
    await sim.resetStats();
    const result = await docker([
      "run",
      "-d",
      "--name",
      "web",
      "--label",
      "app=web",
      "-e",
      "MODE=test",
      "nginx:1.27",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    webId = result.stdout.trim();
    expect(result.stderr).toContain("Unable to find image 'nginx:1.27' locally");
    expect(result.stderr).toContain(
      "Recorded nginx:1.27 for ContainerHost docker-host: nothing is downloaded here",
    );
    const stats = await sim.stats();
    expect(stats.calls.InstantClone_Task).toBe(1);
    expect(stats.calls.CloneVM_Task).toBeUndefined();

    const inventory = await sim.inventory();
    expect(inventory.virtualMachines).toHaveLength(withHost.virtualMachines.length + 1);
    webVm = vmNamed(inventory, "web")!;
    expect(webVm).toBeDefined();
    expect(webVm.powerState).toBe("poweredOn");
    expect(webVm.folder).toBe(folderId);
    expect(webVm.networks).toEqual([bridgeId]);
    expect(webVm.extraConfig["bonneville.managed"]).toBe("true");
    expect(webVm.extraConfig["bonneville.role"]).toBe("container");
    expect(webVm.extraConfig["bonneville.parent"]).toBe(parentId);
    expect(webVm.extraConfig["bonneville.urn"]).toBe(`urn:bonneville:docker-api::${hostId}::web`);
    expect(webVm.extraConfig["guestinfo.bonneville.image"]).toBe("nginx:1.27");
    expect(webVm.extraConfig["guestinfo.bonneville.status"]).toBe("running");
    expect(decoded(webVm, "guestinfo.bonneville.labels")).toEqual({ app: "web" });
    expect(decoded(webVm, "guestinfo.bonneville.env")).toEqual({ MODE: "test" });
  });

  it("docker ps shows web running", async () => {
    const result = await docker(["ps"]);
    expect(result.code).toBe(0);
    const table = rows(result.stdout);
    expect(table).toHaveLength(1);
    const [id, image, , , status, name] = table[0]!;
    expect(id).toBe(webId.slice(0, 12));
    expect(image).toBe("nginx:1.27");
    expect(status).toMatch(/^Up /);
    expect(name).toBe("web");
  });

  it("docker ps -a --filter label=… selects by label", async () => {
    const hit = await docker([
      "ps",
      "-a",
      "--filter",
      "label=app=web",
      "--format",
      '{{.Names}} {{.Label "app"}}',
    ]);
    expect(hit.code).toBe(0);
    expect(hit.stdout).toBe("web web\n");
    const miss = await docker(["ps", "-a", "--filter", "label=app=db", "--format", "{{.Names}}"]);
    expect(miss.stdout).toBe("");
    const byName = await docker(["ps", "-a", "--filter", "name=we", "--filter", "status=running", "-q"]);
    expect(byName.stdout).toBe(`${webId.slice(0, 12)}\n`);
  });

  it("docker inspect web reports the VM's state, spec, network and identity", async () => {
    const result = await docker(["inspect", "web"]);
    expect(result.code).toBe(0);
    const [c] = JSON.parse(result.stdout) as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(c!.Id).toBe(webId);
    expect(c!.Name).toBe("/web");
    expect(c!.State).toMatchObject({ Status: "running", Running: true, ExitCode: 0, Error: "" });
    expect(c!.Config).toMatchObject({
      Image: "nginx:1.27",
      Hostname: "web",
      Labels: { app: "web" },
      Env: ["MODE=test"],
    });
    expect(c!.HostConfig.NetworkMode).toBe("bridge");
    // The agent's report for this fork, not what Tools shows first (the parent's address).
    expect(c!.NetworkSettings.Networks.bridge.IPAddress).toBe(
      webVm.extraConfig["guestinfo.bonneville.ipAddress"],
    );
    expect(c!.NetworkSettings.Networks.bridge.MacAddress).toMatch(/^00:50:56:/);
    expect(c!.Bonneville).toMatchObject({
      Urn: `urn:bonneville:docker-api::${hostId}::web`,
      VmId: webVm.id,
      ManagedBy: "docker-api",
      ParentId: parentId,
      PowerState: "poweredOn",
      AgentStatus: "running",
    });
  });

  it("Pulumi's ContainerVM read sees the same container", async () => {
    const read = await containerVm.read(context("urn:any"), webVm.id, undefined);
    expect(read!.outputs).toMatchObject({
      name: "web",
      image: "nginx:1.27",
      labels: { app: "web" },
      env: { MODE: "test" },
      powerState: "poweredOn",
      containerStatus: "running",
      portGroupIds: [bridgeId],
    });
  });

  it("docker stop web powers the VM off and ps -a shows it exited", async () => {
    const result = await docker(["stop", "web"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("web\n");
    expect(vmNamed(await sim.inventory(), "web")!.powerState).toBe("poweredOff");
    expect((await docker(["ps", "-q"])).stdout).toBe("");
    const all = rows((await docker(["ps", "-a"])).stdout);
    expect(all).toHaveLength(1);
    expect(all[0]![4]).toBe("Exited (137)");
    const inspect = JSON.parse((await docker(["inspect", "web"])).stdout) as {
      State: Record<string, unknown>;
    }[];
    expect(inspect[0]!.State).toMatchObject({ Status: "exited", Running: false, ExitCode: 137 });
  });

  it("docker rm web destroys the VM, leaving the host's inventory as it was", async () => {
    const result = await docker(["rm", "web"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("web\n");
    expect((await docker(["ps", "-a", "-q"])).stdout).toBe("");
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("docker images lists the recorded reference", async () => {
    const result = await docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("nginx:1.27 0B\n");
  });

  it("docker create only records the container; docker start forks it", async () => {
    const created = await docker(["create", "--name", "later", "--network", "frontend", "nginx:1.27"]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
    expect((await docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).stdout).toBe("later Created\n");

    expect((await docker(["start", "later"])).code).toBe(0);
    const vm = vmNamed(await sim.inventory(), "later")!;
    expect(vm.networks).toEqual(["dvportgroup-15"]);
    expect(vm.powerState).toBe("poweredOn");
    expect((await docker(["ps", "--format", "{{.Names}} {{.Networks}}"])).stdout).toBe("later frontend\n");

    expect((await docker(["rm", "later"])).stderr).toContain("it is running; stop it first");
    expect((await docker(["rm", "-f", "later"])).code).toBe(0);
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("docker run fails with the agent's message when the guest cannot start the image", async () => {
    const result = await docker(["run", "-d", "--name", "broken", "bonneville-sim/fail:1"]);
    expect(result.code).toBe(125);
    expect(result.stderr).toContain(
      "its guest agent could not start it: pull bonneville-sim/fail:1: not found",
    );
    const state = JSON.parse((await docker(["inspect", "broken"])).stdout) as {
      State: Record<string, unknown>;
    }[];
    expect(state[0]!.State).toMatchObject({
      Status: "exited",
      ExitCode: 128,
      Error: "pull bonneville-sim/fail:1: not found",
    });
    expect((await docker(["rm", "-f", "broken"])).code).toBe(0);
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("docker wait returns the exit code when the container is killed", async () => {
    expect((await docker(["run", "-d", "--name", "waited", "nginx:1.27"])).code).toBe(0);
    // The endpoint answers the wait's headers at once (the docker CLI relies on it) and its body on exit.
    const waiting = await rawResponse("POST", "/v1.47/containers/waited/wait?condition=next-exit");
    expect(waiting.status).toBe(200);
    expect((await docker(["kill", "waited"])).code).toBe(0);
    expect(JSON.parse(await waiting.body)).toEqual({ StatusCode: 137, Error: null });
    const result = await docker(["wait", "waited"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("137\n");
    expect((await docker(["rm", "waited"])).code).toBe(0);
  });

  it("lists a container a Pulumi program owns, hides its env values and refuses to change it", async () => {
    const urn = "urn:pulumi:test::docker::bonneville:index:ContainerVM::api";
    const checked = containerVm.check(
      {
        name: "pulumi-api",
        parentId,
        image: "nginx:1.27",
        env: { API_TOKEN: "token-never-shown" },
        labels: { owner: "pulumi" },
        resourcePoolId: hostId,
        folderId,
      },
      undefined,
      { name: "api" },
    );
    const made = await containerVm.create(context(urn), checked.inputs);
    try {
      const listed = await docker([
        "ps",
        "--filter",
        "label=owner=pulumi",
        "--format",
        "{{.Names}} {{.State}}",
      ]);
      expect(listed.stdout).toBe("pulumi-api running\n");
      const inspect = await docker(["inspect", "pulumi-api"]);
      expect(inspect.stdout).not.toContain("token-never-shown");
      const [c] = JSON.parse(inspect.stdout) as {
        Config: { Env: string[] };
        Bonneville: Record<string, string>;
      }[];
      expect(c!.Config.Env).toEqual(["API_TOKEN=(set by Pulumi; not shown)"]);
      expect(c!.Bonneville).toMatchObject({ ManagedBy: "pulumi", Urn: urn, VmId: made.id });
      const stop = await docker(["stop", "pulumi-api"]);
      expect(stop.code).not.toBe(0);
      expect(stop.stderr).toContain(`cannot stop container pulumi-api: a Pulumi program owns it (${urn})`);
      const rm = await docker(["rm", "-f", "pulumi-api"]);
      expect(rm.stderr).toContain("cannot remove container pulumi-api: a Pulumi program owns it");
      expect(vmNamed(await sim.inventory(), "pulumi-api")!.powerState).toBe("poweredOn");
    } finally {
      await containerVm.delete(context(urn), made.id, made.outputs as PropertyMap);
    }
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("refuses what a container VM cannot honour, naming it", async () => {
    const taken = await docker(["run", "-d", "--name", "docker-parent", "nginx:1.27"]);
    expect(taken.code).toBe(125);
    expect(taken.stderr).toContain(
      `the name "docker-parent" is taken by VM ${parentId} in the ContainerHost's folder (VM names are unique in a folder)`,
    );
    const ports = await docker(["run", "-d", "-p", "8080:80", "nginx:1.27"]);
    expect(ports.code).toBe(125);
    expect(ports.stderr).toContain("publishing ports (-p, -P) is not supported by Bonneville's Docker API");
    // Input is refused at create, so the refused run leaves no "Created" container behind.
    const interactive = await docker(["run", "-i", "--name", "foreground", "nginx:1.27"]);
    expect(interactive.code).toBe(125);
    expect(interactive.stderr).toContain(
      "interactive input (-i) is not supported by Bonneville's Docker API: a container VM's output leaves it through a read-only serial port file; there is no channel for input or a terminal; run without -i",
    );
    expect((await docker(["ps", "-a", "--format", "{{.Names}}"])).stdout).toBe("");
    // The network fails the create before the image is looked up, so nothing is pulled.
    const network = await docker(["run", "--network", "backend", "never-pulled:1"]);
    expect(network.code).toBe(125);
    expect(network.stderr).toContain("network backend not found: this ContainerHost has bridge, frontend");
    expect(network.stderr).not.toContain("Unable to find image");
    expect(network.stdout).toBe("");
    expect((await docker(["images", "--format", "{{.Repository}}"])).stdout).not.toContain("never-pulled");
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("answers unsupported endpoints in Docker's error form, naming the feature", async () => {
    const top = await rawRequest("GET", "/v1.47/containers/web/top");
    expect(top.status).toBe(501);
    expect(top.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(top.body)).toEqual({
      message:
        "top is not supported by Bonneville's Docker API: the container runs inside its own VM and the guest contract carries no channel for it (use the VM's console or your own tooling in the guest)",
    });
    // An upgrade that is not an attach (BuildKit's session) gets the same answer.
    const session = await upgradeRequest("/v1.47/session");
    expect(session.status).toBe(501);
    expect(JSON.parse(session.body)).toEqual({
      message:
        "build sessions is not supported by Bonneville's Docker API: build images elsewhere and push them to a registry the guests can pull from",
    });
    const exec = await rawRequest("POST", "/containers/web/exec");
    expect(exec.status).toBe(501);
    expect((JSON.parse(exec.body) as { message: string }).message).toMatch(/^exec is not supported/);
    const volumes = await docker(["volume", "ls"]);
    expect(volumes.code).not.toBe(0);
    expect(volumes.stderr).toContain("volumes is not supported by Bonneville's Docker API");
    const unknown = await rawRequest("GET", "/v1.47/no/such/path");
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toEqual({ message: "page not found" });
    const tooNew = await rawRequest("GET", "/v1.99/info");
    expect(tooNew.status).toBe(400);
    expect(JSON.parse(tooNew.body)).toEqual({
      message:
        "client API version 1.99 is newer than this endpoint's: it serves API versions 1.24 to 1.47 (docker clients negotiate this through /_ping)",
    });
    const ping = await rawRequest("HEAD", "/_ping");
    expect(ping.status).toBe(200);
    expect(ping.headers["api-version"]).toBe("1.47");
    expect(ping.headers["ostype"]).toBe("linux");
  });
});

describe("the daily loop: output, foreground runs, wait and --rm", () => {
  it("docker run without -d streams stdout and stderr and returns the container's exit code", async () => {
    const run = await docker([
      "run",
      "--name",
      "fg",
      "bonneville-sim/exit:3",
      "hello",
      "stderr:oops",
      "sleep:300",
      "bye",
    ]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe("hello\nbye\n");
    expect(run.stderr).toContain("oops\n");
    expect((await docker(["ps", "-a", "--filter", "name=fg", "--format", "{{.Status}}"])).stdout).toBe(
      "Exited (3)\n",
    );
    const vm = vmNamed(await sim.inventory(), "fg")!;
    expect(vm.powerState).toBe("poweredOn");
  });

  it("docker logs shows both streams, and honours --tail, -t and --since", async () => {
    const all = await docker(["logs", "fg"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe("hello\nbye\n");
    expect(all.stderr).toBe("oops\n");
    const tail = await docker(["logs", "--tail", "1", "-t", "fg"]);
    expect(tail.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z bye\n$/);
    expect(tail.stderr).toBe("");
    const byTime = await docker(["logs", "-t", "fg"]);
    const byeAt = /^(\S+) bye$/m.exec(byTime.stdout)![1]!;
    // --since the last line's own time keeps that line and drops the earlier ones.
    const since = await docker(["logs", "--since", byeAt, "fg"]);
    expect(since.stdout).toBe("bye\n");
    expect(since.stderr).toBe("");
    const none = await docker(["logs", "--since", "2999-01-01T00:00:00Z", "fg"]);
    expect(none.stdout + none.stderr).toBe("");
    expect((await docker(["rm", "-f", "fg"])).code).toBe(0);
  });

  it("Ctrl-C on a foreground docker run asks the guest to shut down, and the run returns", async () => {
    let cli: ChildProcess | undefined;
    const run = docker(["run", "--name", "interrupted", "bonneville-sim/ticker:1", "started"], {
      started: (child) => (cli = child),
    });
    const deadline = Date.now() + 30_000;
    while (!(await docker(["logs", "interrupted"]).catch(() => undefined))?.stdout.includes("started")) {
      if (Date.now() > deadline) throw new Error("the container never printed its first line");
      await new Promise((r) => setTimeout(r, 100));
    }
    // The docker CLI forwards the signal to the container (docker kill -s INT).
    cli!.kill("SIGINT");
    const result = await run;
    expect(result.stdout).toBe("started\n");
    expect(result.code).toBe(137);
    expect(vmNamed(await sim.inventory(), "interrupted")!.powerState).toBe("poweredOff");
    expect((await docker(["rm", "interrupted"])).code).toBe(0);
  });

  it("docker attach streams a running container's output from now until it exits", async () => {
    const run = await docker([
      "run",
      "-d",
      "--name",
      "attached",
      "bonneville-sim/exit:5",
      "before",
      "sleep:5000",
      "after",
    ]);
    expect(run.code).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!(await docker(["logs", "attached"])).stdout.includes("before")) {
      if (Date.now() > deadline) throw new Error("the container never printed its first line");
      await new Promise((r) => setTimeout(r, 100));
    }
    const attach = await docker(["attach", "attached"]);
    expect(attach.stdout).toBe("after\n");
    expect(attach.code).toBe(5);
    // A stopped container cannot be attached to; `docker start -a` of one is refused by the endpoint
    // (the docker CLI shows only the status).
    const again = await docker(["attach", "attached"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("You cannot attach to a stopped container, start it first");
    expect((await docker(["kill", "attached"])).code).toBe(0);
    const startAttached = await docker(["start", "-a", "attached"]);
    expect(startAttached.code).not.toBe(0);
    expect(startAttached.stderr).toContain("unable to upgrade to tcp, received 409");
    expect((await docker(["rm", "attached"])).code).toBe(0);
  });

  it("docker logs -f follows a running container until it exits", async () => {
    const run = await docker([
      "run",
      "-d",
      "--name",
      "follow",
      "bonneville-sim/exit:0",
      "first",
      "sleep:1500",
      "second",
      "sleep:1500",
      "third",
    ]);
    expect(run.code).toBe(0);
    const follow = await docker(["logs", "-f", "follow"]);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe("first\nsecond\nthird\n");
    expect((await docker(["wait", "follow"])).stdout).toBe("0\n");
    expect((await docker(["rm", "-f", "follow"])).code).toBe(0);
  });

  it("docker run --rm removes the container's VM when it exits and returns its code", async () => {
    const run = await docker(["run", "--rm", "--name", "once", "bonneville-sim/exit:4", "bye"]);
    expect(run.code).toBe(4);
    expect(run.stdout).toBe("bye\n");
    expect(vmNamed(await sim.inventory(), "once")).toBeUndefined();
    expect((await docker(["ps", "-a", "--format", "{{.Names}}"])).stdout).toBe("");
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("a run whose fork fails leaves no Created container behind", async () => {
    await sim.addFault({ method: "InstantClone_Task", fault: "InsufficientResourcesFault", count: 1 });
    try {
      const run = await docker(["run", "--name", "unlucky", "bonneville-sim/exit:0", "never"]);
      expect(run.code).toBe(125);
      expect(run.stderr).toContain("InsufficientResourcesFault");
    } finally {
      await sim.clearFaults();
    }
    expect((await docker(["ps", "-a", "--format", "{{.Names}}"])).stdout).toBe("");
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("docker logs reads a ContainerVM a Pulumi program made", async () => {
    const urn = "urn:pulumi:test::docker::bonneville:index:ContainerVM::job";
    const checked = containerVm.check(
      {
        name: "pulumi-job",
        parentId,
        image: "bonneville-sim/exit:0",
        command: ["made by pulumi", "stderr:and its warning"],
        resourcePoolId: hostId,
        folderId,
        // A job that exits at once: by default a create fails when the container exits right after
        // it started, so this one does not wait for it to run.
        waitForRunning: false,
      },
      undefined,
      { name: "job" },
    );
    const made = await containerVm.create(context(urn), checked.inputs);
    try {
      expect((await docker(["wait", "pulumi-job"])).stdout).toBe("0\n");
      const logs = await docker(["logs", "pulumi-job"]);
      expect(logs.stdout).toBe("made by pulumi\n");
      expect(logs.stderr).toBe("and its warning\n");
    } finally {
      await containerVm.delete(context(urn), made.id, made.outputs as PropertyMap);
    }
  });

  it("without a console port on the parent, logs and a foreground run say why there is no output", async () => {
    // A parent cloned behind Bonneville's back, without the console serial port.
    const source = await client.find.resolve("bonneville-source", objectKinds.virtualMachine, "vm");
    const bare = await new VirtualMachine(client, source).clone(
      new MoRef("Folder", folderId),
      "bare-parent",
      {
        location: { pool: new MoRef("ResourcePool", hostId) },
        powerOn: true,
      },
    );
    const other = await startEndpoint([
      "--host-id",
      hostId,
      "--parent-id",
      bare.id,
      "--listen",
      "tcp://127.0.0.1:0",
    ]);
    try {
      expect(
        (
          await docker(["run", "-d", "--name", "quiet", "bonneville-sim/exit:0", "hello"], {
            host: other.dockerHost,
          })
        ).code,
      ).toBe(0);
      const quietVm = vmNamed(await sim.inventory(), "quiet")!;
      const logs = await docker(["logs", "quiet"], { host: other.dockerHost });
      expect(logs.code).not.toBe(0);
      expect(logs.stderr).toContain(
        `the output of container quiet is not available: its VM ${quietVm.id} has no console serial port (a file-backed serial port writing bonneville-console.log), because its parent was made without one; recreate the ParentTemplate with this version of Bonneville`,
      );
      const loud = await docker(["run", "--rm", "--name", "loud", "bonneville-sim/exit:0", "hello"], {
        host: other.dockerHost,
      });
      expect(loud.code).toBe(0);
      expect(loud.stdout).toBe("");
      expect(loud.stderr).toContain("bonneville: the output of container loud is not available");
    } finally {
      await docker(["rm", "-f", "quiet"], { host: other.dockerHost });
      expect(await other.stop()).toBe(0);
      await sim.destroyVm(bare.id);
    }
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
  });

  it("the console file is vCenter's datastore file access, which needs a session", async () => {
    const anonymous = await insecureFetch(
      `${sim.url.replace(/\/sdk$/, "")}/folder/docker-parent/bonneville-console.log?dcPath=DC0&dsName=LocalDS_0`,
      "GET",
    );
    expect(anonymous.status).toBe(401);
  });
});

describe("who may reach the endpoint", () => {
  it("refuses to listen on a non-loopback address without TLS client-certificate verification", async () => {
    const result = await runBonneville([
      "docker-api",
      "--host-id",
      hostId,
      "--parent-id",
      parentId,
      "--listen",
      "tcp://0.0.0.0:0",
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "bonneville docker-api: refusing to listen on 0.0.0.0:0 without TLS client-certificate verification: anyone who reaches this address would act on vSphere with the endpoint's credentials. Give --tls-cert, --tls-key and --tls-ca (clients then need a certificate signed by that CA: docker --tlsverify), or listen on loopback (tcp://127.0.0.1:0) or a unix socket\n",
    );
  });

  it("refuses TLS without the CA that verifies clients", async () => {
    const result = await runBonneville([
      "docker-api",
      "--host-id",
      hostId,
      "--parent-id",
      parentId,
      "--listen",
      "tcp://0.0.0.0:0",
      "--tls-cert",
      "cert.pem",
      "--tls-key",
      "key.pem",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "TLS needs --tls-cert, --tls-key and --tls-ca together; missing --tls-ca",
    );
  });

  it("with TLS, serves clients whose certificate the CA signed and rejects others", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-tls-"));
    const tls = makeCertificates(dir);
    const secured = await startEndpoint([
      "--host-id",
      hostId,
      "--parent-id",
      parentId,
      "--listen",
      "tcp://127.0.0.1:0",
      "--tls-cert",
      tls.serverCert,
      "--tls-key",
      tls.serverKey,
      "--tls-ca",
      tls.ca,
    ]);
    try {
      const ok = await docker(["network", "ls", "--format", "{{.Name}}"], {
        host: secured.dockerHost,
        tls: ["--tlsverify", "--tlscacert", tls.ca, "--tlscert", tls.clientCert, "--tlskey", tls.clientKey],
      });
      expect(ok.stderr).toBe("");
      expect(ok.stdout).toBe("bridge\n");
      // A foreground run's attach is an upgraded connection: over TLS too.
      const clientTls = [
        "--tlsverify",
        "--tlscacert",
        tls.ca,
        "--tlscert",
        tls.clientCert,
        "--tlskey",
        tls.clientKey,
      ];
      const foreground = await docker(
        ["run", "--rm", "--name", "over-tls", "bonneville-sim/exit:2", "sleep:200", "secured"],
        { host: secured.dockerHost, tls: clientTls },
      );
      expect(foreground.stdout).toBe("secured\n");
      expect(foreground.code).toBe(2);
      const anonymous = await docker(["network", "ls"], {
        host: secured.dockerHost,
        tls: ["--tls", "--tlscacert", tls.ca],
      });
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toContain("certificate required");
    } finally {
      expect(await secured.stop()).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("logs out of vCenter when stopped", async () => {
    const sessionsBefore = (await sim.stats()).sessions;
    const extra = await startEndpoint([
      "--host-id",
      hostId,
      "--parent-id",
      parentId,
      "--listen",
      "tcp://127.0.0.1:0",
    ]);
    expect((await sim.stats()).sessions).toBe(sessionsBefore + 1);
    expect(await extra.stop()).toBe(0);
    expect((await sim.stats()).sessions).toBe(sessionsBefore);
  });
});

describe("a vCenter that never answers", () => {
  let silent: net.Server;
  let silentServer: string;
  const held: net.Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never says a word (not even the TLS handshake).
    silent = net.createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentServer = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const args = () => [
    "docker-api",
    "--host-id",
    hostId,
    "--parent-id",
    parentId,
    "--listen",
    "tcp://127.0.0.1:0",
  ];

  it("says what it waits for and gives up after --connect-timeout", async () => {
    const result = await runBonneville([...args(), "--connect-timeout", "1"], {
      env: { VSPHERE_SERVER: silentServer },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      `connecting to vCenter at ${silentServer}: logging in as ${sim.user}, then reading ContainerHost ${hostId} and ParentTemplate ${parentId} (up to 1 s)`,
    );
    expect(result.stderr).toContain(
      `bonneville docker-api: vCenter at ${silentServer} did not answer within 1 s (logging in as ${sim.user}); check VSPHERE_SERVER and that vCenter is up, or raise --connect-timeout`,
    );
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("stops at %s while it waits", async (signal, code) => {
    let sent = false;
    const result = await runBonneville(args(), {
      env: { VSPHERE_SERVER: silentServer },
      onStderr: (text, child) => {
        if (!sent && text.includes("connecting to vCenter")) {
          sent = true;
          child.kill(signal);
        }
      },
    });
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(
      `bonneville docker-api: stopped (received ${signal}) while waiting for vCenter at ${silentServer}; nothing was started`,
    );
    expect(result.stderr).not.toContain("did not answer within");
  });

  it("refuses a --connect-timeout outside 1..300 seconds", async () => {
    const result = await runBonneville([...args(), "--connect-timeout", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "bonneville docker-api: --connect-timeout 0: expected whole seconds from 1 to 300\n",
    );
  });
});

describe("afterwards", () => {
  it("deleting the parent and the host leaves the inventory as it was before", async () => {
    expect(await endpoint.stop()).toBe(0);
    expect(vmIds(await sim.inventory())).toEqual(vmIds(withHost));
    await parentTemplate.delete(context("urn:parent"), parentId, {});
    await containerHost.delete(context("urn:host"), hostId, {
      name: hostName,
      folderId,
      bridgePortGroupId: bridgeId,
    });
    const after = await sim.inventory();
    expect(vmIds(after)).toEqual(vmIds(before));
    expect(after.resourcePools.map((p) => p.id).sort()).toEqual(before.resourcePools.map((p) => p.id).sort());
    expect(after.folders.map((f) => f.id).sort()).toEqual(before.folders.map((f) => f.id).sort());
    expect(after.portGroups.map((p) => p.id).sort()).toEqual(before.portGroups.map((p) => p.id).sort());
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string): {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
} {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    file("ca-key.pem"),
    "-out",
    file("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=bonneville-test-ca",
  );
  const sign = (name: string, subject: string, extensions: string) => {
    fs.writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      file(`${name}-key.pem`),
      "-out",
      file(`${name}.csr`),
      "-subj",
      subject,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca-key.pem"),
      "-CAcreateserial",
      "-out",
      file(`${name}-cert.pem`),
      "-days",
      "1",
      "-extfile",
      file(`${name}.ext`),
    );
  };
  sign("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  sign("client", "/CN=bonneville-test-client", "extendedKeyUsage=clientAuth\n");
  return {
    ca: file("ca.pem"),
    serverCert: file("server-cert.pem"),
    serverKey: file("server-key.pem"),
    clientCert: file("client-cert.pem"),
    clientKey: file("client-key.pem"),
  };
}
