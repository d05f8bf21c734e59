/**
 * Fault soak: ContainerVMs created, updated (labels, power) and deleted through the plugin
 * executable while one call in ten of InstantClone_Task, PowerOnVM_Task, PowerOffVM_Task,
 * Destroy_Task and ReconfigVM_Task fails with a vim fault, every such call is slowed, every
 * session expires once and one connection is dropped, all in the middle of commands. Every
 * failure must surface as a clear error (the dropped read may instead be sent again); once the faults stop, one up converges with no manual
 * step; vSphere then holds exactly what the state says, and no session is left open.
 *
 * BONNEVILLE_SOAK_COUNT sets how many ContainerVMs are created and deleted (default 40;
 * `make soak` runs 200). The run is bounded: at most 3 × count + 60 commands.
 */
import type { Stack } from "../harness";
import { account, base, container, eventually, Lab, VM } from "./support";
import type { ResourceDeclaration } from "../harness";

const COUNT = Number(process.env.BONNEVILLE_SOAK_COUNT ?? 40);
const MAX_COMMANDS = COUNT * 3 + 60;
/** Containers kept alive at once; the oldest is deleted when a new one would exceed it. */
const LIVE = 8;
/** New containers declared per round. */
const PER_ROUND = 3;

/** The faults injected, one rule per method: realistic vim faults, 10% of calls, added latency. */
const FAULTS = [
  { method: "InstantClone_Task", fault: "InsufficientResourcesFault", latencyMs: 15 },
  { method: "PowerOnVM_Task", fault: "InsufficientMemoryResourcesFault", latencyMs: 10 },
  { method: "PowerOffVM_Task", fault: "TaskInProgress", latencyMs: 10 },
  { method: "Destroy_Task", fault: "TaskInProgress", latencyMs: 10 },
  { method: "ReconfigVM_Task", fault: "HostCommunication", latencyMs: 10 },
] as const;
const FAULTED = FAULTS.map((f) => f.method) as readonly string[];
/** The call whose connection is dropped once. */
const DROPPED = "RetrievePropertiesEx";

/**
 * An injected task fault as the user reads it: the operation, the object it ran on, and the fault
 * (possibly inside "create of <urn> made vm-N but it did not finish initialising: …").
 */
const TASK_FAILURE =
  /(InstantClone_Task|PowerOnVM_Task|PowerOffVM_Task|Destroy_Task|ReconfigVM_Task) on [\w-]+-\d+ failed: \1 failed: (InsufficientResourcesFault|InsufficientMemoryResourcesFault|TaskInProgress|HostCommunication) \(injected by the Bonneville simulator\)/;
/** The dropped connection as the user reads it: the call, the server and what happened. */
const DROP_FAILURE = /RetrievePropertiesEx: cannot reach 127\.0\.0\.1:\d+: socket hang up/;

/** One container of the churn: its name, its labels' generation and its wanted power state. */
interface Wanted {
  readonly name: string;
  generation: number;
  off: boolean;
}

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start();
});

afterAll(async () => {
  await lab?.stop();
});

