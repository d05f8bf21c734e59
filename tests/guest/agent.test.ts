/**
 * The guest agent (guest/bonneville-agent) against test doubles of VMware Tools, the container
 * runtimes and the identity/network tools. See guest-vm.ts for the doubles.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { GuestVM, GUEST_DIR, eventually } from "./guest-vm";

const GEN = "6f9c2d1e-8a4b-4c3d-9e2f-0a1b2c3d4e5f";
const GEN2 = "0b7e4a52-1c9d-4f60-8a3e-5d2c1b0a9f87";

/** Every guest a test made (some make several): each one's directory is removed after the test. */
const made: GuestVM[] = [];
afterEach(() => {
  for (const g of made.splice(0)) g.cleanup();
});

function guest(opts: ConstructorParameters<typeof GuestVM>[0] = {}): GuestVM {
  const g = new GuestVM(opts);
  made.push(g);
  return g;
}

describe("parent mode", () => {
  it("warms the runtime and signals ready when no generation is set", () => {
    const g = guest();
    const r = g.run();
    expect(r.status).toBe(0);
    expect(g.runtimeCalls()).toEqual([["docker", "info"]]);
    expect(g.info("ready")).toBe("true");
    expect(g.info("status")).toBeUndefined();
    expect(g.recordedGeneration()).toBeUndefined();
  });

  it("pulls the warm images that are not present yet, then signals ready", () => {
    const g = guest();
    g.set("warmImages", "nginx:1.27, redis:7");
    g.presentImages("redis:7");
    expect(g.run().status).toBe(0);
    expect(g.runtimeCalls()).toEqual([
      ["docker", "info"],
      ["docker", "image", "inspect", "nginx:1.27"],
      ["docker", "pull", "nginx:1.27"],
      ["docker", "image", "inspect", "redis:7"],
    ]);
    expect(g.writes()).toEqual(["error=<nil>", "ready=true"]);
  });

  it("does not signal ready, and says why, when no container runtime is installed", () => {
    const g = guest({ runtimes: [] });
    const r = g.run();
    expect(r.status).toBe(0);
    expect(g.info("ready")).toBeUndefined();
    expect(g.info("error")).toBe("no container runtime found (looked for nerdctl, podman, docker)");
  });
});

describe("fork detection", () => {
  it("acts on a new generation: starting, then running, then records the generation", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    const r = g.run();
    expect(r.status).toBe(0);
    expect(g.writes()).toEqual([
      "exitCode=<nil>",
      "error=<nil>",
      "status=starting",
      `statusGeneration=${GEN}`,
      "status=running",
    ]);
    expect(g.info("statusGeneration")).toBe(GEN);
    expect(g.recordedGeneration()).toBe(GEN);
  });

  it("does nothing the second time for the same generation", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    const callsBefore = g.runtimeCalls().length;
    const writesBefore = g.writes().length;
    const commandsBefore = g.commands().length;
    const r = g.run();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`generation ${GEN} already handled; nothing to do`);
    expect(g.runtimeCalls().length).toBe(callsBefore);
    expect(g.writes().length).toBe(writesBefore);
    expect(g.commands().length).toBe(commandsBefore);
  });

  it("acts again when the generation changes", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    g.set("generation", GEN2);
    g.run();
    expect(g.recordedGeneration()).toBe(GEN2);
    expect(g.info("statusGeneration")).toBe(GEN2);
    expect(g.runtimeCalls().filter((c) => c[1] === "run")).toHaveLength(2);
  });
});

