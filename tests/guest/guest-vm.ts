/**
 * A fake guest for the Bonneville guest agent: a temp directory with test doubles on PATH.
 *
 * - `vmware-rpctool` (and `vmtoolsd --cmd`) backed by one file per guestinfo key; like the real tool
 *   (open-vm-tools rpctool.c) it prints the answer on stdout, or a failure on stderr and exits 1:
 *   `info-get` of a missing key says "No value found", `info-set` of an empty value is refused.
 *   Every `info-set` (and `instantclone.freeze`) is appended to `guestinfo.log` so tests can check
 *   the order of writes. `instantclone.freeze` runs `fake/on-freeze` (the test's fork: it changes
 *   guestinfo as the clone's spec would) and returns, or fails as `fake/freeze-fails` says.
 *   With rpc "refused", vmware-rpctool answers "Permission denied" (open-vm-tools #690).
 * - `nerdctl`/`podman`/`docker` that record their argv (one NUL-separated file per call), answer
 *   `image inspect` from a list of present images, and fail on demand.
 * - `hostnamectl`, `networkctl`, `ip`, `dhclient`, `resolvectl`, `systemctl` that record their calls
 *   (and, in `snapshots.log`, the machine-id and host name each call saw). `ip -4 -o addr show dev X`
 *   answers from `fake/addr/X`; `dhclient X` (not -x) "leases" `fake/dhcp/X` into `fake/addr/X`.
 * - `sysbin/`: links to the few real tools the agent may use, so nothing else on this machine (a real
 *   docker, hostnamectl or networkctl) can leak into a test. PATH is <doubles>:<sysbin>.
 * - `root/`: the BONNEVILLE_ROOT prefix with etc/, run/systemd/system (systemd is init),
 *   sys/class/net/<nic>/device (optionally with a rebindable driver) and dev/.
 */
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const AGENT = path.resolve(__dirname, "../../guest/bonneville-agent");
export const GUEST_DIR = path.resolve(__dirname, "../../guest");

const KEY_PREFIX = "guestinfo.bonneville.";

/** Real tools the agent (and the doubles) may call; anything else must come from the doubles. */
const REAL_TOOLS = [
  "bash",
  "base64",
  "cat",
  "chmod",
  "date",
  "grep",
  "head",
  "id",
  "install",
  "dirname",
  "basename",
  "cut",
  "cp",
  "mkdir",
  "mv",
  "od",
  "rm",
  "sleep",
  "tr",
  "flock",
  "jq",
];

const RECORDER = `#!/bin/bash
me=\${0##*/}
printf '%s\\n' "$me $*" >>"$FAKE_DIR/commands.log"
mid=$(cat "$BONNEVILLE_ROOT/etc/machine-id" 2>/dev/null)
host=$(cat "$FAKE_DIR/hostname" 2>/dev/null)
bound=$(cat "$BONNEVILLE_ROOT"/sys/bus/pci/drivers/*/bind 2>/dev/null)
printf '%s\\n' "$me $* | machine-id=$mid hostname=$host bound=$bound" >>"$FAKE_DIR/snapshots.log"
case "$me $*" in
  "hostnamectl set-hostname "*) printf '%s' "$2" >"$FAKE_DIR/hostname" ;;
  "hostname "*) printf '%s' "$1" >"$FAKE_DIR/hostname" ;;
  "ip -4 -o addr show dev "*)
    dev=$6
    [[ -f $FAKE_DIR/addr/$dev ]] && printf '2: %s    inet %s brd + scope global %s\\n' "$dev" "$(<"$FAKE_DIR/addr/$dev")" "$dev"
    ;;
  "ip addr flush dev "*) rm -f "$FAKE_DIR/addr/$4" ;;
  "ip addr add "*) printf '%s' "$3" >"$FAKE_DIR/addr/$5" ;;
  "dhclient -x "*) ;;
  "dhclient "*)
    dev=\${!#}
    [[ -f $FAKE_DIR/dhcp/$dev ]] && cp "$FAKE_DIR/dhcp/$dev" "$FAKE_DIR/addr/$dev"
    ;;
esac
exit 0
`;

