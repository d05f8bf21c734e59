/**
 * Secrets and TLS. The vCenter password and secret env values never appear in anything the
 * plugin writes or returns that is not itself a secret: its stderr, the engine log messages,
 * error messages and non-secret outputs, over a whole lifecycle with failures in it (a fault on
 * InstantClone_Task, a container that fails to start, a wrong password, an import). TLS: the
 * simulator's self-signed certificate is used only with `allowUnverifiedSsl` or its thumbprint.
 */
import { encodeJson } from "../../provider/src/resources/guest-contract";
import { isSecret, secret, type ResourceDeclaration } from "../harness";
import { base, container, failureOf, Lab, plainStrings, VM } from "./support";

const PASSWORD = "vc-S3cret-pw-8e41d2";
const TOKEN = "tok-live-5f0c93ab71";
const DB_PASSWORD = "db-pw-27d9e0c4";

let lab: Lab;

beforeAll(async () => {
  lab = await Lab.start({ BONNEVILLE_SIM_PASSWORD: PASSWORD });
});

afterAll(async () => {
  await lab?.stop();
});

describe("secrets", () => {
  it("never appear in plugin stderr, engine log messages, errors or non-secret outputs over a full lifecycle", async () => {
    const errors: string[] = [];
    const recordFailure = async (body: () => Promise<unknown>) =>
      errors.push((await failureOf(body)).message);
    const stack = lab.stack();
    const { host, parent } = base("sec");
    const env = { MODE: "prod", API_TOKEN: secret(TOKEN), DB_PASSWORD: secret(DB_PASSWORD) };
    const vm = (name: string, inputs: Record<string, unknown> = {}): ResourceDeclaration =>
      container(name, parent, { env, labels: { app: "secrets" }, ...inputs });
    const program = (extra: ResourceDeclaration[] = []) => [host, parent, vm("api"), vm("worker"), ...extra];

    const preview = await stack.preview(program());
    await stack.up(program());
    // An update in place, a replacement and back, and a refresh.
    await stack.up([host, parent, vm("api", { labels: { app: "secrets", v: "2" } }), vm("worker")]);
    await stack.up([host, parent, vm("api", { image: "nginx:1.28" }), vm("worker")]);
    await stack.up(program());
    await stack.refresh();

    // Failures: a fault on the fork, a container that fails to start, a wrong password.
    await lab.sim.addFault({ method: "InstantClone_Task", fault: "InsufficientResourcesFault", count: 1 });
    await recordFailure(() => stack.up(program([vm("extra")])));
    await lab.sim.clearFaults();
    await recordFailure(() =>
      stack.up(
        program([vm("broken", { image: "bonneville-sim/fail:1", waitForIp: true, waitTimeoutSeconds: 30 })]),
      ),
    );
    const wrong = lab.stack(lab.config({ password: secret(`${PASSWORD}-wrong`) }));
    await recordFailure(() => wrong.up(program()));

    // Import a container whose env holds the secrets, from its ID alone.
    const imported = lab.stack();
    await imported.import(VM, "api-imported", stack.get("api")!.id);

    await stack.up(program());
    await stack.destroy();

    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain("InsufficientResourcesFault");
    expect(errors[1]).toContain("failed to start");
    expect(errors[2]).toContain("the user name or password is wrong");

    const secrets = [PASSWORD, `${PASSWORD}-wrong`, TOKEN, DB_PASSWORD];
    // The guest contract carries env as base64 JSON: that form must not leak either.
    const encoded = encodeJson({ MODE: "prod", API_TOKEN: TOKEN, DB_PASSWORD });
    const places: Record<string, string[]> = {
      "plugin stderr": [...stack.pluginStderr, ...wrong.pluginStderr, ...imported.pluginStderr],
      "engine log messages": lab.engine.messages.map((m) => m.message),
      "error messages": errors,
      "non-secret outputs and inputs": [
        ...plainStrings(preview.outputs("api")),
        ...[...imported.state.values(), ...stack.state.values()].flatMap((e) => [
          ...plainStrings(e.outputs),
          ...plainStrings(e.inputs),
        ]),
      ],
    };
    expect(lab.engine.messages.length).toBeGreaterThan(0);
    for (const [place, texts] of Object.entries(places)) {
      for (const value of [...secrets, encoded]) {
        const leaks = texts.filter((t) => t.includes(value));
        expect({ place, value, leaks }).toEqual({ place, value, leaks: [] });
      }
    }
    // The imported container's env is known (read back from vSphere) but kept secret.
    expect(imported.outputs("api-imported").env).toEqual({ MODE: "prod", API_TOKEN: TOKEN, DB_PASSWORD });
    expect(isSecret(imported.get("api-imported")!.outputs.env)).toBe(true);
    expect(isSecret(imported.get("api-imported")!.inputs.env)).toBe(true);
  });
});

describe("TLS", () => {
  const host = () => base("tls").host;

  it("accepts the self-signed certificate with allowUnverifiedSsl", async () => {
    const config = lab.config({ allowUnverifiedSsl: true });
    delete config.thumbprint;
    const stack = lab.stack(config);
    await stack.up([host()]);
    expect(stack.get("tls-host")!.id).toMatch(/^resgroup-/);
    await stack.destroy();
  });

  it("accepts it with its thumbprint, in any case and with or without colons", async () => {
    const bare = lab.sim.thumbprint.replace(/:/g, "").toLowerCase();
    const stack = lab.stack(lab.config({ thumbprint: bare }));
    await stack.up([host()]);
    await stack.destroy();
  });

  it("refuses it with neither, naming its thumbprint so it can be pinned", async () => {
    const config = lab.config();
    delete config.thumbprint;
    const error = await failureOf(() => lab.stack(config).up([host()]));
    expect(error.message).toContain(
      `is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); its SHA-256 thumbprint is ${lab.sim.thumbprint}`,
    );
  });

  it("refuses a wrong thumbprint even with allowUnverifiedSsl", async () => {
    const wrong = "AB:".repeat(31) + "AB";
    const error = await failureOf(() =>
      lab.stack(lab.config({ thumbprint: wrong, allowUnverifiedSsl: true })).up([host()]),
    );
    expect(error.message).toContain(
      `the server's certificate (SHA-256 ${lab.sim.thumbprint}) does not match the pinned thumbprint ${wrong}`,
    );
    expect((await lab.sim.inventory()).resourcePools.some((p) => p.name === "tls-pool")).toBe(false);
  });
});