it(`creates and deletes ${COUNT} container VMs under injected faults, then converges with nothing orphaned`, async () => {
  const started = performance.now();
  const stack = lab.stack();
  const { host, parent } = base("soak");
  await stack.up([host, parent]);

  const wanted: Wanted[] = [];
  let declared = 0;
  const program = (): ResourceDeclaration[] => [
    host,
    parent,
    ...wanted.map((w) =>
      container(w.name, parent, {
        labels: { app: "soak", generation: String(w.generation) },
        powerState: w.off ? "poweredOff" : "poweredOn",
      }),
    ),
  ];
  const created = new Set<string>();
  const deleted = new Set<string>();
  const containerUrns = () =>
    new Set([...stack.state.values()].filter((e) => e.type === VM).map((e) => e.urn));
  /**
   * Every failure the user read: each failed step's error (steps run in parallel, so one command
   * can fail on several resources at once, each reported on its own), or the command's own error
   * when it failed outside any step.
   */
  const errors: string[] = [];
  let commands = 0;
  let failedCommands = 0;
  /** Errors of failed commands that were none of their failed steps' errors. */
  const misreported: string[] = [];

  /**
   * One up; a failure is recorded (the next round retries whatever it left undone). `during`
   * runs beside it and is told whether the command has finished.
   */
  const up = async (during?: (finished: () => boolean) => Promise<void>): Promise<void> => {
    commands++;
    const before = containerUrns();
    let finished = false;
    const running = stack.up(program()).finally(() => (finished = true));
    const side = during?.(() => finished);
    try {
      await running;
    } catch (error) {
      failedCommands++;
      const steps = stack.failedSteps.map((f) => messageOf(f.error));
      errors.push(...(steps.length > 0 ? steps : [messageOf(error)]));
      if (steps.length > 0 && !stack.failedSteps.some((f) => f.error === error))
        misreported.push(messageOf(error));
    } finally {
      await side;
    }
    const after = containerUrns();
    for (const urn of after) if (!before.has(urn)) created.add(urn);
    for (const urn of before) if (!after.has(urn)) deleted.add(urn);
  };

  /** Resolves true once the running command has made a few more vSphere calls, false if it finished first. */
  const midCommand = async (finished: () => boolean): Promise<boolean> => {
    const calls = (await lab.sim.stats()).calls.RetrievePropertiesEx ?? 0;
    return eventually("the command reaching vSphere", async () => {
      if (finished()) return false;
      return ((await lab.sim.stats()).calls.RetrievePropertiesEx ?? 0) > calls + 2 ? true : undefined;
    });
  };

  await lab.sim.resetStats();
  for (const rule of FAULTS) await lab.sim.addFault({ ...rule, rate: 0.1 });

  let expired = 0;
  let dropped = false;
  for (let round = 0; commands < MAX_COMMANDS; round++) {
    const injectedSoFar = (await lab.sim.stats()).injected;
    const everyFaultSeen = FAULTED.every((m) => (injectedSoFar[m] ?? 0) > 0);
    if (created.size >= COUNT && deleted.size >= COUNT - LIVE && expired > 0 && dropped && everyFaultSeen) {
      break;
    }
    // Declare new containers (every fifth created powered off; none once COUNT are made or under way,
    // except one a round while InstantClone_Task or Destroy_Task has not yet been hit: creates and
    // deletes are their only calls), retire the oldest beyond LIVE, relabel one.
    const awaitingCreate = wanted.filter((w) => !created.has(stack.urn(VM, w.name))).length;
    const cloneOrDestroyUnhit = ["InstantClone_Task", "Destroy_Task"].some(
      (m) => (injectedSoFar[m] ?? 0) === 0,
    );
    const newThisRound =
      created.size + awaitingCreate < COUNT
        ? Math.min(PER_ROUND, COUNT - created.size - awaitingCreate)
        : cloneOrDestroyUnhit
          ? 1
          : 0;
    for (let i = 0; i < newThisRound; i++) {
      wanted.push({ name: `c${declared}`, generation: 0, off: declared % 5 === 4 });
      declared++;
    }
    while (wanted.length > LIVE) wanted.shift();
    if (wanted.length > 0) wanted[round % wanted.length]!.generation++;
    // Power: one stopped container is started and one running container stopped.
    const start = wanted.find((w) => w.off);
    const stop = wanted.find((w, i) => !w.off && w !== start && i !== round % wanted.length);
    if (start) start.off = false;
    if (stop) stop.off = true;

    if (round >= 4 && expired === 0) {
      // Every session expires while a command is running (tried again if the command ends first).
      await up(async (finished) => {
        if (await midCommand(finished)) expired += (await lab.sim.expireSessions()).expired;
      });
    } else if (round >= 8 && !dropped) {
      // One connection is dropped in the middle of a command.
      await up(async (finished) => {
        if (!(await midCommand(finished))) return;
        await lab.sim.addFault({ method: DROPPED, drop: true, count: 1 });
        dropped = true;
      });
    } else {
      await up();
    }
  }

  const stats = await lab.sim.stats();
  await lab.sim.clearFaults();
  const churnMs = performance.now() - started;

  // Bounded and complete: the run reached its counts within its command budget.
  expect(commands).toBeLessThanOrEqual(MAX_COMMANDS);
  expect(created.size).toBeGreaterThanOrEqual(COUNT);
  expect(deleted.size).toBeGreaterThanOrEqual(COUNT - LIVE);
  expect(expired).toBeGreaterThan(0);
  expect(dropped).toBe(true);

  // Faults were injected on every method, and every failure surfaced as a clear error.
  const injected = Object.fromEntries(FAULTED.map((m) => [m, stats.injected[m] ?? 0]));
  for (const method of FAULTED) {
    expect({ method, calls: stats.calls[method] ?? 0, hit: injected[method]! > 0 }).toEqual({
      method,
      calls: expect.any(Number),
      hit: true,
    });
  }
  expect(stats.injected[DROPPED]).toBe(1);
  const unclear = errors.filter((m) => !TASK_FAILURE.test(m) && !DROP_FAILURE.test(m));
  expect(unclear).toEqual([]);
  for (const message of errors) expect(message).not.toMatch(/undefined|\[object Object\]|NotAuthenticated/);
  const surfaced = Object.fromEntries(
    FAULTED.map((m) => [m, errors.filter((e) => TASK_FAILURE.exec(e)?.[1] === m).length]),
  );
  // Each failed step stopped at its first fault; none was swallowed or hidden behind another.
  for (const method of FAULTED) expect(surfaced[method]).toBeLessThanOrEqual(injected[method]!);
  expect(errors.filter((m) => DROP_FAILURE.test(m)).length).toBeLessThanOrEqual(1);
  // A failed command fails with the error of one of its failed steps.
  expect(misreported).toEqual([]);
  expect(errors.length).toBeGreaterThanOrEqual(failedCommands);
  // Every injected task fault failed a step. (A call the fault would have hit but whose session had
  // expired was answered NotAuthenticated and sent again; the simulator does not count it as
  // injected.) The dropped read is either sent again by the client (reads are idempotent) or
  // surfaced, so it is not counted here.
  const taskFaults = FAULTED.reduce((n, m) => n + injected[m]!, 0);
  expect(errors.filter((m) => TASK_FAILURE.test(m)).length).toBe(taskFaults);

  // With the faults gone, one up converges and a second finds nothing to do.
  await stack.up(program());
  const settled = await stack.up(program());
  expect(settled.steps.every((s) => s.op === "same")).toBe(true);
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  await expectMatchesProgram(stack, wanted);

  // Destroy, under the same faults, retried until done (bounded), leaves the baseline.
  for (const rule of FAULTS) await lab.sim.addFault({ ...rule, rate: 0.1 });
  const deletedByDestroy = [...stack.state.values()].filter((e) => e.type === VM).length;
  let destroys = 0;
  while (stack.state.size > 0 && destroys < 20) {
    destroys++;
    await stack.destroy().catch((error: Error) => {
      expect(error.message).toMatch(TASK_FAILURE);
    });
  }
  await lab.sim.clearFaults();
  expect(stack.state.size).toBe(0);
  expect(await account(lab)).toEqual({ orphaned: [], missing: [] });
  // Every plugin logged out: no session is left behind.
  expect((await lab.sim.stats()).sessions).toBe(0);

  console.log(
    `soak: ${created.size} creates, ${deleted.size + deletedByDestroy} deletes, ${commands} ups (${failedCommands} failed), ` +
      `calls ${JSON.stringify(Object.fromEntries(FAULTED.map((m) => [m, stats.calls[m] ?? 0])))}, ` +
      `injected ${JSON.stringify(injected)} + 1 dropped connection + ${expired} sessions expired; ` +
      `surfaced ${JSON.stringify(surfaced)}; churn ${Math.round(churnMs / 100) / 10} s, ` +
      `total ${Math.round((performance.now() - started) / 100) / 10} s, destroy in ${destroys} attempt(s)`,
  );
}, 1_800_000);

/** An error's message as the user reads it. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Every container is in vSphere as the program declares it: labels, power state, parent, network. */
async function expectMatchesProgram(stack: Stack, wanted: readonly Wanted[]): Promise<void> {
  const inventory = await lab.sim.inventory();
  const parentId = stack.get("soak-parent")!.id;
  const bridge = stack.outputs("soak-host").bridgePortGroupId;
  expect([...stack.state.values()].filter((e) => e.type === VM).map((e) => e.name)).toEqual(
    expect.arrayContaining(wanted.map((w) => w.name)),
  );
  for (const w of wanted) {
    const vm = inventory.virtualMachines.find((v) => v.id === stack.get(w.name)!.id)!;
    expect(vm.powerState).toBe(w.off ? "poweredOff" : "poweredOn");
    expect(vm.extraConfig["bonneville.parent"]).toBe(parentId);
    expect(vm.networks).toEqual([bridge]);
    // Labels changed after the fork live outside guestinfo (guest contract v2).
    const labels = JSON.parse(Buffer.from(vm.extraConfig["bonneville.labels"]!, "base64").toString());
    expect(labels).toEqual({ app: "soak", generation: String(w.generation) });
  }
}
