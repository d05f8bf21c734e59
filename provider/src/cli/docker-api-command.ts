/**
 * `bonneville docker-api`: serves the Docker Engine API for one ContainerHost,
 * with the provider's vCenter configuration (the same keys and environment
 * variables, checked by `checkProviderConfig`). Prints one line with the
 * DOCKER_HOST to use once it listens; logs requests to stderr (never bodies or
 * credentials); on SIGINT or SIGTERM it stops, aborts what is in flight and logs
 * out of vCenter.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  checkProviderConfig,
  providerConfigEnvironment,
  toConnectionOptions,
  type EnvironmentConfigKey,
} from "../provider-config";
import type { CheckFailure } from "../resources/resource";
import { BonnevilleError } from "../resources/errors";
import { VSphereClient } from "../vsphere";
import {
  checkListenPolicy,
  ContainerHostView,
  DEFAULT_LISTEN,
  parseListenAddress,
  startDockerApi,
  type TlsFiles,
} from "../docker-api";
import { describeFlags, parseFlags, UsageError, type FlagSpec } from "./flags";

/**
 * The provider settings the command takes as flags. Each flag defaults from the setting's environment
 * variable (provider-config.ts names them), so the command reads the same variables as the plugin;
 * the password is read from its variable only, by checkProviderConfig.
 */
const connectionFlags: readonly (Omit<FlagSpec, "env"> & { readonly key: EnvironmentConfigKey })[] = [
  {
    key: "vsphereServer",
    name: "vsphere-server",
    value: "HOST",
    description: "vCenter: host, host:port or https URL.",
  },
  { key: "user", name: "user", value: "NAME", description: "vCenter user." },
  {
    key: "allowUnverifiedSsl",
    name: "allow-unverified-ssl",
    description: "Accept any vCenter certificate (labs only).",
  },
  {
    key: "thumbprint",
    name: "thumbprint",
    value: "SHA256",
    description: "Accept exactly the vCenter certificate with this SHA-256 fingerprint.",
  },
  {
    key: "datacenter",
    name: "datacenter",
    value: "NAME",
    description: "The datacenter, when vCenter has more than one.",
  },
];

const flags: readonly FlagSpec[] = [
  {
    name: "host-id",
    value: "ID",
    description: "The ContainerHost to serve: its resource pool ID (resourcePoolId, e.g. resgroup-48).",
    env: "BONNEVILLE_HOST_ID",
  },
  {
    name: "parent-id",
    value: "ID",
    description: "The ParentTemplate containers fork from: its VM ID (vmId, e.g. vm-52).",
    env: "BONNEVILLE_PARENT_ID",
  },
  {
    name: "listen",
    value: "ADDRESS",
    description: `tcp://<address>:<port> or unix:///<path>. Default ${DEFAULT_LISTEN}. A non-loopback address needs the three TLS flags.`,
  },
  { name: "tls-cert", value: "FILE", description: "The endpoint's TLS certificate (PEM)." },
  { name: "tls-key", value: "FILE", description: "The endpoint's TLS private key (PEM)." },
  {
    name: "tls-ca",
    value: "FILE",
    description: "The CA (PEM) whose client certificates are accepted; every client must present one.",
  },
  {
    name: "network",
    value: "NAME=PORTGROUP",
    description:
      "A container network of the host: its Docker name and port group (path or ID), as in the host's containerNetworks.",
    repeatable: true,
  },
  {
    name: "start-timeout",
    value: "SECONDS",
    description:
      "Longest wait at start for a forked container's guest agent to report it running (1..3600). Default 300.",
  },
  {
    name: "connect-timeout",
    value: "SECONDS",
    description:
      "Longest wait at start for vCenter to answer (log in, read the host and the parent), 1..300. Default 30.",
  },
  ...connectionFlags.map(({ key, ...flag }): FlagSpec => ({ ...flag, env: providerConfigEnvironment[key] })),
  { name: "help", description: "Show this help." },
];

/** The help text of `bonneville docker-api`. */
export const dockerApiUsage = `Usage: bonneville docker-api --host-id ID --parent-id ID [flags]

Serves the Docker Engine API for a ContainerHost: every container is a VM instant-cloned from the
ParentTemplate, made by the same code as a Pulumi ContainerVM. The vCenter password comes from the
${providerConfigEnvironment.password} environment variable only (never a flag).

Flags:
${describeFlags(flags)}
`;

/** Where the command writes. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the command should stop (a signal). */
  readonly stopRequested: Promise<string>;
}