describe("identity reset", () => {
  it("sets a valid hostname from the container name and updates the 127.0.1.1 line", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "Web_Server.01", image: "nginx:1.27" });
    g.run();
    expect(g.commands()).toContain("hostnamectl set-hostname web-server-01");
    expect(g.readRoot("etc/hosts")).toBe("127.0.0.1 localhost\n127.0.1.1 web-server-01\n");
  });

  it("regenerates the machine-id and mixes the generation into the entropy pool", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    const id = g.readRoot("etc/machine-id").trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).not.toBe("0123456789abcdef0123456789abcdef");
    expect(g.readRoot("var/lib/dbus/machine-id").trim()).toBe(id);
    expect(g.readRoot("dev/urandom")).toContain(GEN);
    expect(g.commands().filter((c) => c.startsWith("systemd-machine-id-setup"))).toEqual([]);
  });

  it("resets every physical NIC and restarts systemd-networkd with its links down, when networkd manages them", () => {
    const g = guest({ nics: ["ens192", "ens224"] });
    g.addNic("docker0", false);
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    const net = g.commands().filter((c) => !c.startsWith("hostnamectl"));
    expect(net).toEqual([
      "ip link set dev ens192 down",
      "ip addr flush dev ens192",
      "ip link set dev ens224 down",
      "ip addr flush dev ens224",
      "systemctl is-active --quiet systemd-networkd",
      "systemctl stop systemd-networkd.socket systemd-networkd",
      "ip link set dev ens192 up",
      "ip link set dev ens224 up",
      "systemctl start systemd-networkd.socket systemd-networkd",
      "ip -4 -o addr show dev ens192 scope global",
    ]);
  });

  it("with dhclient, stops the inherited client without a release, sets the parent's lease aside and asks anew", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    fs.mkdirSync(path.join(g.root, "run"), { recursive: true });
    fs.mkdirSync(path.join(g.root, "var/lib/dhcp"), { recursive: true });
    fs.writeFileSync(path.join(g.root, "run/dhclient.ens192.pid"), "812\n");
    fs.writeFileSync(
      path.join(g.root, "var/lib/dhcp/dhclient.ens192.leases"),
      "lease { fixed-address 10.0.0.5; }\n",
    );
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    const pid = path.join(g.root, "run/dhclient.ens192.pid");
    const leases = path.join(g.root, "var/lib/dhcp/dhclient.ens192.leases");
    expect(g.commands().filter((c) => !c.startsWith("hostnamectl"))).toEqual([
      "ip link set dev ens192 down",
      "ip addr flush dev ens192",
      `dhclient -x -pf ${pid} ens192`,
      "ip link set dev ens192 up",
      `dhclient -pf ${pid} -lf ${leases} ens192`,
      "ip -4 -o addr show dev ens192 scope global",
    ]);
    expect(g.commands().filter((c) => / -r\b/.test(c))).toEqual([]);
    expect(g.rootFile("var/lib/dhcp/dhclient.ens192.leases.parent")).toBe(
      "lease { fixed-address 10.0.0.5; }\n",
    );
  });

  it("applies a static ipConfig to the first NIC with ip, and writes resolv.conf", () => {
    const g = guest({ nics: ["ens192", "ens224"], tools: ["hostnamectl", "networkctl", "ip"] });
    g.spec({
      generation: GEN,
      name: "web",
      image: "nginx:1.27",
      ipConfig: { address: "192.0.2.10/24", gateway: "192.0.2.1", dns: ["192.0.2.53", "192.0.2.54"] },
    });
    g.run();
    expect(
      g.commands().filter((c) => !c.startsWith("hostnamectl") && !c.includes("systemd-networkd")),
    ).toEqual([
      "ip link set dev ens192 down",
      "ip addr flush dev ens192",
      "ip link set dev ens224 down",
      "ip addr flush dev ens224",
      "ip link set dev ens192 up",
      "ip link set dev ens224 up",
      "ip addr flush dev ens192 scope global",
      "ip addr add 192.0.2.10/24 dev ens192",
      "ip link set dev ens192 up",
      "ip route replace default via 192.0.2.1 dev ens192",
      "ip -4 -o addr show dev ens192 scope global",
    ]);
    expect(g.info("ipAddress")).toBe("192.0.2.10");
    expect(g.readRoot("etc/resolv.conf")).toBe("nameserver 192.0.2.53\nnameserver 192.0.2.54\n");
    expect(g.info("status")).toBe("running");
  });

  it("sets DNS through resolvectl when it is installed", () => {
    const g = guest();
    g.spec({
      generation: GEN,
      name: "web",
      image: "nginx:1.27",
      ipConfig: { address: "192.0.2.10/24", dns: ["192.0.2.53"] },
    });
    g.run();
    expect(g.commands()).toContain("resolvectl dns ens192 192.0.2.53");
    expect(g.commands().filter((c) => c.startsWith("ip route"))).toEqual([]);
  });
});

