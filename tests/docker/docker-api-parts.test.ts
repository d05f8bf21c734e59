/**
 * The endpoint's pure parts, without vSphere: listen addresses and the listen policy, API version
 * paths, the unsupported-endpoint table, Docker's filters, image references, the state mapping
 * from power state and agent status, container identities, the console records and Docker's
 * multiplexed frames, and the console serial port's device changes.
 */
import { checkListenPolicy, isLoopback, parseListenAddress } from "../../provider/src/docker-api/auth";
import { humanDuration, stateOfVm, statusText } from "../../provider/src/docker-api/container-json";
import { parseCreateRequest } from "../../provider/src/docker-api/create-request";
import { labelsMatch, nameMatches, parseFilters } from "../../provider/src/docker-api/filters";
import { containerIdOf, dockerApiUrn, isDockerApiUrn } from "../../provider/src/docker-api/identity";
import { imageName } from "../../provider/src/docker-api/images";
import { Router, versionedPath } from "../../provider/src/docker-api/routing";
import { unsupportedEndpoint } from "../../provider/src/docker-api/unsupported";
import { frame, nanosOfUnixTime, parseConsole } from "../../provider/src/docker-api/container-output";
import { childConsoleChange, consolePortOf } from "../../provider/src/resources/console-port";

describe("listen addresses and the listen policy", () => {
  it("parses tcp and unix addresses", () => {
    expect(parseListenAddress("tcp://127.0.0.1:2375")).toEqual({
      kind: "tcp",
      host: "127.0.0.1",
      port: 2375,
    });
    expect(parseListenAddress("tcp://[::1]:2376")).toEqual({ kind: "tcp", host: "::1", port: 2376 });
    expect(parseListenAddress("unix:///run/b.sock")).toEqual({ kind: "unix", path: "/run/b.sock" });
    expect(() => parseListenAddress("127.0.0.1:2375")).toThrow(
      '--listen "127.0.0.1:2375": expected tcp://<address>:<port> (e.g. tcp://127.0.0.1:2375) or unix:///<path> (e.g. unix:///run/bonneville/docker.sock)',
    );
    expect(() => parseListenAddress("unix://relative.sock")).toThrow("the socket path must be absolute");
    expect(() => parseListenAddress("tcp://127.0.0.1:70000")).toThrow('--listen "tcp://127.0.0.1:70000"');
  });

  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["0.0.0.0", "10.0.0.5", "::", "example.com"].map(isLoopback)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("allows loopback and unix sockets without TLS, and nothing else", () => {
    expect(checkListenPolicy(parseListenAddress("tcp://127.0.0.1:0"), {})).toBe(false);
    expect(checkListenPolicy(parseListenAddress("unix:///tmp/x.sock"), {})).toBe(false);
    expect(() => checkListenPolicy(parseListenAddress("tcp://10.0.0.5:2376"), {})).toThrow(
      "refusing to listen on 10.0.0.5:2376 without TLS client-certificate verification",
    );
    expect(
      checkListenPolicy(parseListenAddress("tcp://10.0.0.5:2376"), { cert: "c", key: "k", ca: "a" }),
    ).toBe(true);
    expect(() =>
      checkListenPolicy(parseListenAddress("tcp://10.0.0.5:2376"), { cert: "c", key: "k" }),
    ).toThrow("missing --tls-ca");
  });
});