/** Runs the endpoint until a stop is requested; resolves with the exit code. */
export async function runDockerApi(args: readonly string[], io: CommandIo): Promise<number> {
  const log = (line: string) => io.stderr(`${new Date().toISOString()} ${line}\n`);
  let parsed;
  try {
    parsed = parseFlags(args, flags, io.env);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`bonneville docker-api: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.has("help")) {
    io.stdout(dockerApiUsage);
    return 0;
  }
  let setup: Setup;
  try {
    setup = checkSetup(parsed, io.env);
  } catch (error) {
    if (error instanceof BonnevilleError) {
      io.stderr(`bonneville docker-api: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const client = new VSphereClient(toConnectionOptions(setup.config));
  let closeServer: (() => Promise<void>) | undefined;
  try {
    const opened = await openWithin(
      client,
      () =>
        ContainerHostView.open({
          client,
          config: setup.config,
          hostId: setup.hostId,
          parentId: setup.parentId,
          networks: setup.networks,
          progress: log,
        }),
      setup,
      io.stopRequested,
      log,
    );
    if (opened.kind === "stopped") {
      io.stderr(
        `bonneville docker-api: stopped (${opened.reason}) while waiting for vCenter at ${client.url.host}; nothing was started\n`,
      );
      return opened.reason.includes("SIGINT") ? 130 : 143;
    }
    if (opened.kind === "timeout") {
      io.stderr(
        `bonneville docker-api: vCenter at ${client.url.host} did not answer within ${setup.connectTimeoutSeconds} s (${opened.waitingFor}); check ${providerConfigEnvironment.vsphereServer} and that vCenter is up, or raise --connect-timeout\n`,
      );
      return 1;
    }
    const host = opened.host;
    const running = await startDockerApi({
      host,
      listen: setup.listen,
      tls: setup.tls,
      version: setup.version,
      startTimeoutSeconds: setup.startTimeoutSeconds,
      log,
    });
    closeServer = running.close;
    io.stdout(
      `Bonneville Docker API for ContainerHost ${host.hostName} (${host.hostId}), parent ${host.parent.name} (${host.parent.id}): DOCKER_HOST=${running.dockerHost}${running.tls ? " (TLS, client certificates required: docker --tlsverify)" : ""}\n`,
    );
    const reason = await io.stopRequested;
    log(`stopping: ${reason}`);
    return 0;
  } catch (error) {
    io.stderr(`bonneville docker-api: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await closeServer?.().catch(() => undefined);
    client.abortAll("the Docker API endpoint is stopping");
    await client
      .close()
      .catch((error: unknown) => log(`closing the vSphere session failed: ${String(error)}`));
  }
}

/** How the start-up wait for vCenter ended. */
type Opened =
  | { readonly kind: "open"; readonly host: ContainerHostView }
  | { readonly kind: "stopped"; readonly reason: string }
  | { readonly kind: "timeout"; readonly waitingFor: string };

/** Every how many milliseconds a start-up wait for vCenter says it is still waiting. */
const CONNECT_PROGRESS_MS = 5000;

/**
 * Opens the host view, saying what it waits for, until vCenter answered, `--connect-timeout`
 * passed, or a stop signal came. A wait that ends early closes the client, which destroys its
 * connections, so nothing of it lingers.
 */
async function openWithin(
  client: VSphereClient,
  open: () => Promise<ContainerHostView>,
  setup: Setup,
  stopRequested: Promise<string>,
  log: (line: string) => void,
): Promise<Opened> {
  const where = client.url.host;
  const waitingFor = () =>
    client.session.transport.sessionCookie
      ? `reading ContainerHost ${setup.hostId} and ParentTemplate ${setup.parentId}`
      : `logging in as ${setup.config.user}`;
  log(
    `connecting to vCenter at ${where}: logging in as ${setup.config.user}, then reading ContainerHost ${setup.hostId} and ParentTemplate ${setup.parentId} (up to ${setup.connectTimeoutSeconds} s)`,
  );
  const started = Date.now();
  const timers: NodeJS.Timeout[] = [];
  const attempt = open();
  attempt.catch(() => undefined);
  try {
    const outcome = await Promise.race<Opened>([
      attempt.then((host) => ({ kind: "open", host })),
      stopRequested.then((reason) => ({ kind: "stopped", reason })),
      new Promise<Opened>((resolve) => {
        timers.push(
          setTimeout(
            () => resolve({ kind: "timeout", waitingFor: waitingFor() }),
            setup.connectTimeoutSeconds * 1000,
          ),
          setInterval(
            () =>
              log(
                `still waiting for vCenter at ${where} (${waitingFor()}): ${Math.round((Date.now() - started) / 1000)} s of ${setup.connectTimeoutSeconds} s`,
              ),
            CONNECT_PROGRESS_MS,
          ),
        );
      }),
    ]);
    if (outcome.kind !== "open") {
      client.abortAll("the Docker API endpoint is stopping");
      // Destroys the connections first: a login on the wire is not tied to any caller's signal.
      client.session.transport.close();
      await client.close().catch(() => undefined);
    }
    return outcome;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

interface Setup {
  readonly hostId: string;
  readonly parentId: string;
  readonly listen: ReturnType<typeof parseListenAddress>;
  readonly tls: TlsFiles | undefined;
  readonly networks: Record<string, string>;
  readonly startTimeoutSeconds: number;
  readonly connectTimeoutSeconds: number;
  readonly config: NonNullable<ReturnType<typeof checkProviderConfig>["config"]>;
  readonly version: string;
}

/** Checks every flag before anything connects: the listen policy first, then vCenter's configuration. */
function checkSetup(parsed: ReturnType<typeof parseFlags>, env: NodeJS.ProcessEnv): Setup {
  const listen = parseListenAddress(parsed.get("listen") ?? DEFAULT_LISTEN);
  const files: TlsFiles = {
    ...(parsed.get("tls-cert") !== undefined ? { cert: parsed.get("tls-cert") } : {}),
    ...(parsed.get("tls-key") !== undefined ? { key: parsed.get("tls-key") } : {}),
    ...(parsed.get("tls-ca") !== undefined ? { ca: parsed.get("tls-ca") } : {}),
  };
  const tlsOn = checkListenPolicy(listen, files);
  const hostId = parsed.get("host-id");
  const parentId = parsed.get("parent-id");
  if (!hostId)
    throw new UsageError("--host-id is required: the ContainerHost's resource pool ID (e.g. resgroup-48)");
  if (!parentId) throw new UsageError("--parent-id is required: the ParentTemplate's VM ID (e.g. vm-52)");
  const networks: Record<string, string> = {};
  for (const entry of parsed.all("network")) {
    const eq = entry.indexOf("=");
    const name = eq > 0 ? entry.slice(0, eq) : "";
    const portGroup = eq > 0 ? entry.slice(eq + 1) : "";
    if (!name || !portGroup)
      throw new UsageError(`--network ${entry}: expected NAME=PORTGROUP, e.g. frontend=DC0_DVPG1`);
    if (name === "bridge")
      throw new UsageError(
        `--network ${entry}: "bridge" is the host's own port group; name other networks otherwise`,
      );
    if (networks[name] !== undefined) throw new UsageError(`--network ${name} was given twice`);
    networks[name] = portGroup;
  }
  const timeoutText = parsed.get("start-timeout") ?? "300";
  const startTimeoutSeconds = Number(timeoutText);
  if (!Number.isInteger(startTimeoutSeconds) || startTimeoutSeconds < 1 || startTimeoutSeconds > 3600) {
    throw new UsageError(`--start-timeout ${timeoutText}: expected whole seconds from 1 to 3600`);
  }
  const connectText = parsed.get("connect-timeout") ?? "30";
  const connectTimeoutSeconds = Number(connectText);
  if (!Number.isInteger(connectTimeoutSeconds) || connectTimeoutSeconds < 1 || connectTimeoutSeconds > 300) {
    throw new UsageError(`--connect-timeout ${connectText}: expected whole seconds from 1 to 300`);
  }
  const news: Record<string, unknown> = {};
  for (const flag of connectionFlags) {
    const value = parsed.get(flag.name);
    if (value !== undefined) news[flag.key] = value;
  }
  const check = checkProviderConfig(news, env);
  if (!check.config) {
    throw new UsageError(check.failures.map(describeConfigFailure).join("\n"));
  }
  return {
    hostId,
    parentId,
    listen,
    tls: tlsOn ? files : undefined,
    networks,
    startTimeoutSeconds,
    connectTimeoutSeconds,
    config: check.config,
    version: providerVersion(),
  };
}

/** Where the command takes each setting from, for its messages: `--user or VSPHERE_USER`. */
const configSources: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    connectionFlags.map((flag) => [flag.key, `--${flag.name} or ${providerConfigEnvironment[flag.key]}`]),
  ),
  password: providerConfigEnvironment.password,
};

/** A provider-config failure in the command's words (flags and environment variables, not `pulumi config`). */
function describeConfigFailure(f: CheckFailure): string {
  const source = configSources[f.property] ?? f.property;
  if (f.reason.startsWith("missing required configuration")) return `missing ${f.property}: set ${source}`;
  return `${source}: ${f.reason}`;
}

/** provider/package.json's version (two levels above `src/cli` and `dist/cli`). */
function providerVersion(): string {
  const file = path.resolve(__dirname, "..", "..", "package.json");
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as { version?: unknown };
  if (typeof parsed.version !== "string") throw new BonnevilleError(`${file} has no "version" string`);
  return parsed.version;
}
