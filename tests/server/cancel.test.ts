/**
 * Cancel and exit against a vCenter that accepts connections and never answers, with the engine's
 * own budgets: Cancel must answer within 2 s, and the plugin must exit by itself within the 5 s the
 * engine gives it after SIGINT before killing it (pulumi/pulumi pkg/host/host.go, SignalCancellation
 * and hostManagedProvider.Close; pkg/resource/plugin/plugin.go, newPlugin's kill).
 */
import { Sim, sharedSim } from "../support/sim";
import {
  ENGINE_CLOSE_BUDGET_MS,
  HOST,
  ProviderRpcError,
  SilentVCenter,
  resource,
  secret,
  simStack,
  startPlugin,
  type PluginProcess,
} from "../harness";

/** The bound the issue sets for Cancel's answer, whatever vCenter does. */
const CANCEL_BUDGET_MS = 2000;
const hostUrn = `urn:pulumi:test::bonneville::${HOST}::pool`;

/** Reads the ContainerHost `id` through the plugin: a call that needs vCenter. */
function readHost(plugin: PluginProcess, id: string): Promise<unknown> {
  return plugin.rpc.read({ urn: hostUrn, id, properties: { name: "pool" }, inputs: { name: "pool" } }).then(
    (reply) => reply,
    (error: unknown) => error,
  );
}

/** Cancel as the engine sends it, timed; fails when the engine's deadline passes first. */
async function timedCancel(plugin: PluginProcess): Promise<number> {
  const started = performance.now();
  await plugin.rpc.cancel({ deadlineMs: CANCEL_BUDGET_MS });
  return performance.now() - started;
}

/** SIGINT as the engine sends it, timed; the exit code is null when the plugin had to be killed. */
async function timedExit(plugin: PluginProcess): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const code = await plugin.kill("SIGINT");
  return { code, ms: performance.now() - started };
}

describe("closing the plugin as the engine does", () => {
  it("acknowledges the Cancel sent before every close and exits 0 after SIGINT, so no premature exit is reported", async () => {
    const sim = sharedSim();
    const stack = simStack(sim);
    await stack.preview([resource(HOST, "pool", { cluster: "DC0_C0", bridgeSwitch: "DVS0" })]);
    expect(stack.closeReports).toEqual([{ cancelAcknowledged: true, exitCode: 0 }]);
  });
});

describe("Cancel against a vCenter that never answers", () => {
  let vcenter: SilentVCenter | undefined;
  let plugin: PluginProcess | undefined;
  let sim: Sim | undefined;
  afterEach(async () => {
    await plugin?.close();
    await vcenter?.stop();
    await sim?.stop();
    plugin = vcenter = sim = undefined;
  });

  it("answers at once, fails the call in flight as cancelled, and exits on SIGINT within the engine's 5 s", async () => {
    vcenter = await SilentVCenter.start();
    plugin = await startPlugin();
    await plugin.rpc.configure({
      variables: {},
      args: {
        vsphereServer: vcenter.address,
        user: "admin",
        password: secret("never-sent"),
        allowUnverifiedSsl: "true",
      },
    });
    const read = readHost(plugin, "resgroup-7");
    await vcenter.waitForSilentConnections();

    const cancelMs = await timedCancel(plugin);
    const failure = await read;
    expect(failure).toBeInstanceOf(ProviderRpcError);
    expect(failure).toMatchObject({ code: 1, details: "the engine cancelled the operation" }); // CANCELLED

    const exit = await timedExit(plugin);
    expect(exit.code).toBe(0); // null would mean the engine's SIGKILL after 5 s was needed
    process.stdout.write(
      `silent vCenter, nothing logged in: Cancel answered in ${cancelMs.toFixed(0)} ms, exit after SIGINT in ${exit.ms.toFixed(0)} ms (engine budgets ${CANCEL_BUDGET_MS} / ${ENGINE_CLOSE_BUDGET_MS} ms)\n`,
    );
  });

  it("gives up a Logout that vCenter never answers and still exits within the engine's 5 s", async () => {
    sim = await Sim.start();
    vcenter = await SilentVCenter.start(sim.url);
    plugin = await startPlugin();
    await plugin.rpc.configure({
      variables: {},
      args: {
        vsphereServer: vcenter.address,
        user: sim.user,
        password: secret(sim.password),
        thumbprint: sim.thumbprint,
      },
    });
    // Logged in through the listener: an object that does not exist reads as gone.
    expect(await readHost(plugin, "resgroup-999999")).toMatchObject({ id: "" });
    const before = await sim.stats();

    vcenter.silence();
    const read = readHost(plugin, "resgroup-999998");
    await new Promise((resolve) => setTimeout(resolve, 200)); // the read is on the wire (a kept-alive connection)
    const cancelMs = await timedCancel(plugin);
    expect(await read).toMatchObject({ code: 1, details: "the engine cancelled the operation" });

    const exit = await timedExit(plugin);
    expect(exit.code).toBe(0);
    expect(plugin.stderr()).toContain("vCenter did not answer Logout within 2000 ms");
    // The Logout never reached the simulator: the listener swallowed it.
    const after = await sim.stats();
    expect(after.calls.Logout ?? 0).toBe(before.calls.Logout ?? 0);
    expect(after.calls.Login).toBe(before.calls.Login);
    process.stdout.write(
      `vCenter silent after login: Cancel answered in ${cancelMs.toFixed(0)} ms, exit after SIGINT (Logout given up) in ${exit.ms.toFixed(0)} ms\n`,
    );
  });
});