describe("routing", () => {
  it("accepts versioned and unprefixed paths within the served versions", () => {
    expect(versionedPath("/v1.47/containers/json")).toEqual({ apiVersion: "1.47", path: "/containers/json" });
    expect(versionedPath("/v1.24/_ping")).toEqual({ apiVersion: "1.24", path: "/_ping" });
    expect(versionedPath("/containers/json")).toEqual({ apiVersion: "1.47", path: "/containers/json" });
    expect(() => versionedPath("/v1.50/info")).toThrow(
      "client API version 1.50 is newer than this endpoint's",
    );
    expect(() => versionedPath("/v1.12/info")).toThrow("client API version 1.12 is too old");
  });

  it("matches parameters, image names with slashes, and answers unsupported paths with 501", async () => {
    const router = new Router()
      .add("GET", "/containers/:id/json", async ({ params }) => ({ status: 200, body: params }))
      .add("GET", "/images/*name/json", async ({ params }) => ({ status: 200, body: params }));
    expect(router.match("GET", "/containers/web/json").params).toEqual({ id: "web" });
    expect(router.match("HEAD", "/containers/web/json").params).toEqual({ id: "web" });
    expect(router.match("GET", "/images/registry.example.com/team/app:1/json").params).toEqual({
      name: "registry.example.com/team/app:1",
    });
    expect(() => router.match("GET", "/containers/web/attach/ws")).toThrow(
      expect.objectContaining({
        status: 501,
        message: expect.stringMatching(/^attach over websocket is not supported by/),
      }),
    );
    expect(() => router.match("GET", "/nothing")).toThrow(
      expect.objectContaining({ status: 404, message: "page not found" }),
    );
  });

  it("names the feature of every unsupported endpoint the docker CLI uses", () => {
    const features = [
      ["POST", "/containers/web/exec"],
      ["GET", "/containers/web/top"],
      ["POST", "/build"],
      ["GET", "/volumes"],
      ["GET", "/swarm"],
      ["GET", "/services"],
      ["GET", "/events"],
      ["POST", "/networks/create"],
      ["DELETE", "/networks/bridge"],
      ["POST", "/containers/web/pause"],
    ].map(([m, p]) => unsupportedEndpoint(m!, p!)?.feature);
    expect(features).toEqual([
      "exec",
      "top",
      "build",
      "volumes",
      "swarm",
      "swarm",
      "events",
      "creating networks",
      "removing networks",
      "pause and unpause",
    ]);
    expect(unsupportedEndpoint("GET", "/networks/bridge")).toBeUndefined();
    expect(unsupportedEndpoint("GET", "/containers/web/logs")).toBeUndefined();
    expect(unsupportedEndpoint("POST", "/containers/web/attach")).toBeUndefined();
  });
});

describe("filters", () => {
  it("reads both of Docker's encodings and refuses unknown filters", () => {
    expect(parseFilters('{"label":{"app=web":true}}', ["label"]).get("label")).toEqual(["app=web"]);
    expect(parseFilters('{"label":["app=web","tier"]}', ["label"]).get("label")).toEqual(["app=web", "tier"]);
    expect(() => parseFilters('{"ancestor":["nginx"]}', ["label", "name"])).toThrow(
      "invalid filter 'ancestor': this endpoint supports label, name",
    );
    expect(() => parseFilters("{", ["label"])).toThrow('filters="{" is not valid JSON');
  });

  it("matches labels by key or key=value, and names by regular expression", () => {
    expect(labelsMatch(["app=web"], { app: "web" })).toBe(true);
    expect(labelsMatch(["app"], { app: "db" })).toBe(true);
    expect(labelsMatch(["app=web", "tier=gold"], { app: "web" })).toBe(false);
    expect(nameMatches(["^/we"], "web")).toBe(true);
    expect(nameMatches(["eb$"], "web")).toBe(true);
    expect(nameMatches(["db"], "web")).toBe(false);
  });
});

describe("image references", () => {
  it("normalises as Docker does", () => {
    expect(imageName("nginx")).toEqual({ full: "docker.io/library/nginx:latest", familiar: "nginx:latest" });
    expect(imageName("nginx:1.27")).toEqual({ full: "docker.io/library/nginx:1.27", familiar: "nginx:1.27" });
    expect(imageName("docker.io/library/nginx:1.27").full).toBe("docker.io/library/nginx:1.27");
    expect(imageName("team/app")).toEqual({ full: "docker.io/team/app:latest", familiar: "team/app:latest" });
    expect(imageName("registry.example.com:5000/team/app:2")).toEqual({
      full: "registry.example.com:5000/team/app:2",
      familiar: "registry.example.com:5000/team/app:2",
    });
    const digest = `sha256:${"a".repeat(64)}`;
    expect(imageName(`nginx@${digest}`).full).toBe(`docker.io/library/nginx@${digest}`);
  });
});

