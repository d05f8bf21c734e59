/**
 * Times a wait for a task pushed off TaskManager.recentTask: vCenter (and the simulator) keep only
 * the latest 200 tasks there. The shared task waiter once followed that list, and such a wait
 * stalled for a whole long poll (found by the fleet benchmark's 500-VM deletes); it now follows a
 * ListView of the awaited tasks, so the task is reported as it enters the view.
 *
 *   npx ts-node --transpile-only bench/src/recent-task-wait.ts [PROVIDER_DIR]
 *
 * starts a simulator, starts 300 tasks without waiting, then waits for the first one and prints how
 * long that took and the SOAP calls it made. PROVIDER_DIR (a provider/ copy with a compiled dist/, as
 * bench/ab builds) runs that tree's client instead of this repository's.
 */
import * as path from "node:path";
import { Sim } from "../../tests/support/sim";
import type * as vsphere from "../../provider/src/vsphere";

/** Tasks started before the wait: more than the 200 recentTask keeps. */
const TASKS = 300;

async function main(): Promise<void> {
  const providerDir = process.argv[2];
  const lib: typeof vsphere = providerDir
    ? ((await import(path.join(path.resolve(providerDir), "dist", "vsphere"))) as typeof vsphere)
    : await import("../../provider/src/vsphere");
  const sim = await Sim.start();
  const client = new lib.VSphereClient({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
  });
  try {
    const inventory = await sim.inventory();
    const template = inventory.virtualMachines.find((v) => v.name === "bonneville-source");
    if (!template) throw new Error("the simulator has no bonneville-source template");
    const target = new lib.MoRef("VirtualMachine", template.id);
    // Powering off a template fails at once: a finished task, cheap to make by the hundred.
    const tasks: vsphere.MoRef[] = [];
    for (let i = 0; i < TASKS; i++) tasks.push(await client.startTask("PowerOffVM_Task", target));
    client.calls.reset();
    const started = performance.now();
    const outcome = await client.waitForTask(tasks[0]!, { operation: "PowerOffVM_Task", target }).then(
      () => "success",
      (error: unknown) =>
        error instanceof lib.TaskError ? `failed as expected: ${error.fault.faultType}` : error,
    );
    if (typeof outcome !== "string") throw outcome;
    const ms = performance.now() - started;
    process.stdout.write(
      `waited ${ms.toFixed(0)} ms for ${tasks[0]!.value}, the first of ${TASKS} tasks, ${outcome}; ` +
        `SOAP calls: ${JSON.stringify(client.calls.snapshot())}\n`,
    );
  } finally {
    await client.close();
    await sim.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
