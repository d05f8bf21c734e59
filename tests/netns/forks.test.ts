/**
 * The real guest agent in the loop: VMs of the embedded vSphere backed by network namespaces
 * (BONNEVILLE_SIM_NETNS, sim/netns/README.md), with real DHCP from dnsmasq, driven through the
 * real plugin as `pulumi up` drives it.
 *
 * Runs when this machine can create network namespaces (root; sim/netns/setup installs dnsmasq,
 * dhclient and iproute2); otherwise it says why and skips. The fork tests also need the provider's
 * side of guest contract v2 (the ParentTemplate input `freeze`, ipAddress from the agent's
 * ipAddress/ipGeneration, status keys pre-created with <nil>) and say so when it is missing.
 */
import * as fs from "node:fs";
import { Sim } from "../support/sim";
import { base, container, eventually, failureOf, Lab } from "../reliability/support";
import { resource, simStack, PARENT, type ResourceDeclaration } from "../harness";
import { namespaces, netnsReport, netnsUnavailable, processesMentioning, providerHasFreeze } from "./support";

const noNetns = netnsUnavailable();
const noContractV2 = providerHasFreeze()
  ? undefined
  : "the provider does not implement guest contract v2 yet (ParentTemplate has no `freeze` input)";
// straight to stderr: jest drops console output of a file whose tests are all skipped
if (noNetns)
  process.stderr.write(`tests/netns: SKIPPED, network namespaces cannot be used here: ${noNetns}\n`);
else if (noContractV2) process.stderr.write(`tests/netns: the fork tests are SKIPPED: ${noContractV2}\n`);
const describeNetns = noNetns ? describe.skip : describe;
const describeForks = (noNetns ?? noContractV2) ? describe.skip : describe;

const NETNS_ENV = { BONNEVILLE_SIM_NETNS: "all", BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS: "1000" };
const FORKS = ["web-1", "web-2", "web-3", "web-4", "web-5", "web-6"];

jest.setTimeout(300_000);

/** The host, a frozen parent, and containers named as given (each waits for its address). */
function program(prefix: string, names: readonly string[], inputs: Record<string, unknown> = {}) {
  const { host, parent: running } = base(prefix);
  const parent: ResourceDeclaration = resource(PARENT, running.name, { ...running.inputs, freeze: true });
  const vms = names.map((name) => container(name, parent, { name, waitForIp: true, ...inputs }));
  return { host, parent, vms };
}