describe("container state", () => {
  const at = new Date("2025-01-01T00:00:00Z");
  it("maps power state and agent status onto Docker's states", () => {
    const cases: [string, string, number | undefined, string][] = [
      ["poweredOn", "running", undefined, "running 0"],
      ["poweredOn", "starting", undefined, "running 0"],
      ["poweredOn", "exited", 3, "exited 3"],
      ["poweredOn", "error", undefined, "exited 128"],
      ["poweredOff", "running", undefined, "exited 137"],
      ["poweredOff", "exited", 0, "exited 0"],
      ["suspended", "running", undefined, "paused 0"],
    ];
    for (const [power, status, exitCode, want] of cases) {
      const state = stateOfVm(
        power,
        { status, error: "", ...(exitCode !== undefined ? { exitCode } : {}) },
        at,
      );
      expect(`${state.status} ${state.exitCode}`).toBe(want);
    }
    expect(stateOfVm("poweredOn", { status: "error", error: "pull x: not found" }, at).error).toBe(
      "pull x: not found",
    );
  });

  it("words the STATUS column as docker ps does", () => {
    const now = new Date(at.getTime() + 5000);
    expect(statusText(stateOfVm("poweredOn", { status: "running", error: "" }, at), now)).toBe(
      "Up 5 seconds",
    );
    expect(statusText(stateOfVm("poweredOn", { status: "starting", error: "" }, at), now)).toBe(
      "Up 5 seconds (agent: starting)",
    );
    expect(statusText(stateOfVm("poweredOff", { status: "running", error: "" }, undefined), now)).toBe(
      "Exited (137)",
    );
    expect([500, 1000, 59_000, 90_000, 2 * 3_600_000, 3 * 86_400_000].map(humanDuration)).toEqual([
      "Less than a second",
      "1 second",
      "59 seconds",
      "About a minute",
      "2 hours",
      "3 days",
    ]);
  });
});

describe("create requests", () => {
  const query = (q: string) => new URLSearchParams(q);
  it("takes the image, command, environment, labels and networks", () => {
    const request = parseCreateRequest(
      {
        Image: "nginx:1.27",
        Cmd: ["nginx", "-g", "daemon off;"],
        Env: ["A=1", "B=x=y", "UNSET"],
        Labels: { app: "web" },
        HostConfig: { NetworkMode: "default", RestartPolicy: { Name: "no" } },
        NetworkingConfig: { EndpointsConfig: { default: {} } },
      },
      query("name=/web"),
    );
    expect(request).toEqual({
      name: "web",
      image: "nginx:1.27",
      command: ["nginx", "-g", "daemon off;"],
      env: { A: "1", B: "x=y" },
      labels: { app: "web" },
      networkNames: ["bridge"],
      autoRemove: false,
      warnings: [],
    });
    expect(
      parseCreateRequest({ Image: "nginx", HostConfig: { AutoRemove: true } }, query("")).autoRemove,
    ).toBe(true);
    expect(parseCreateRequest({ Image: "registry.example.com:5000/team/app:2" }, query("")).name).toMatch(
      /^app-[0-9a-f]{6}$/,
    );
  });

  it("refuses what a container VM cannot honour, naming the docker flag", () => {
    const refused = (config: Record<string, unknown>) => () =>
      parseCreateRequest({ Image: "nginx", ...config }, query(""));
    expect(refused({ HostConfig: { PortBindings: { "80/tcp": [{ HostPort: "8080" }] } } })).toThrow(
      "publishing ports (-p, -P) is not supported by Bonneville's Docker API",
    );
    expect(refused({ HostConfig: { Binds: ["/a:/b"] } })).toThrow("volumes and mounts (-v, --mount");
    expect(refused({ Entrypoint: ["sh"] })).toThrow("Entrypoint (--entrypoint) is not supported");
    expect(refused({ HostConfig: { Memory: 1024 } })).toThrow("resource limit Memory (--memory, --cpus, …)");
    expect(refused({ HostConfig: { RestartPolicy: { Name: "always" } } })).toThrow(
      "restart policy always (--restart)",
    );
    expect(refused({ HostConfig: { NetworkMode: "host" } })).toThrow("network mode host is not supported");
    expect(refused({ OpenStdin: true, AttachStdin: true })).toThrow(
      "interactive input (-i) is not supported by Bonneville's Docker API: a container VM's output leaves it through a read-only serial port file; there is no channel for input or a terminal; run without -i",
    );
    expect(refused({ Tty: true })).toThrow("a TTY (-t) is not supported by Bonneville's Docker API");
    expect(refused({ Env: "A=1" })).toThrow('Env must be a list of "NAME=value" strings');
  });
});

