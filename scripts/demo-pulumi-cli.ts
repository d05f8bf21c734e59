/**
 * `make demo` with the Pulumi CLI: `pulumi up --yes` of the example, its stack outputs read back,
 * then `pulumi destroy --yes`. The state lives in a local file backend in a temporary directory,
 * and the program runs from a copy there (Pulumi.yaml pointing at this repository's plugin build,
 * node_modules linked to the repository's), so the stack's config file and state never land in
 * the repository.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { DemoDeployment, DemoRunOptions } from "./demo-mock-runtime";

const repoRoot = path.resolve(__dirname, "..");

/** A `pulumi` command failed. */
export class PulumiCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`pulumi ${args.join(" ")} exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
    this.name = "PulumiCommandError";
  }
}

/** The path of `pulumi` on PATH, or undefined. */
export function findPulumiCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Deploys the program with the Pulumi CLI (`pulumi up`); the deployment's destroy runs
 * `pulumi destroy` and removes the stack and its temporary directory, its release keeps them
 * (the directory is {@link DemoDeployment.workDir}).
 */
export async function deployWithPulumiCli(pulumi: string, options: DemoRunOptions): Promise<DemoDeployment> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-demo-"));
  const state = path.join(tmp, "state");
  const work = path.join(tmp, options.project);
  fs.mkdirSync(state);
  copyProgram(options.programDir, work);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE || "bonneville-demo",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // `make test` type-checks the program (typecheck-examples); here it only needs to run.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  };
  const run = (args: readonly string[], echo = false): Promise<string> =>
    pulumiCommand(pulumi, ["--non-interactive", ...args], { cwd: work, env, echo, signal: options.signal });

  let stackCreated = false;
  let outputs: Record<string, unknown> | undefined;
  let failure: unknown;
  const started = performance.now();
  try {
    await run(["stack", "init", options.stack, "--secrets-provider", "passphrase"]);
    stackCreated = true;
    const set = (key: string, value: string, secret = false): Promise<string> =>
      run(["config", "set", key, ...(secret ? ["--secret"] : []), "--", value]);
    await set("bonneville:vsphereServer", options.vsphere.url);
    await set("bonneville:user", options.vsphere.user);
    await set("bonneville:password", options.vsphere.password, true);
    await set("bonneville:thumbprint", options.vsphere.thumbprint);
    for (const [key, value] of Object.entries(options.providerSettings ?? {}))
      await set(`bonneville:${key}`, value);
    for (const [key, value] of Object.entries(options.config)) await set(key, value);
    await run(["up", "--yes", "--skip-preview"], true);
    outputs = JSON.parse(await run(["stack", "output", "--json", "--show-secrets"])) as Record<
      string,
      unknown
    >;
  } catch (error) {
    failure = error;
  }
  const upSeconds = (performance.now() - started) / 1000;
  return {
    outputs,
    failure,
    upSeconds,
    workDir: work,
    containerOutputs: async () => {
      if (!stackCreated) return [];
      const exported = JSON.parse(await run(["stack", "export", "--show-secrets"])) as {
        deployment?: { resources?: { type?: string; outputs?: Record<string, unknown> }[] };
      };
      return (exported.deployment?.resources ?? [])
        .filter((r) => r.type === "bonneville:index:ContainerVM")
        .map((r) => r.outputs ?? {});
    },
    destroy: async () => {
      try {
        if (!stackCreated) return 0;
        const destroy = await run(["destroy", "--yes", "--skip-preview"], true);
        await run(["stack", "rm", "--yes", options.stack]);
        return Number(/(\d+) deleted/.exec(destroy)?.[1] ?? 0);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
    release: () => Promise.resolve(),
  };
}

/**
 * Copies the project to `work` without its node_modules, build output and stack files: Pulumi.yaml
 * with its plugin paths made absolute, node_modules linked to the project's (or the repository's).
 */
export function copyProgram(from: string, work: string): void {
  fs.mkdirSync(work, { recursive: true });
  for (const entry of fs.readdirSync(from)) {
    if (entry === "node_modules" || entry === "bin" || entry.startsWith("Pulumi.")) continue;
    fs.cpSync(path.join(from, entry), path.join(work, entry), { recursive: true });
  }
  const project = yaml.load(fs.readFileSync(path.join(from, "Pulumi.yaml"), "utf8")) as {
    plugins?: { providers?: { name: string; path?: string }[] };
  };
  for (const provider of project.plugins?.providers ?? []) {
    if (provider.path && !path.isAbsolute(provider.path)) provider.path = path.resolve(from, provider.path);
  }
  fs.writeFileSync(path.join(work, "Pulumi.yaml"), yaml.dump(project));
  const modules = fs.existsSync(path.join(from, "node_modules"))
    ? path.join(from, "node_modules")
    : path.join(repoRoot, "node_modules");
  fs.symlinkSync(modules, path.join(work, "node_modules"), "dir");
}

function pulumiCommand(
  pulumi: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; echo: boolean; signal: AbortSignal | undefined },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(pulumi, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Pulumi cancels cleanly on SIGINT (it stops its plugins).
    const abort = (): void => void child.kill("SIGINT");
    options.signal?.addEventListener("abort", abort, { once: true });
    child.on("close", () => options.signal?.removeEventListener("abort", abort));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new PulumiCommandError(args, code, options.echo ? "" : stderr));
    });
  });
}
