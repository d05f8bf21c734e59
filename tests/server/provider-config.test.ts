import {
  checkProviderConfig,
  configEnvironmentVariable,
  configFromVariables,
  providerConfigKeys,
  providerConfigSchema,
  replacingConfigChanges,
  toConnectionOptions,
  vsphereSdkUrl,
  type EnvironmentConfigKey,
} from "../../provider/src/provider-config";
import { UNKNOWN } from "../../provider/src/resources";

const valid = { vsphereServer: "vc.example.com", user: "admin@vsphere.local", password: "pw-123456" };

describe("provider configuration", () => {
  it("accepts a host name, host:port and an SDK URL as vsphereServer", () => {
    expect(vsphereSdkUrl("vc.example.com")).toBe("https://vc.example.com/sdk");
    expect(vsphereSdkUrl("vc.example.com:8443")).toBe("https://vc.example.com:8443/sdk");
    expect(vsphereSdkUrl("https://vc.example.com/sdk")).toBe("https://vc.example.com/sdk");
    expect(vsphereSdkUrl("https://127.0.0.1:9443")).toBe("https://127.0.0.1:9443/sdk");
    expect(vsphereSdkUrl("ftp://vc")).toBeUndefined();
    expect(vsphereSdkUrl("vc example")).toBeUndefined();
  });

  it("reports a bad server naming the property, the value and the allowed forms", () => {
    const { failures, config } = checkProviderConfig({ ...valid, vsphereServer: "ftp://vc" }, {});
    expect(config).toBeUndefined();
    expect(failures).toEqual([
      {
        property: "vsphereServer",
        reason:
          '"vsphereServer" is "ftp://vc"; expected a host name (vcenter.example.com), host:port (vcenter.example.com:8443) or an https URL (https://vcenter.example.com/sdk)',
      },
    ]);
  });

  it("never echoes a password written into the server URL", () => {
    const { failures } = checkProviderConfig(
      { ...valid, vsphereServer: "https://admin:S3cret-pw@vc/sdk" },
      {},
    );
    expect(failures.map((f) => f.property)).toEqual(["vsphereServer"]);
    expect(failures[0]!.reason).toContain('"https://…@vc/sdk"');
    expect(JSON.stringify(failures)).not.toContain("S3cret-pw");
  });

  it("parses allowUnverifiedSsl from a boolean or the strings the engine sends", () => {
    expect(checkProviderConfig({ ...valid, allowUnverifiedSsl: true }, {}).config?.allowUnverifiedSsl).toBe(
      true,
    );
    expect(
      checkProviderConfig({ ...valid, allowUnverifiedSsl: "false" }, {}).config?.allowUnverifiedSsl,
    ).toBe(false);
    expect(checkProviderConfig({ ...valid, allowUnverifiedSsl: "yes" }, {}).failures).toEqual([
      {
        property: "allowUnverifiedSsl",
        reason:
          '"allowUnverifiedSsl" is "yes"; expected a boolean (true or false, or the strings "true"/"false")',
      },
    ]);
  });

  it("accepts a thumbprint of 32 hex bytes with or without colons, and rejects others", () => {
    const hex = "ab".repeat(32);
    const colons = Array(32).fill("AB").join(":");
    expect(checkProviderConfig({ ...valid, thumbprint: hex }, {}).failures).toEqual([]);
    expect(checkProviderConfig({ ...valid, thumbprint: colons }, {}).failures).toEqual([]);
    expect(checkProviderConfig({ ...valid, thumbprint: "AB:CD" }, {}).failures[0]).toEqual({
      property: "thumbprint",
      reason:
        '"thumbprint" is "AB:CD"; expected a SHA-256 certificate fingerprint: 32 hexadecimal bytes, optionally separated by colons',
    });
  });

  it("takes defaults from the environment without recording them as inputs", () => {
    const env = { VSPHERE_SERVER: "vc.env", VSPHERE_USER: "env-user", VSPHERE_PASSWORD: "env-password" };
    const check = checkProviderConfig({}, env);
    expect(check.failures).toEqual([]);
    expect(check.config).toEqual({
      vsphereServer: "vc.env",
      user: "env-user",
      password: "env-password",
      allowUnverifiedSsl: false,
    });
    expect(check.inputs).toEqual({});
  });

  it("gives the six connection settings one environment variable each, read and described, and the task bounds none", () => {
    expect(
      Object.fromEntries(providerConfigKeys.map((key) => [key, configEnvironmentVariable(key)])),
    ).toEqual({
      vsphereServer: "VSPHERE_SERVER",
      user: "VSPHERE_USER",
      password: "VSPHERE_PASSWORD",
      allowUnverifiedSsl: "VSPHERE_ALLOW_UNVERIFIED_SSL",
      thumbprint: "VSPHERE_THUMBPRINT",
      datacenter: "VSPHERE_DATACENTER",
      maxTasksInFlight: undefined,
      maxTasksInFlightPerHost: undefined,
    });
    const fromEnvironment: Readonly<Record<EnvironmentConfigKey, string>> = {
      vsphereServer: "vc.env",
      user: "env-user",
      password: "env-password",
      allowUnverifiedSsl: "true",
      thumbprint: "ab".repeat(32),
      datacenter: "DC7",
    };
    const env = Object.fromEntries(
      (Object.keys(fromEnvironment) as EnvironmentConfigKey[]).map((key) => [
        configEnvironmentVariable(key),
        fromEnvironment[key],
      ]),
    );
    expect(checkProviderConfig({}, env)).toEqual({
      config: { ...fromEnvironment, allowUnverifiedSsl: true },
      inputs: {},
      failures: [],
    });
    for (const key of providerConfigKeys) {
      const variable = configEnvironmentVariable(key);
      const { description } = providerConfigSchema[key];
      if (variable) {
        const sentence = ` Can also be set with the \`${variable}\` environment variable.`;
        expect(description.slice(-sentence.length)).toBe(sentence);
      } else {
        expect(description).not.toMatch(/environment|VSPHERE_/);
      }
    }
  });

  it("reads VSPHERE_THUMBPRINT and VSPHERE_DATACENTER as `bonneville docker-api` does", () => {
    const thumbprint = Array(32).fill("AB").join(":");
    const env = {
      VSPHERE_SERVER: "vc.env",
      VSPHERE_USER: "env-user",
      VSPHERE_PASSWORD: "env-password",
      VSPHERE_THUMBPRINT: thumbprint,
      VSPHERE_DATACENTER: "DC7",
    };
    const check = checkProviderConfig({}, env);
    expect(check.failures).toEqual([]);
    expect(check.config).toMatchObject({ thumbprint, datacenter: "DC7" });
    expect(check.inputs).toEqual({});
    // Given config wins over the environment.
    expect(checkProviderConfig({ datacenter: "DC0" }, env).config).toMatchObject({ datacenter: "DC0" });
    expect(checkProviderConfig({}, { ...env, VSPHERE_THUMBPRINT: "zz" }).failures[0]).toMatchObject({
      property: "thumbprint",
    });
  });

  it("names each missing required key with how to set it", () => {
    const { failures } = checkProviderConfig({}, {});
    expect(failures.map((f) => f.property)).toEqual(["vsphereServer", "user", "password"]);
    expect(failures[2]!.reason).toBe(
      'missing required configuration "password": set it with `pulumi config set bonneville:password --secret <value>` or the VSPHERE_PASSWORD environment variable',
    );
  });

  it("names a bad environment value's variable", () => {
    const { failures } = checkProviderConfig(valid, { VSPHERE_ALLOW_UNVERIFIED_SSL: "maybe" });
    expect(failures).toEqual([
      {
        property: "allowUnverifiedSsl",
        reason:
          '"allowUnverifiedSsl" (from the VSPHERE_ALLOW_UNVERIFIED_SSL environment variable) is "maybe"; expected a boolean (true or false, or the strings "true"/"false")',
      },
    ]);
  });

  it("never echoes the password in a failure", () => {
    const { failures } = checkProviderConfig({ ...valid, password: 12345678 }, {});
    expect(failures).toEqual([
      { property: "password", reason: '"password" is a number; expected a non-empty string' },
    ]);
  });

  it("rejects unknown keys but ignores the engine's own (version)", () => {
    const { failures } = checkProviderConfig({ ...valid, version: "0.1.0", vsphereserver: "x" }, {});
    expect(failures).toEqual([
      {
        property: "vsphereserver",
        reason:
          'unknown configuration key "vsphereserver"; allowed keys: vsphereServer, user, password, allowUnverifiedSsl, thumbprint, datacenter, maxTasksInFlight, maxTasksInFlightPerHost',
      },
    ]);
  });

  it("reads Configure variables (bonneville:config:key)", () => {
    const inputs = configFromVariables(new Map([["bonneville:config:allowUnverifiedSsl", "true"]]));
    expect(inputs).toEqual({ allowUnverifiedSsl: "true" });
  });

  it("leaves config undefined, without failures, while a value is unknown (preview)", () => {
    const check = checkProviderConfig({ ...valid, vsphereServer: UNKNOWN }, {});
    expect(check).toEqual({ config: undefined, inputs: { ...valid, vsphereServer: UNKNOWN }, failures: [] });
  });

  it("replaces resources when the server (as an SDK URL) or datacenter changes, not the credentials", () => {
    expect(replacingConfigChanges(valid, { ...valid, vsphereServer: "https://vc.example.com/sdk" })).toEqual(
      [],
    );
    expect(replacingConfigChanges(valid, { ...valid, vsphereServer: "vc2" })).toEqual(["vsphereServer"]);
    expect(replacingConfigChanges(valid, { ...valid, password: "other" })).toEqual([]);
    expect(replacingConfigChanges(valid, { ...valid, user: "svc-rotated@vsphere.local" })).toEqual([]);
    expect(replacingConfigChanges(valid, { ...valid, datacenter: "dc2" })).toEqual(["datacenter"]);
  });

  it("maps to VSphereClient connection options", () => {
    expect(toConnectionOptions({ ...valid, allowUnverifiedSsl: false, thumbprint: "ab".repeat(32) })).toEqual(
      {
        url: "https://vc.example.com/sdk",
        user: "admin@vsphere.local",
        password: "pw-123456",
        allowUnverifiedSsl: false,
        thumbprint: "ab".repeat(32),
      },
    );
  });

  it("reads the task bounds as whole numbers (Configure sends them as strings) and maps them to admission limits", () => {
    const check = checkProviderConfig({ ...valid, maxTasksInFlight: "64", maxTasksInFlightPerHost: 4 }, {});
    expect(check.failures).toEqual([]);
    expect(check.config).toMatchObject({ maxTasksInFlight: 64, maxTasksInFlightPerHost: 4 });
    expect(toConnectionOptions(check.config!).admission).toEqual({ perVCenter: 64, perHost: 4 });
  });

  it("rejects a task bound that is not a whole number from 1 to 10000, naming the key", () => {
    const { failures } = checkProviderConfig(
      { ...valid, maxTasksInFlight: "0", maxTasksInFlightPerHost: 2.5 },
      {},
    );
    expect(failures).toEqual([
      {
        property: "maxTasksInFlight",
        reason: '"maxTasksInFlight" is "0"; expected a whole number from 1 to 10000',
      },
      {
        property: "maxTasksInFlightPerHost",
        reason: '"maxTasksInFlightPerHost" is 2.5 (a number); expected a whole number from 1 to 10000',
      },
    ]);
  });
});
