/**
 * `make demo` without the Pulumi CLI: the example program runs in this process under Pulumi's mock
 * runtime, and its resources are created — then deleted — by the real plugin ({@link PluginEngine}).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type * as pulumiSdk from "@pulumi/pulumi";
import { PACKAGE_NAME } from "../provider/src/provider-config";
import { reveal, secret, type WireProperties } from "../tests/harness";
import type { SimEndpoint } from "../tests/support/sim";
import { PluginEngine } from "./demo-plugin-engine";

/** What a demo run needs. */
export interface DemoRunOptions {
  /** The Pulumi project directory (Pulumi.yaml, package.json, the program). */
  readonly programDir: string;
  /** The project name (Pulumi.yaml's `name`). */
  readonly project: string;
  readonly stack: string;
  /** The vCenter to deploy to. */
  readonly vsphere: SimEndpoint;
  /** The program's own configuration, by key without the project prefix (`count` → "6"). */
  readonly config: Readonly<Record<string, string>>;
  /** Provider settings besides the connection (`datacenter` → "DC0"), by key without `bonneville:`. */
  readonly providerSettings?: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
  /** Aborted when the demo is interrupted: stop the plugin (or the CLI) at once. */
  readonly signal?: AbortSignal;
}

/**
 * A deployment that has run, successfully or not, whose resources still exist: the demo prints what
 * they report, then destroys them (or, with --keep, leaves them and only lets go of the engine).
 */
export interface DemoDeployment {
  /** The stack outputs, secrets revealed; undefined when the program failed. */
  readonly outputs: Record<string, unknown> | undefined;
  /** Why the deployment failed; undefined when it succeeded. */
  readonly failure: unknown;
  /** Seconds of the deployment (the `up`) alone. */
  readonly upSeconds: number;
  /** The project copy with its stack and state, when the deployment has one (the Pulumi CLI's). */
  readonly workDir?: string;
  /** The outputs (wire form) of every ContainerVM made, init failures included. */
  containerOutputs(): Promise<Record<string, unknown>[]>;
  /** Deletes everything the deployment made, dependents first; resolves with how many. */
  destroy(): Promise<number>;
  /** Leaves everything in place and stops what runs the deployment (plugins, CLI state kept). */
  release(): Promise<void>;
}

/** The program did not run to completion. */
export class ProgramFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProgramFailedError";
  }
}

/** The type token of ContainerVM. */
const CONTAINER_VM_TYPE = `${PACKAGE_NAME}:index:ContainerVM`;

/**
 * The default provider's configuration for a vCenter (the password as a secret), with the demo's
 * honoured `bonneville:` settings (plain keys) added.
 */
export function providerConfig(
  vsphere: SimEndpoint,
  settings: Readonly<Record<string, string>> = {},
): WireProperties {
  return {
    ...settings,
    vsphereServer: vsphere.url,
    user: vsphere.user,
    password: secret(vsphere.password),
    thumbprint: vsphere.thumbprint,
  };
}

/** The project name from the directory's Pulumi.yaml. */
export function projectName(programDir: string): string {
  const file = path.join(programDir, "Pulumi.yaml");
  const project = yaml.load(fs.readFileSync(file, "utf8")) as { name?: unknown } | undefined;
  if (typeof project?.name !== "string") throw new ProgramFailedError(`${file} has no project name`);
  return project.name;
}

/**
 * Runs the program under the mock runtime with the plugin doing the work. Resolves (also when the
 * program failed: see `failure`) with the deployment, whose resources the caller destroys or keeps.
 */
export async function deployWithMockRuntime(options: DemoRunOptions): Promise<DemoDeployment> {
  // The copy of @pulumi/pulumi the program itself loads (mocks are per copy).
  const pulumi = require(
    require.resolve("@pulumi/pulumi", { paths: [options.programDir] }),
  ) as typeof pulumiSdk;
  const engine = await PluginEngine.start({
    project: options.project,
    stack: options.stack,
    providerConfig: providerConfig(options.vsphere, options.providerSettings),
    log: options.log,
  });
  options.signal?.addEventListener("abort", () => void engine.close(), { once: true });
  // After a failed registration, outputs that nothing awaits reject; engine.failed reports the cause.
  const ignore = (): void => undefined;
  process.on("unhandledRejection", ignore);
  const cwd = process.cwd();
  let outputs: Record<string, unknown> | undefined;
  let failure: unknown;
  const started = performance.now();
  try {
    await engine.install(pulumi);
    pulumi.runtime.setAllConfig(stackConfig(options), [`${PACKAGE_NAME}:password`]);
    process.chdir(options.programDir);
    const run = pulumi.runtime
      .runInPulumiStack(async () => {
        const program = require(options.programDir) as unknown;
        return typeof program === "function"
          ? ((await (program as () => unknown)()) as pulumiSdk.Inputs)
          : program;
      })
      .then(async (result) => {
        await pulumi.runtime.disconnect();
        return { outputs: (result ?? {}) as Record<string, unknown> };
      });
    run.catch(ignore);
    const outcome = await Promise.race([run, engine.failed.then((error) => ({ error }))]);
    if ("error" in outcome) {
      // The engine stops at a failed step: nothing new starts, what is running finishes.
      await engine.settled();
      throw outcome.error;
    }
    outputs = outcome.outputs;
  } catch (error) {
    failure = error;
  } finally {
    process.chdir(cwd);
  }
  const upSeconds = (performance.now() - started) / 1000;
  const finish = async (): Promise<void> => {
    await engine.close();
    process.off("unhandledRejection", ignore);
  };
  return {
    outputs,
    failure,
    upSeconds,
    containerOutputs: () =>
      Promise.resolve(
        engine.created
          .filter((r) => r.type === CONTAINER_VM_TYPE)
          .map((r) => reveal(r.outputs) as Record<string, unknown>),
      ),
    destroy: async () => {
      try {
        options.log(`deleting what the program made, dependents first`);
        return await engine.destroy();
      } finally {
        await finish();
      }
    },
    release: finish,
  };
}

/** The stack configuration the program sees: its own keys under the project, the provider's under `bonneville:`. */
function stackConfig(options: DemoRunOptions): Record<string, string> {
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.config)) config[`${options.project}:${key}`] = value;
  for (const [key, value] of Object.entries(options.providerSettings ?? {}))
    config[`${PACKAGE_NAME}:${key}`] = value;
  config[`${PACKAGE_NAME}:vsphereServer`] = options.vsphere.url;
  config[`${PACKAGE_NAME}:user`] = options.vsphere.user;
  config[`${PACKAGE_NAME}:password`] = options.vsphere.password;
  config[`${PACKAGE_NAME}:thumbprint`] = options.vsphere.thumbprint;
  return config;
}