const RPCTOOL = `#!/bin/bash
[[ \${0##*/} == vmtoolsd && $1 == --cmd ]] && shift
cmd=$1
printf '%s\\n' "\${0##*/}" >>"$FAKE_DIR/rpc-tools.log"
if [[ \${0##*/} == vmware-rpctool && -f $FAKE_DIR/rpctool-refused ]]; then
  echo "Permission denied" >&2
  exit 1
fi
case $cmd in
  "info-get "*)
    key=\${cmd#info-get }
    if [[ -f $FAKE_DIR/guestinfo/$key ]]; then
      printf '%s\\n' "$(<"$FAKE_DIR/guestinfo/$key")"
    else
      echo "No value found" >&2
      exit 1
    fi
    ;;
  "info-set "*)
    rest=\${cmd#info-set }
    key=\${rest%% *}
    value=\${rest#"$key"}
    value=\${value# }
    if [[ -z $value ]]; then
      echo "Invalid value" >&2
      exit 1
    fi
    printf '%s' "$value" >"$FAKE_DIR/guestinfo/$key"
    printf '%s=%s\\n' "$key" "$value" >>"$FAKE_DIR/guestinfo.log"
    ;;
  instantclone.freeze)
    printf '%s\\n' "instantclone.freeze" >>"$FAKE_DIR/guestinfo.log"
    if [[ -f $FAKE_DIR/freeze-fails ]]; then
      cat "$FAKE_DIR/freeze-fails" >&2
      exit 1
    fi
    [[ -f $FAKE_DIR/on-freeze ]] && bash "$FAKE_DIR/on-freeze"
    echo ""
    ;;
  *)
    echo "Unknown command" >&2
    exit 1
    ;;
esac
`;

const RUNTIME = `#!/bin/bash
n=0
[[ -f $FAKE_DIR/runtime-seq ]] && n=$(<"$FAKE_DIR/runtime-seq")
n=$((n + 1))
printf '%s' "$n" >"$FAKE_DIR/runtime-seq"
printf '%s\\0' "\${0##*/}" "$@" >"$FAKE_DIR/runtime/$(printf '%04d' "$n")"
sub=$1
[[ $1 == image ]] && sub="image-$2"
if [[ -f $FAKE_DIR/fail/$sub ]]; then
  [[ -f $FAKE_DIR/fail/$sub.stderr ]] && cat "$FAKE_DIR/fail/$sub.stderr" >&2
  [[ -f $FAKE_DIR/fail/$sub.echo ]] && printf 'invalid arguments: %s\\n' "$*" >&2
  exit "$(<"$FAKE_DIR/fail/$sub")"
fi
case $sub in
  image-inspect)
    [[ -f $FAKE_DIR/images ]] && grep -qxF -- "$3" "$FAKE_DIR/images" && { echo '[{}]'; exit 0; }
    echo "no such image: $3" >&2
    exit 1
    ;;
  pull) echo "pulled $2" ;;
  logs)
    [[ -f $FAKE_DIR/logs.out ]] && cat "$FAKE_DIR/logs.out"
    [[ -f $FAKE_DIR/logs.err ]] && cat "$FAKE_DIR/logs.err" >&2
    ;;
  run) echo "4f1c0ffee0ddba11" ;;
  start) echo "running 0" >"$FAKE_DIR/inspect" ;;
  inspect)
    [[ -f $FAKE_DIR/inspect ]] || { echo "no such container" >&2; exit 1; }
    cat "$FAKE_DIR/inspect"
    ;;
esac
exit 0
`;

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface GuestOptions {
  runtimes?: string[];
  /** "python3", "jq", "both" (default) or "none" */
  json?: "python3" | "jq" | "both" | "none";
  /** "refused": both tools installed, vmware-rpctool answers "Permission denied". */
  rpc?: "vmware-rpctool" | "vmtoolsd" | "refused" | "none";
  /** systemd is the init system (root/run/systemd/system exists); default true. */
  systemd?: boolean;
  /** Identity and network tools present as doubles (default: all). */
  tools?: string[];
  nics?: string[];
}

let realPython: string | undefined;
function pythonExecutable(): string {
  if (realPython === undefined) {
    const r = spawnSync("python3", ["-c", "import os, sys; print(os.path.realpath(sys.executable))"], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error("python3 is needed to run the guest agent tests");
    realPython = r.stdout.trim();
  }
  return realPython;
}

function findReal(tool: string): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]) {
    const p = path.join(dir, tool);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function writeExecutable(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o755 });
}

export class GuestVM {
  readonly dir: string;
  readonly bin: string;
  readonly sysbin: string;
  readonly fake: string;
  readonly root: string;
  readonly stateDir: string;