describe("spec parsing", () => {
  it("passes the decoded command, env and labels to the runtime with the right flags", () => {
    const g = guest();
    g.spec({
      generation: GEN,
      name: "web",
      image: "nginx:1.27",
      command: ["nginx", "-g", "daemon off;"],
      env: { A: "1", GREETING: "hello, wörld\nline two" },
      labels: { team: "core", "app.kubernetes.io/name": "web" },
      networks: [{ name: "bridge", portGroupId: "dvportgroup-44" }],
    });
    expect(g.run().status).toBe(0);
    expect(g.runtimeCalls()).toEqual([
      ["docker", "image", "inspect", "nginx:1.27"],
      ["docker", "pull", "nginx:1.27"],
      ["docker", "rm", "-f", "web"],
      [
        "docker",
        "run",
        "-d",
        "--name=web",
        "--network=host",
        "--env=A=1",
        "--env=GREETING=hello, wörld\nline two",
        "--label=team=core",
        "--label=app.kubernetes.io/name=web",
        "nginx:1.27",
        "nginx",
        "-g",
        "daemon off;",
      ],
    ]);
    expect(g.info("status")).toBe("running");
  });

  it("uses the image defaults when command, env and labels are absent, and skips the pull of a present image", () => {
    const g = guest({ json: "none" });
    g.presentImages("registry.example.com/team/app@sha256:0123abcd");
    g.spec({ generation: GEN, name: "app one", image: "registry.example.com/team/app@sha256:0123abcd" });
    g.run();
    expect(g.runtimeCall("pull")).toBeUndefined();
    expect(g.runtimeCall("run")).toEqual([
      "docker",
      "run",
      "-d",
      "--name=app-one",
      "--network=host",
      "registry.example.com/team/app@sha256:0123abcd",
    ]);
    expect(g.info("status")).toBe("running");
  });

  const malformed: [string, (g: GuestVM) => void, string][] = [
    [
      "env that is not base64",
      (g) => g.set("env", "%%%not base64%%%"),
      "guestinfo.bonneville.env is not valid base64",
    ],
    [
      "a command that is not JSON",
      (g) => g.set("command", Buffer.from('["nginx", ').toString("base64")),
      "guestinfo.bonneville.command is not valid JSON",
    ],
    [
      "a command that is not an array of strings",
      (g) => g.setJson("command", ["nginx", 80]),
      "guestinfo.bonneville.command must be a JSON array of strings",
    ],
    [
      "env with a non-string value",
      (g) => g.setJson("env", { PORT: 8080 }),
      "guestinfo.bonneville.env must be a JSON object of string to string",
    ],
    [
      "labels that are an array",
      (g) => g.setJson("labels", ["team=core"]),
      "guestinfo.bonneville.labels must be a JSON object of string to string",
    ],
    [
      "networks without names",
      (g) => g.setJson("networks", [{ portGroupId: "dvportgroup-44" }]),
      'guestinfo.bonneville.networks must be a JSON array of {"name": ..., "portGroupId": ...} objects',
    ],
    [
      "an ipConfig without address",
      (g) => g.setJson("ipConfig", { gateway: "192.0.2.1" }),
      'guestinfo.bonneville.ipConfig must be a JSON object with a string "address"',
    ],
    [
      "a missing image",
      (g) => fs.rmSync(path.join(g.fake, "guestinfo", "guestinfo.bonneville.image")),
      "guestinfo.bonneville.image is missing",
    ],
    [
      "an image that looks like a flag",
      (g) => g.set("image", "--privileged"),
      "guestinfo.bonneville.image '--privileged' is not a valid image reference",
    ],
    [
      "a newer contract version",
      (g) => g.set("version", "3"),
      "the spec needs guest contract version 3; this agent implements version 2",
    ],
  ];

  describe.each(["python3", "jq"] as const)("decoded with %s", (json) => {
    it.each(malformed)(
      "reports %s as status=error, exits 0 and never calls the runtime",
      (_what, breakIt, message) => {
        const g = guest({ json });
        g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
        breakIt(g);
        const r = g.run();
        expect(r.status).toBe(0);
        expect(g.info("status")).toBe("error");
        expect(g.info("error")).toBe(message);
        expect(g.info("statusGeneration")).toBe(GEN);
        expect(r.stderr).toContain(`error: ${message}`);
        expect(g.runtimeCalls()).toEqual([]);
        // recorded, so a watching agent does not retry a bad spec every second
        expect(g.recordedGeneration()).toBe(GEN);
      },
    );
  });

  it("still resets the clone's identity when the spec is bad", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web" });
    g.run();
    expect(g.info("error")).toBe("guestinfo.bonneville.image is missing");
    expect(g.commands()).toEqual([
      "hostnamectl set-hostname web",
      "ip link set dev ens192 down",
      "ip addr flush dev ens192",
      "systemctl is-active --quiet systemd-networkd",
      "systemctl stop systemd-networkd.socket systemd-networkd",
      "ip link set dev ens192 up",
      "systemctl start systemd-networkd.socket systemd-networkd",
      "ip -4 -o addr show dev ens192 scope global",
    ]);
  });

  it("says clearly that a JSON decoder is missing when neither python3 nor jq is installed", () => {
    const g = guest({ json: "none" });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27", command: ["nginx"] });
    expect(g.run().status).toBe(0);
    expect(g.info("status")).toBe("error");
    expect(g.info("error")).toBe(
      "guestinfo.bonneville.command cannot be decoded: neither python3 nor jq is installed in the template",
    );
  });
});