describe("identities", () => {
  it("gives endpoint-made containers a URN and derives the Docker ID from it", () => {
    const urn = dockerApiUrn("resgroup-48", "web");
    expect(urn).toBe("urn:bonneville:docker-api::resgroup-48::web");
    expect(isDockerApiUrn(urn)).toBe(true);
    expect(isDockerApiUrn("urn:pulumi:dev::app::bonneville:index:ContainerVM::web")).toBe(false);
    expect(containerIdOf(urn)).toMatch(/^[0-9a-f]{64}$/);
    expect(containerIdOf(urn)).toBe(containerIdOf(dockerApiUrn("resgroup-48", "web")));
    expect(containerIdOf(urn)).not.toBe(containerIdOf(dockerApiUrn("resgroup-49", "web")));
  });
});

describe("container output", () => {
  it("parses the console records the agent writes, skipping other lines and carrying a partial one", () => {
    const first = parseConsole(
      Buffer.from(
        "2026-01-02T03:04:05.5Z stdout hello world\nkernel noise\n2026-01-02T03:04:06Z stderr oops\n2026-01-02T03:04:07.123456789Z std",
      ),
      Buffer.alloc(0),
    );
    expect(first.records).toEqual([
      { nanos: 1767323045500000000n, stream: "stdout", text: "hello world" },
      { nanos: 1767323046000000000n, stream: "stderr", text: "oops" },
    ]);
    const second = parseConsole(Buffer.from("out done\n"), first.carry);
    expect(second.records).toEqual([{ nanos: 1767323047123456789n, stream: "stdout", text: "done" }]);
    expect(second.carry.length).toBe(0);
  });

  it("writes Docker's multiplexed frames, with RFC 3339 nanosecond timestamps on request", () => {
    const record = { nanos: 1767323045500000000n, stream: "stderr" as const, text: "oops" };
    const plain = frame(record, false);
    expect([...plain.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 5]);
    expect(plain.subarray(8).toString()).toBe("oops\n");
    expect(frame(record, true).subarray(8).toString()).toBe("2026-01-02T03:04:05.500000000Z oops\n");
    expect(frame({ ...record, stream: "stdout" }, false)[0]).toBe(1);
  });

  it("reads Docker's since and until as Unix seconds with an optional fraction", () => {
    expect(nanosOfUnixTime("1767323045.5", "since")).toBe(1767323045500000000n);
    expect(nanosOfUnixTime("1767323045", "until")).toBe(1767323045000000000n);
    expect(() => nanosOfUnixTime("yesterday", "since")).toThrow(
      'since="yesterday" is not a Unix time (seconds, optionally with a fraction)',
    );
  });
});

describe("the console serial port", () => {
  const port = (fileName: string, key = 9000) => ({
    $type: "VirtualSerialPort",
    key: String(key),
    backing: { $type: "VirtualSerialPortFileBackingInfo", fileName },
    controllerKey: "400",
    unitNumber: "1",
  });
  it("finds a VM's console port by its file and edits a fork's copy to the fork's own folder", () => {
    const devices = [
      { $type: "VirtualSIOController", key: "400" },
      port("[LocalDS_0] other/serial.log", 9001),
      port("[LocalDS_0] parent/bonneville-console.log"),
    ];
    const found = consolePortOf(devices)!;
    expect(found).toEqual({
      key: 9000,
      controllerKey: 400,
      unitNumber: 1,
      file: { datastore: "LocalDS_0", path: "parent/bonneville-console.log" },
    });
    expect(childConsoleChange(found, "web")).toEqual({
      $type: "VirtualDeviceConfigSpec",
      operation: "edit",
      device: {
        $type: "VirtualSerialPort",
        key: 9000,
        backing: {
          $type: "VirtualSerialPortFileBackingInfo",
          fileName: "[LocalDS_0] web/bonneville-console.log",
        },
        connectable: {
          $type: "VirtualDeviceConnectInfo",
          startConnected: true,
          allowGuestControl: false,
          connected: true,
        },
        controllerKey: 400,
        unitNumber: 1,
        yieldOnPoll: true,
      },
    });
    expect(consolePortOf([port("[LocalDS_0] other/serial.log")])).toBeUndefined();
  });
});