  constructor(opts: GuestOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "bonneville-guest-"));
    this.bin = path.join(this.dir, "bin");
    this.sysbin = path.join(this.dir, "sysbin");
    this.fake = path.join(this.dir, "fake");
    this.root = path.join(this.dir, "root");
    this.stateDir = path.join(this.dir, "state");
    for (const d of [this.bin, this.sysbin, this.fake, this.stateDir]) fs.mkdirSync(d, { recursive: true });
    for (const d of ["guestinfo", "runtime", "fail", "addr", "dhcp"]) fs.mkdirSync(path.join(this.fake, d));
    for (const d of ["etc", "dev", "var/lib/dbus", ...(opts.systemd === false ? [] : ["run/systemd/system"])])
      fs.mkdirSync(path.join(this.root, d), { recursive: true });

    const json = opts.json ?? "both";
    for (const tool of REAL_TOOLS) {
      if (tool === "jq" && (json === "python3" || json === "none")) continue;
      const real = findReal(tool);
      if (real) fs.symlinkSync(real, path.join(this.sysbin, tool));
    }
    if (json === "python3" || json === "both")
      fs.symlinkSync(pythonExecutable(), path.join(this.sysbin, "python3"));

    const rpc = opts.rpc ?? "vmware-rpctool";
    if (rpc === "refused") {
      writeExecutable(path.join(this.bin, "vmware-rpctool"), RPCTOOL);
      writeExecutable(path.join(this.bin, "vmtoolsd"), RPCTOOL);
      fs.writeFileSync(path.join(this.fake, "rpctool-refused"), "");
    } else if (rpc !== "none") writeExecutable(path.join(this.bin, rpc), RPCTOOL);
    for (const rt of opts.runtimes ?? ["docker"]) this.installRuntime(rt);
    for (const tool of opts.tools ?? [
      "hostnamectl",
      "hostname",
      "networkctl",
      "ip",
      "dhclient",
      "resolvectl",
      "systemctl",
    ]) {
      writeExecutable(path.join(this.bin, tool), RECORDER);
    }
    for (const nic of opts.nics ?? ["ens192"]) this.addNic(nic);

    fs.writeFileSync(path.join(this.root, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n");
    fs.writeFileSync(path.join(this.root, "var/lib/dbus/machine-id"), "0123456789abcdef0123456789abcdef\n");
    fs.writeFileSync(path.join(this.root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 parent-template\n");
  }

  installRuntime(name: string): void {
    writeExecutable(path.join(this.bin, name), RUNTIME);
  }

  addNic(name: string, physical = true): void {
    const d = path.join(this.root, "sys/class/net", name);
    fs.mkdirSync(d, { recursive: true });
    if (physical) fs.mkdirSync(path.join(d, "device"));
  }

  /**
   * Gives NIC `name` a PCI device bound to `driver`, as sysfs shows it: device -> the PCI device,
   * whose driver -> /sys/bus/pci/drivers/<driver> with bind and unbind files.
   */
  addDriver(name: string, driver: string, pciAddress: string): void {
    const drv = path.join(this.root, "sys/bus/pci/drivers", driver);
    const dev = path.join(this.root, "sys/devices/pci0000:00", pciAddress);
    fs.mkdirSync(drv, { recursive: true });
    fs.mkdirSync(dev, { recursive: true });
    fs.writeFileSync(path.join(drv, "bind"), "");
    fs.writeFileSync(path.join(drv, "unbind"), "");
    fs.symlinkSync(drv, path.join(dev, "driver"));
    const link = path.join(this.root, "sys/class/net", name, "device");
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(dev, link);
  }

  /** What `path` (relative to the root) holds; "" when it is missing. */
  rootFile(rel: string): string {
    const f = path.join(this.root, rel);
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
  }

  /** The address `ip` reports on `nic` (address/prefix), as a NIC that holds it already. */
  nicAddress(nic: string, cidr: string): void {
    fs.writeFileSync(path.join(this.fake, "addr", nic), cidr);
  }

  /** The address the DHCP server hands `nic` when dhclient asks. */
  dhcpOffers(nic: string, cidr: string): void {
    fs.writeFileSync(path.join(this.fake, "dhcp", nic), cidr);
  }

  /** What instantclone.freeze does before it returns (a bash script: the fork, as the test sees it). */
  onFreeze(script: string): void {
    fs.writeFileSync(path.join(this.fake, "on-freeze"), script);
  }

  /** Makes instantclone.freeze fail with `message` on stderr. */
  freezeFails(message: string): void {
    fs.writeFileSync(path.join(this.fake, "freeze-fails"), message + "\n");
  }

  /** Each recorded tool call with the machine-id, host name and bound driver it saw. */
  snapshots(): string[] {
    return this.lines(path.join(this.fake, "snapshots.log"));
  }

  /** Sets guestinfo.bonneville.<key> as the provider would. */
  set(key: string, value: string): this {
    fs.writeFileSync(path.join(this.fake, "guestinfo", KEY_PREFIX + key), value);
    return this;
  }

  /** Sets guestinfo.bonneville.<key> to base64 of the UTF-8 JSON of value. */
  setJson(key: string, value: unknown): this {
    return this.set(key, Buffer.from(JSON.stringify(value), "utf8").toString("base64"));
  }

  /** The current value of guestinfo.bonneville.<key>, or undefined when unset. */
  info(key: string): string | undefined {
    const f = path.join(this.fake, "guestinfo", KEY_PREFIX + key);
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined;
  }

  /**
   * Every info-set the agent made, in order, as "key=value" with the key prefix dropped, and
   * "instantclone.freeze" where it froze the VM.
   */
  writes(): string[] {
    return this.lines(path.join(this.fake, "guestinfo.log")).map((l) =>
      l.startsWith(KEY_PREFIX) ? l.slice(KEY_PREFIX.length) : l,
    );
  }

  /** A spec as the provider writes it for one clone. */
  spec(spec: { generation: string; name?: string; image?: string; [key: string]: unknown }): this {
    this.set("version", "2");
    for (const [key, value] of Object.entries(spec)) {
      if (value === undefined) continue;
      if (typeof value === "string") this.set(key, value);
      else this.setJson(key, value);
    }
    return this;
  }

  /** Makes `<runtime> <sub>` (e.g. "run", "pull", "image-inspect", "info") exit with code. */
  failRuntime(sub: string, code: number, stderr = "", echoArgs = false): void {
    fs.writeFileSync(path.join(this.fake, "fail", sub), String(code));
    if (stderr) fs.writeFileSync(path.join(this.fake, "fail", `${sub}.stderr`), stderr);
    if (echoArgs) fs.writeFileSync(path.join(this.fake, "fail", `${sub}.echo`), "");
  }

  presentImages(...images: string[]): void {
    fs.writeFileSync(path.join(this.fake, "images"), images.map((i) => i + "\n").join(""));
  }

  containerState(text: string): void {
    fs.writeFileSync(path.join(this.fake, "inspect"), text + "\n");
  }

  /** Each runtime call as [command, ...argv], in order. */
  runtimeCalls(): string[][] {
    const d = path.join(this.fake, "runtime");
    return fs
      .readdirSync(d)
      .sort()
      .map((f) => fs.readFileSync(path.join(d, f), "utf8").split("\0").slice(0, -1));
  }

  /** The runtime call whose first argument is `sub`. */
  runtimeCall(sub: string): string[] | undefined {
    return this.runtimeCalls().find((c) => c[1] === sub);
  }

  /** Calls of the recorded identity/network tools, e.g. "hostnamectl set-hostname web". */
  commands(): string[] {
    return this.lines(path.join(this.fake, "commands.log"));
  }

  recordedGeneration(): string | undefined {
    const f = path.join(this.stateDir, "generation");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim() : undefined;
  }

  readRoot(rel: string): string {
    return fs.readFileSync(path.join(this.root, rel), "utf8");
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: `${this.bin}:${this.sysbin}`,
      HOME: this.dir,
      FAKE_DIR: this.fake,
      BONNEVILLE_STATE_DIR: this.stateDir,
      BONNEVILLE_ROOT: this.root,
      BONNEVILLE_RETRY_DELAY: "0",
      BONNEVILLE_IP_WAIT: "0",
      ...extra,
    };
  }

  run(args: string[] = [], extraEnv: Record<string, string> = {}): RunResult {
    const r = spawnSync(path.join(this.sysbin, "bash"), [AGENT, ...args], {
      env: this.env(extraEnv),
      encoding: "utf8",
      timeout: 30000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  spawn(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
    return spawn(path.join(this.sysbin, "bash"), [AGENT, ...args], {
      env: this.env(extraEnv),
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private lines(file: string): string[] {
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "");
  }
}

/** Resolves once check() is true, polling every 20 ms; rejects after timeoutMs. */
export async function eventually(check: () => boolean, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