describe("runtime selection", () => {
  it.each([
    [["nerdctl", "podman", "docker"], "nerdctl"],
    [["podman", "docker"], "podman"],
    [["docker"], "docker"],
  ])("with %j installed it uses %s", (installed, expected) => {
    const g = guest({ runtimes: installed });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    expect(new Set(g.runtimeCalls().map((c) => c[0]))).toEqual(new Set([expected]));
    expect(g.runtimeCall("run")?.[0]).toBe(expected);
  });

  it("uses BONNEVILLE_RUNTIME over the default order", () => {
    const g = guest({ runtimes: ["nerdctl", "podman", "docker"] });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run([], { BONNEVILLE_RUNTIME: "docker" });
    expect(g.runtimeCalls().map((c) => c[0])).toEqual(["docker", "docker", "docker", "docker"]);
  });

  it("reports an error when BONNEVILLE_RUNTIME names a runtime that is not installed", () => {
    const g = guest({ runtimes: ["docker"] });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    expect(g.run([], { BONNEVILLE_RUNTIME: "crun-x" }).status).toBe(0);
    expect(g.info("status")).toBe("error");
    expect(g.info("error")).toBe("container runtime 'crun-x' (from BONNEVILLE_RUNTIME) not found");
    expect(g.runtimeCalls()).toEqual([]);
  });

  it("reports an error when no runtime is installed", () => {
    const g = guest({ runtimes: [] });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    expect(g.run().status).toBe(0);
    expect(g.info("status")).toBe("error");
    expect(g.info("error")).toBe("no container runtime found (looked for nerdctl, podman, docker)");
  });
});

describe("status reporting", () => {
  it("reports exited with the runtime's exit code and its last error line when run fails", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.failRuntime(
      "run",
      125,
      "Unable to find image\ndocker: Error response from daemon: port is already allocated.\n",
    );
    expect(g.run().status).toBe(0);
    expect(g.info("status")).toBe("exited");
    expect(g.info("exitCode")).toBe("125");
    expect(g.info("error")).toBe("docker: Error response from daemon: port is already allocated.");
    expect(g.writes().slice(-3)).toEqual([
      "exitCode=125",
      "error=docker: Error response from daemon: port is already allocated.",
      "status=exited",
    ]);
  });

  it("reports error with the pull failure after retrying the pull", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.failRuntime("pull", 1, "Error response from daemon: manifest for nginx:1.27 not found\n");
    g.run([], { BONNEVILLE_PULL_ATTEMPTS: "2" });
    expect(g.info("status")).toBe("error");
    expect(g.info("error")).toBe(
      "image pull failed for nginx:1.27: Error response from daemon: manifest for nginx:1.27 not found",
    );
    expect(g.runtimeCalls().filter((c) => c[1] === "pull")).toHaveLength(2);
    expect(g.runtimeCall("run")).toBeUndefined();
  });

  it("reads and writes guestinfo through vmtoolsd --cmd when vmware-rpctool is absent", () => {
    const g = guest({ rpc: "vmtoolsd" });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    expect(g.info("status")).toBe("running");
    const tools = fs.readFileSync(path.join(g.fake, "rpc-tools.log"), "utf8").trim().split("\n");
    expect(new Set(tools)).toEqual(new Set(["vmtoolsd"]));
  });

  it("exits 3 without VMware Tools, since nothing can be reported", () => {
    const g = guest({ rpc: "none" });
    const r = g.run();
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("neither vmware-rpctool nor vmtoolsd found; install open-vm-tools");
  });
});

