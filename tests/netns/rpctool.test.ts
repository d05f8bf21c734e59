/**
 * The vmware-rpctool stand-in of namespace-backed VMs (sim/overlay/bonneville_rpctool.go), run
 * inside a VM's network namespace as the guest agent runs it: the answers and limits of the real
 * tool (open-vm-tools rpctool.c: reply on stdout, failure on stderr and exit 1), the volatility of
 * guest-created keys at power-off, and instantclone.freeze.
 */
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot, simBinary } from "../support/sim";
import { base, container, eventually, Lab } from "../reliability/support";
import { netnsReport, netnsUnavailable } from "./support";

const unavailable = netnsUnavailable();
if (unavailable)
  process.stderr.write(`tests/netns: SKIPPED, network namespaces cannot be used here: ${unavailable}\n`);
const describeNetns = unavailable ? describe.skip : describe;

jest.setTimeout(180_000);

describeNetns("vmware-rpctool in a namespace-backed VM", () => {
  let lab: Lab;
  let stateDir: string;
  let simPid: number;
  beforeAll(async () => {
    lab = await Lab.start({ BONNEVILLE_SIM_NETNS: "all", BONNEVILLE_SIM_TOOLS_NET_REFRESH_MS: "1000" });
    const report = await netnsReport(lab.sim);
    stateDir = report.stateDir;
    simPid = report.simPid;
  });
  afterAll(async () => {
    await lab?.stop();
  });

  function rpctoolArgs(vmId: string, command: string): string[] {
    return [
      "netns",
      "exec",
      `bnv-${simPid}-${vmId}`,
      "env",
      `BONNEVILLE_RPC_SOCKET=${path.join(stateDir, vmId, "rpc.sock")}`,
      `BONNEVILLE_SIM_BIN=${simBinary}`,
      path.join(repoRoot, "sim/netns/stand-ins/vmware-rpctool"),
      command,
    ];
  }

  function rpctool(vmId: string, command: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("ip", rpctoolArgs(vmId, command), { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * A parent left running (`freeze: false`): a frozen VM's guest does not run, so its rpctool
   * cannot answer (vSphere 6.7 SDK guide, "Freezing the Source Virtual Machine").
   */
  function runningParent(prefix: string): ReturnType<typeof base> {
    const { host, parent } = base(prefix);
    return { host, parent: { ...parent, inputs: { ...parent.inputs, freeze: false } } };
  }

  it("answers info-get and info-set as the real tool does, with its limits", async () => {
    const { host, parent } = runningParent("rpc");
    const stack = lab.stack();
    await stack.up([host, parent]);
    const vmId = stack.outputs<{ vmId: string }>("rpc-parent").vmId;

    expect(rpctool(vmId, "info-get guestinfo.bonneville.ready")).toEqual({
      status: 0,
      stdout: "true\n",
      stderr: "",
    });
    expect(rpctool(vmId, "info-get guestinfo.nothing")).toEqual({
      status: 1,
      stdout: "",
      stderr: "No value found\n",
    });
    expect(rpctool(vmId, "info-set guestinfo.test.empty ")).toEqual({
      status: 1,
      stdout: "",
      stderr: "Invalid value\n",
    });
    expect(rpctool(vmId, `info-set guestinfo.test.big ${"a".repeat(64 * 1024)}`)).toEqual({
      status: 1,
      stdout: "",
      stderr: "Message too long\n",
    });
    expect(rpctool(vmId, "info-set bonneville.managed false").status).toBe(1);
    expect(rpctool(vmId, "info-set guestinfo.test.value hello world").status).toBe(0);
    expect(rpctool(vmId, "info-get guestinfo.test.value").stdout).toBe("hello world\n");
    const vm = (await lab.sim.inventory()).virtualMachines.find((v) => v.id === vmId)!;
    expect(vm.extraConfig["guestinfo.test.value"]).toBe("hello world");
    expect(vm.extraConfig["guestinfo.test.empty"]).toBeUndefined();
    expect(vm.extraConfig["bonneville.managed"]).toBe("true");
  });

  it("loses the keys the guest created at power-off, and keeps guest values of keys configured at power-on", async () => {
    const { host, parent } = base("vol");
    const vm = container("vol-1", parent, { name: "vol-1", waitForIp: true });
    const stack = lab.stack();
    await stack.up([host, parent, vm]);
    const vmId = stack.outputs<{ vmId: string }>("vol-1").vmId;
    expect(rpctool(vmId, "info-set guestinfo.test.created by-the-guest").status).toBe(0);
    expect(rpctool(vmId, "info-set guestinfo.bonneville.image changed-by-the-guest").status).toBe(0);

    await stack.up([
      host,
      parent,
      { ...vm, inputs: { ...vm.inputs, powerState: "poweredOff", waitForIp: false } },
    ]);
    const after = (await lab.sim.inventory()).virtualMachines.find((v) => v.id === vmId)!;
    expect(after.powerState).toBe("poweredOff");
    expect(after.extraConfig["guestinfo.test.created"]).toBeUndefined();
    expect(after.extraConfig["guestinfo.bonneville.image"]).toBe("changed-by-the-guest");
  });

  it("instantclone.freeze marks the VM frozen and blocks", async () => {
    const { host, parent } = runningParent("frz");
    const stack = lab.stack();
    await stack.up([host, parent]);
    const vmId = stack.outputs<{ vmId: string }>("frz-parent").vmId;
    const call = spawn("ip", rpctoolArgs(vmId, "instantclone.freeze"), { stdio: "ignore" });
    let returned = false;
    call.on("exit", () => (returned = true));
    try {
      await eventually("the VM to be frozen", async () =>
        (await netnsReport(lab.sim)).vms.find((v) => v.id === vmId)?.frozen ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(returned).toBe(false);
    } finally {
      call.kill("SIGKILL");
    }
  });
});