describeForks("namespace-backed VMs with the real agent", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start(NETNS_ENV);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("a frozen parent and six forks: a DHCP address each, host names = container names, new machine-ids", async () => {
    const { host, parent, vms } = program("nsf", FORKS);
    const stack = lab.stack();
    await stack.up([host, parent]);
    const parentId = stack.outputs<{ vmId: string }>("nsf-parent").vmId;
    const before = await netnsReport(lab.sim);
    const parentVM = before.vms.find((v) => v.id === parentId)!;
    expect(parentVM.frozen).toBe(true); // the agent froze it after warming up
    expect(parentVM.addresses).toHaveLength(1);
    const parentLease = before.leases.find((l) => l.mac === parentVM.macs[0])!;
    expect(parentLease.ip).toBe(parentVM.addresses[0]);

    const started = Date.now();
    await stack.up([host, parent, ...vms]);
    console.log(`tests/netns: six forks up with their own addresses in ${Date.now() - started} ms`);

    const report = await netnsReport(lab.sim);
    const byId = new Map(report.vms.map((v) => [v.id, v]));
    const forks = FORKS.map((name) => {
      const out = stack.outputs<{ vmId: string; ipAddress: string; containerStatus: string }>(name);
      return { name, out, ns: byId.get(out.vmId)! };
    });
    for (const { name, out, ns } of forks) {
      expect(ns).toBeDefined();
      expect(out.containerStatus).toBe("running");
      expect(ns.addresses).toHaveLength(1); // the parent's address is gone from the fork
      expect(out.ipAddress).toBe(ns.addresses[0]); // the provider reports what the namespace holds
      expect(ns.hostname).toBe(name);
    }
    const addresses = forks.map((f) => f.ns.addresses[0]);
    expect(new Set([...addresses, parentVM.addresses[0]]).size).toBe(FORKS.length + 1);
    const machineIds = [parentVM.machineId, ...forks.map((f) => f.ns.machineId)];
    expect(new Set(machineIds).size).toBe(FORKS.length + 1);

    // dnsmasq: one lease per MAC, the parent's untouched, each fork's under its own host name
    const macs = report.leases.map((l) => l.mac);
    expect(new Set(macs).size).toBe(macs.length);
    expect(report.leases).toHaveLength(FORKS.length + 1);
    expect(report.leases.find((l) => l.mac === parentVM.macs[0])).toEqual(parentLease);
    for (const { name, ns } of forks) {
      const lease = report.leases.find((l) => l.mac === ns.macs[0])!;
      expect({ ip: lease.ip, hostname: lease.hostname }).toEqual({ ip: ns.addresses[0], hostname: name });
    }
    console.log(
      "tests/netns: lease table\n" +
        report.leases.map((l) => `  ${l.mac} ${l.ip} ${l.hostname} ${l.clientId}`).join("\n"),
    );
  });

  it("a fork powered off and on keeps its status and comes back with an address", async () => {
    const { host, parent, vms } = program("nsp", ["cycle-1"]);
    const stack = lab.stack();
    await stack.up([host, parent, ...vms]);
    const { vmId } = stack.outputs<{ vmId: string }>("cycle-1");

    const off = { ...vms[0], inputs: { ...vms[0].inputs, powerState: "poweredOff", waitForIp: false } };
    await stack.up([host, parent, off]);
    expect((await netnsReport(lab.sim)).vms.find((v) => v.id === vmId)).toBeUndefined();
    expect(stack.outputs<{ containerStatus: string }>("cycle-1").containerStatus).toBe("running");

    await stack.up([host, parent, vms[0]]);
    const back = await eventually("the fork's address after power-on", async () => {
      const ns = (await netnsReport(lab.sim)).vms.find((v) => v.id === vmId);
      return ns && ns.addresses.length === 1 ? ns : undefined;
    });
    const out = stack.outputs<{ containerStatus: string; ipAddress: string }>("cycle-1");
    expect(out.containerStatus).toBe("running");
    expect(out.ipAddress).toBe(back.addresses[0]);
    expect(back.hostname).toBe("cycle-1");
  });

  it("an image that cannot be pulled fails the create with the agent's error", async () => {
    const { host, parent, vms } = program("nsx", ["broken-1"], { image: "bonneville-sim/fail:1" });
    const stack = lab.stack();
    const error = await failureOf(() => stack.up([host, parent, ...vms]));
    expect(error.message).toContain(
      "image pull failed for bonneville-sim/fail:1: Error response from daemon: pull access denied for bonneville-sim/fail",
    );
  });
});

describeNetns("cleaning up namespace-backed VMs", () => {
  it("leaves no namespace, bridge, veth or dnsmasq when the simulator stops", async () => {
    const lab = await Lab.start(NETNS_ENV);
    const { host, parent } = base("nss");
    await lab.stack().up([host, parent]);
    const report = await netnsReport(lab.sim);
    expect(namespaces(`bnv-${report.simPid}-`)).toHaveLength(2);
    expect(processesMentioning(report.stateDir).length).toBeGreaterThan(0);
    await lab.stop();
    // the bridges and veths lived only in these namespaces
    expect(namespaces(`bnv-${report.simPid}-`)).toEqual([]);
    expect(processesMentioning(report.stateDir)).toEqual([]);
    expect(fs.existsSync(report.stateDir)).toBe(false);
  });

  it("removes what a killed simulator left behind when the next one starts", async () => {
    // a simulator of its own, not a Lab's: the Lab would wait for the killed one to exit again
    const killed = await Sim.start(NETNS_ENV);
    const { host, parent } = base("nsk");
    await simStack(killed).up([host, parent]);
    const report = await netnsReport(killed);
    process.kill(report.simPid, "SIGKILL");
    await eventually("the killed simulator to be gone", async () =>
      fs.existsSync(`/proc/${report.simPid}`) ? undefined : true,
    );
    expect(namespaces(`bnv-${report.simPid}-`)).toHaveLength(2);

    const next = await Sim.start(NETNS_ENV);
    try {
      expect(namespaces(`bnv-${report.simPid}-`)).toEqual([]);
      expect(processesMentioning(report.stateDir)).toEqual([]);
      expect(fs.existsSync(report.stateDir)).toBe(false);
    } finally {
      await next.stop();
    }
  });
});