describe("secrets", () => {
  const SECRET = "s3cr3t-hunter2-Pa55";

  it("never prints env values or copies them into guestinfo, even when the runtime echoes them", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "db", image: "postgres:16", env: { POSTGRES_PASSWORD: SECRET } });
    g.failRuntime("run", 125, "", true);
    const r = g.run();
    expect(g.runtimeCall("run")).toContain(`--env=POSTGRES_PASSWORD=${SECRET}`);
    expect(g.info("status")).toBe("exited");
    expect(g.info("error")).toContain("--env=POSTGRES_PASSWORD=***");
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(g.writes().join("\n")).not.toContain(SECRET);
  });

  it.each(["python3", "jq"] as const)("keeps env values out of spec errors (%s)", (json) => {
    const g = guest({ json });
    g.spec({
      generation: GEN,
      name: "db",
      image: "postgres:16",
      env: { POSTGRES_PASSWORD: SECRET },
      labels: { [`x=${SECRET}`]: "y" },
    });
    const r = g.run();
    expect(g.info("error")).toBe("guestinfo.bonneville.labels has a label key that is empty or contains '='");
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(g.writes().join("\n")).not.toContain(SECRET);
  });
});

describe("watch mode", () => {
  it("signals ready as a parent, acts on the fork, and reports the container's exit", async () => {
    const g = guest();
    const child = g.spawn(["--watch"], {
      BONNEVILLE_POLL_INTERVAL: "0.05",
      BONNEVILLE_WATCH_MAX_TICKS: "2000",
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await eventually(() => g.info("ready") === "true");
      expect(g.info("status")).toBeUndefined();

      // a manual run leaves the VM to the watching agent
      const manual = g.run();
      expect(manual.status).toBe(0);
      expect(manual.stderr).toMatch(/another bonneville-agent \(pid \d+\) is watching; nothing to do/);

      // the instant clone: the same running agent now sees the provider's spec
      g.spec({ generation: GEN, name: "job", image: "busybox:1.36", command: ["sh", "-c", "exit 7"] });
      await eventually(() => g.info("status") === "running");
      expect(g.info("statusGeneration")).toBe(GEN);

      g.containerState("exited 7");
      await eventually(() => g.info("status") === "exited");
      expect(g.info("exitCode")).toBe("7");
      expect(g.runtimeCall("inspect")).toEqual([
        "docker",
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "job",
      ]);
      expect(g.runtimeCalls().filter((c) => c[1] === "run")).toHaveLength(1);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    expect(stderr).toContain("watching guestinfo.bonneville.generation");
  });
});

describe("contract v2: the frozen parent and the fork hook", () => {
  const PARENT_ID = "0123456789abcdef0123456789abcdef";

  /** The fork as the test sees it: the clone's spec appears in guestinfo, and DHCP has an address for it. */
  function forkOnFreeze(g: GuestVM): void {
    const gi = path.join(g.fake, "guestinfo", "guestinfo.bonneville.");
    g.onFreeze(
      [
        `printf '%s' ${GEN} >'${gi}generation'`,
        `printf '%s' web >'${gi}name'`,
        `printf '%s' nginx:1.27 >'${gi}image'`,
        `printf '%s' 10.0.0.23/24 >'${path.join(g.fake, "dhcp", "ens192")}'`,
      ].join("\n"),
    );
  }

  it("signals ready, then freezes; when the freeze returns it is the clone and becomes its container at once", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.set("version", "2").set("freeze", "true");
    g.nicAddress("ens192", "10.0.0.5/24"); // the parent's lease, still on the NIC when the clone resumes
    forkOnFreeze(g);
    const r = g.run();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("instantclone.freeze returned: this VM is an instant clone");
    expect(g.writes()).toEqual([
      "error=<nil>",
      "ready=true",
      "frozen=true",
      "instantclone.freeze",
      "exitCode=<nil>",
      "error=<nil>",
      "status=starting",
      `statusGeneration=${GEN}`,
      "ipAddress=10.0.0.23",
      `ipGeneration=${GEN}`,
      "status=running",
    ]);
    expect(g.recordedGeneration()).toBe(GEN);
    expect(g.runtimeCalls().filter((c) => c[1] === "run")).toHaveLength(1);
    expect(g.readRoot("etc/machine-id").trim()).not.toBe(PARENT_ID);
  });

  it("does not freeze a parent whose freeze key is false or absent (running-parent mode)", () => {
    for (const freeze of ["false", undefined]) {
      const g = guest();
      if (freeze) g.set("freeze", freeze);
      g.run();
      expect(g.writes()).toEqual(["error=<nil>", "ready=true"]);
      g.cleanup();
    }
  });

  it("stays a running parent, and says why, when the freeze is refused", () => {
    const g = guest();
    g.set("freeze", "true");
    g.freezeFails("Operation not allowed in the current state.");
    const r = g.run();
    expect(r.status).toBe(0);
    expect(g.writes()).toEqual([
      "error=<nil>",
      "ready=true",
      "frozen=true",
      "instantclone.freeze",
      "frozen=<nil>",
      "error=instantclone.freeze failed: Operation not allowed in the current state.",
    ]);
    expect(g.info("status")).toBeUndefined();
    expect(g.recordedGeneration()).toBeUndefined();
  });

  it("in --watch, the freeze returning starts the container once, and the watch loop leaves it be", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.set("freeze", "true");
    forkOnFreeze(g);
    const r = g.run(["--watch"], { BONNEVILLE_POLL_INTERVAL: "0", BONNEVILLE_WATCH_MAX_TICKS: "12" });
    expect(r.status).toBe(0);
    expect(g.info("status")).toBe("running");
    expect(g.info("ipAddress")).toBe("10.0.0.23");
    expect(g.writes().filter((w) => w === "instantclone.freeze")).toHaveLength(1);
    expect(g.runtimeCalls().filter((c) => c[1] === "run")).toHaveLength(1);
  });
});

describe("contract v2: a fork's own identity", () => {
  const PARENT_ID = "0123456789abcdef0123456789abcdef";

  function snapshotOf(g: GuestVM, prefix: string): string {
    const found = g.snapshots().filter((l) => l.startsWith(prefix));
    expect(found).toHaveLength(1);
    return found[0];
  }

  it("writes the new machine-id and host name before systemd-networkd starts again (a new DUID)", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    const id = g.readRoot("etc/machine-id").trim();
    expect(id).not.toBe(PARENT_ID);
    // stopped while the links are down (no release can leave), with the parent's id still in place
    expect(snapshotOf(g, "systemctl stop systemd-networkd")).toContain(`machine-id=${id}`);
    expect(snapshotOf(g, "systemctl start systemd-networkd")).toContain(`machine-id=${id} hostname=web`);
    const cmds = g.commands();
    expect(cmds.indexOf("ip link set dev ens192 down")).toBeLessThan(
      cmds.indexOf("systemctl stop systemd-networkd.socket systemd-networkd"),
    );
  });

  it("writes the new machine-id and host name before dhclient asks for a lease", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    const id = g.readRoot("etc/machine-id").trim();
    expect(id).not.toBe(PARENT_ID);
    expect(snapshotOf(g, "dhclient -pf")).toContain(`machine-id=${id} hostname=web`);
  });

  it("rebinds a NIC's driver, so the NIC takes the clone's MAC, before DHCP", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.addDriver("ens192", "vmxnet3", "0000:0b:00.0");
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    expect(g.rootFile("sys/bus/pci/drivers/vmxnet3/unbind")).toBe("0000:0b:00.0");
    expect(g.rootFile("sys/bus/pci/drivers/vmxnet3/bind")).toBe("0000:0b:00.0");
    // the driver path replaces the link down/flush of a NIC without a driver
    expect(g.commands().filter((c) => c.includes("down") || c.includes("flush"))).toEqual([]);
    expect(snapshotOf(g, "dhclient -pf")).toContain("bound=0000:0b:00.0");
  });

  it("publishes its own DHCP address for the generation, never the parent's that the NIC still held", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.nicAddress("ens192", "10.0.0.5/24");
    g.dhcpOffers("ens192", "10.0.0.23/24");
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    expect(g.info("ipAddress")).toBe("10.0.0.23");
    expect(g.info("ipGeneration")).toBe(GEN);
    expect(g.writes().filter((w) => w.includes("10.0.0.5"))).toEqual([]);
    const w = g.writes();
    expect(w.indexOf("ipAddress=10.0.0.23")).toBeLessThan(w.indexOf(`ipGeneration=${GEN}`));
  });

  it("publishes no address when DHCP gives none, rather than a stale one", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.nicAddress("ens192", "10.0.0.5/24");
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    const r = g.run();
    expect(r.stderr).toContain("no IPv4 address on ens192 after 0s; ipAddress not published");
    expect(g.info("ipAddress")).toBeUndefined();
    expect(g.info("status")).toBe("running");
  });

  it("sets the host name with hostname and /etc/hostname when systemd is not the init system", () => {
    const g = guest({ systemd: false });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    expect(g.commands()).toContain("hostname web");
    expect(g.commands().filter((c) => c.startsWith("hostnamectl") || c.startsWith("systemctl"))).toEqual([]);
    expect(g.readRoot("etc/hostname")).toBe("web\n");
  });

  it("uses BONNEVILLE_NICS for NICs that have no device (veth)", () => {
    const g = guest({ nics: [], tools: ["hostnamectl", "ip", "dhclient"] });
    g.addNic("eth0", false);
    g.dhcpOffers("eth0", "10.0.0.31/24");
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run([], { BONNEVILLE_NICS: "eth0" });
    expect(g.commands()).toContain("ip link set dev eth0 down");
    expect(g.info("ipAddress")).toBe("10.0.0.31");
  });
});

describe("contract v2: the sentinel", () => {
  it("treats <nil> as empty: a <nil> generation is a parent, a <nil> name a generated host name", () => {
    const g = guest();
    g.set("generation", "<nil>").set("freeze", "<nil>");
    g.run();
    expect(g.info("ready")).toBe("true");
    expect(g.writes()).toEqual(["error=<nil>", "ready=true"]);

    const c = guest();
    c.spec({ generation: GEN, name: "<nil>", image: "nginx:1.27" });
    c.run();
    expect(c.commands()).toContain("hostnamectl set-hostname bonneville-6f9c2d1e");
  });

  it("never writes an empty value (the guest cannot), also when it clears error after an exit", async () => {
    const g = guest();
    g.spec({ generation: GEN, name: "job", image: "busybox:1.36" });
    g.run();
    g.containerState("exited 0");
    g.run(["--watch"], { BONNEVILLE_POLL_INTERVAL: "0", BONNEVILLE_WATCH_MAX_TICKS: "1" });
    expect(g.info("status")).toBe("exited");
    expect(g.info("error")).toBe("<nil>");
    expect(g.writes().filter((w) => w.endsWith("="))).toEqual([]);
  });
});

describe("contract v2: VMware Tools fallback", () => {
  it("uses vmtoolsd --cmd when vmware-rpctool answers Permission denied", () => {
    const g = guest({ rpc: "refused" });
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    const r = g.run();
    expect(r.stderr).toContain("vmware-rpctool is refused (Permission denied); using vmtoolsd --cmd");
    expect(g.info("status")).toBe("running");
    const tools = fs.readFileSync(path.join(g.fake, "rpc-tools.log"), "utf8").trim().split("\n");
    expect(tools[0]).toBe("vmware-rpctool");
    expect(tools.slice(1).length).toBeGreaterThan(3);
    expect(new Set(tools.slice(1))).toEqual(new Set(["vmtoolsd"]));
  });
});

describe("power cycles", () => {
  it("starts the handled generation's container again when the VM comes back on, and reports its address", () => {
    const g = guest({ tools: ["hostnamectl", "ip", "dhclient"] });
    g.dhcpOffers("ens192", "10.0.0.23/24");
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    g.run();
    expect(g.info("status")).toBe("running");
    // power off and on: /run is empty again, the container stopped with the VM, the boot's DHCP
    // gave another address
    fs.rmSync(path.join(g.root, "run/bonneville"), { recursive: true });
    g.containerState("exited 255");
    g.nicAddress("ens192", "10.0.0.24/24");
    g.run(["--watch"], { BONNEVILLE_POLL_INTERVAL: "0", BONNEVILLE_WATCH_MAX_TICKS: "1" });
    expect(g.runtimeCall("start")).toEqual(["docker", "start", "web"]);
    expect(g.info("status")).toBe("running");
    expect(g.info("ipAddress")).toBe("10.0.0.24");
    expect(g.info("ipGeneration")).toBe(GEN);
    expect(g.runtimeCalls().filter((c) => c[1] === "run")).toHaveLength(1);
  });
});

describe("packaging", () => {
  it("install.sh copies the agent, unit and README into DESTDIR and enables the unit offline", () => {
    const g = guest();
    const dest = path.join(g.dir, "image");
    fs.mkdirSync(path.join(dest, "var/lib/bonneville"), { recursive: true });
    fs.writeFileSync(path.join(dest, "var/lib/bonneville/generation"), GEN + "\n");
    const r = spawnSync(path.join(g.sysbin, "bash"), [path.join(GUEST_DIR, "install.sh")], {
      env: { ...g.env(), DESTDIR: dest },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const mode = (rel: string) => (fs.statSync(path.join(dest, rel)).mode & 0o777).toString(8);
    expect(mode("usr/local/bin/bonneville-agent")).toBe("755");
    expect(mode("etc/systemd/system/bonneville-agent.service")).toBe("644");
    expect(mode("var/lib/bonneville")).toBe("700");
    expect(fs.existsSync(path.join(dest, "usr/local/share/doc/bonneville-agent/README.md"))).toBe(true);
    expect(fs.existsSync(path.join(dest, "var/lib/bonneville/generation"))).toBe(false);
    expect(g.commands()).toEqual([`systemctl --root=${dest} enable bonneville-agent.service`]);
  });

  it("the systemd unit runs the agent in watch mode after VMware Tools and the runtimes", () => {
    const unit = fs.readFileSync(path.join(GUEST_DIR, "bonneville-agent.service"), "utf8");
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/bonneville-agent --watch$/m);
    expect(unit).toMatch(/^After=.*\bvmtoolsd\.service\b.*\bcontainerd\.service\b.*\bdocker\.service\b/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});

describe("container output", () => {
  it("copies the runtime's output into the console serial port as timestamped stdout and stderr records", async () => {
    const g = guest();
    const console = path.join(g.root, "dev/ttyS1");
    fs.writeFileSync(console, "");
    fs.writeFileSync(
      path.join(g.fake, "logs.out"),
      "2026-01-02T03:04:05.123456789Z hello world\n2026-01-02T05:04:06.5+02:00 from podman\nno time here\n",
    );
    fs.writeFileSync(path.join(g.fake, "logs.err"), "2026-01-02T03:04:07Z oops\n");
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    expect(g.run().status).toBe(0);
    await eventually(() => fs.readFileSync(console, "utf8").split("\n").length === 5);
    const records = fs.readFileSync(console, "utf8").trim().split("\n");
    expect(records.filter((r) => r.includes(" stdout ")).slice(0, 2)).toEqual([
      "2026-01-02T03:04:05.123456789Z stdout hello world",
      "2026-01-02T03:04:06.500000000Z stdout from podman",
    ]);
    expect(records).toContain("2026-01-02T03:04:07Z stderr oops");
    expect(records.find((r) => r.endsWith(" stdout no time here"))).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z stdout no time here$/,
    );
    await eventually(() => g.runtimeCalls().some((c) => c[1] === "logs"));
    expect(g.runtimeCalls().find((c) => c[1] === "logs")).toEqual(["docker", "logs", "-f", "-t", "web"]);
  });

  it("copies nothing, and says so, when the VM has no console serial port", () => {
    const g = guest();
    g.spec({ generation: GEN, name: "web", image: "nginx:1.27" });
    const r = g.run();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(
      `no console serial port at ${g.root}/dev/ttyS1: the container's output is not copied (docker logs shows nothing)`,
    );
    expect(g.runtimeCalls().some((c) => c[1] === "logs")).toBe(false);
  });
});
