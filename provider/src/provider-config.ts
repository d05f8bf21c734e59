/**
 * Bonneville's provider configuration: its schema (one description per key),
 * the environment variable each key defaults from, validation with property
 * paths, and the mapping onto {@link VSphereConnectionOptions}.
 */
import type { CheckFailure, PropertyMap, PropertySchema, ProviderConfig } from "./resources/resource";
import { UNKNOWN, containsUnknown } from "./resources/resource";
import type { VSphereConnectionOptions } from "./vsphere";
// The URL rules live in the client; this module stays light to keep plugin start-up fast.
import { sdkUrl } from "./vsphere/sdk-url";
import { describeUnencodable, firstUnencodableCharacter } from "./vsphere/soap/xml-characters";
import { defaultAdmissionLimits } from "./vsphere/admission";

/** Name of the Pulumi package; config keys are `bonneville:<key>`. */
export const PACKAGE_NAME = "bonneville";

/** The configuration keys, in schema order. */
export const providerConfigKeys = [
  "vsphereServer",
  "user",
  "password",
  "allowUnverifiedSsl",
  "thumbprint",
  "datacenter",
  "maxTasksInFlight",
  "maxTasksInFlightPerHost",
] as const;

/** One configuration key of the provider. */
export type ProviderConfigKey = (typeof providerConfigKeys)[number];

/**
 * The environment variable each setting defaults from when it is not configured: the one place these
 * names are written. The plugin (CheckConfig, Configure), the SDK's dynamic provider and
 * `bonneville docker-api` read them through {@link checkProviderConfig}; the descriptions, the
 * provider's schema description and the docs name them from here. schema.json declares them in words
 * only, never as `defaultInfo.environment` (see schema.ts), and values read from the environment are
 * never recorded as inputs. The admission limits have no variable.
 */
export const providerConfigEnvironment = {
  vsphereServer: "VSPHERE_SERVER",
  user: "VSPHERE_USER",
  password: "VSPHERE_PASSWORD",
  allowUnverifiedSsl: "VSPHERE_ALLOW_UNVERIFIED_SSL",
  thumbprint: "VSPHERE_THUMBPRINT",
  datacenter: "VSPHERE_DATACENTER",
} as const satisfies Partial<Record<ProviderConfigKey, string>>;

/** A configuration key that has an environment variable. */
export type EnvironmentConfigKey = keyof typeof providerConfigEnvironment;

/** The environment variable `key` defaults from, or undefined when it has none. */
export function configEnvironmentVariable(key: ProviderConfigKey): string | undefined {
  return (providerConfigEnvironment as Partial<Record<ProviderConfigKey, string>>)[key];
}

/** A description ending with the sentence that names the key's environment variable. */
function settableFromEnvironment(key: EnvironmentConfigKey, description: string): string {
  return `${description} Can also be set with the \`${providerConfigEnvironment[key]}\` environment variable.`;
}

/** Schema of every configuration key (descriptions, defaults, secrecy). */
export const providerConfigSchema: Readonly<Record<ProviderConfigKey, PropertySchema>> = {
  vsphereServer: {
    type: "string",
    description: settableFromEnvironment(
      "vsphereServer",
      "The vCenter server: a host name (`vcenter.example.com`), `host:port`, or an SDK URL " +
        "(`https://vcenter.example.com/sdk`). A bare host gets `https://` and `/sdk`. " +
        "Changing it replaces every resource of the provider.",
    ),
  },
  user: {
    type: "string",
    description: settableFromEnvironment(
      "user",
      "The user name for vCenter (e.g. `administrator@vsphere.local`). Changing it (with the password, " +
        "a credential rotation) replaces nothing.",
    ),
  },
  password: {
    type: "string",
    description: settableFromEnvironment("password", "The password for vCenter; always stored as a secret."),
    secret: true,
  },
  allowUnverifiedSsl: {
    type: "boolean",
    description: settableFromEnvironment(
      "allowUnverifiedSsl",
      "Accept any TLS certificate from vCenter (self-signed labs). Default `false`: certificates are verified.",
    ),
    default: false,
  },
  thumbprint: {
    type: "string",
    description: settableFromEnvironment(
      "thumbprint",
      "Accept exactly the vCenter certificate with this SHA-256 fingerprint: 32 hexadecimal bytes, " +
        "with or without colons (`AB:CD:…`). An alternative to `allowUnverifiedSsl` for self-signed certificates.",
    ),
  },
  datacenter: {
    type: "string",
    description: settableFromEnvironment(
      "datacenter",
      "The datacenter that relative inventory paths are resolved in. Optional when vCenter has exactly one " +
        "datacenter. Changing it replaces every resource of the provider.",
    ),
  },
  maxTasksInFlight: {
    type: "integer",
    description:
      "The most vSphere tasks (clones, power operations, destroys, reconfigurations) the provider has in " +
      "flight at once on its vCenter; more wait in the provider, in the order they were asked for, and " +
      "start as earlier ones end. Default `320`: half of the about 640 operations vCenter runs at once " +
      "before it queues, leaving the rest to other clients.",
    default: defaultAdmissionLimits.perVCenter,
  },
  maxTasksInFlightPerHost: {
    type: "integer",
    description:
      "The most vSphere tasks the provider has in flight at once on one ESXi host (container forks, whose " +
      "host is their parent's). Default `16`: twice the 8 provisioning operations a host runs at once, so " +
      "the next fork is already queued in vCenter when one ends.",
    default: defaultAdmissionLimits.perHost,
  },
};

/**
 * Config keys whose change replaces every resource of the provider: another vCenter, or another
 * datacenter (relative paths name other objects). Credentials (user, password) are not among them:
 * rotating them must not rebuild a fleet.
 */
export const replacingConfigKeys: readonly ProviderConfigKey[] = ["vsphereServer", "datacenter"];

/** Keys the engine adds to provider inputs on its own; they are not configuration. */
const engineInputKeys = new Set(["version", "pluginDownloadURL"]);

/** The outcome of {@link checkProviderConfig}. */
export interface ProviderConfigCheck {
  /** The configuration after environment defaults; undefined when there are failures or unknown values. */
  readonly config: ProviderConfig | undefined;
  /**
   * The inputs to record for the provider: the keys that were given, normalised (booleans parsed).
   * Environment defaults are applied to `config` but not recorded, so credentials from the environment
   * never reach the state and another machine's environment never replaces resources.
   */
  readonly inputs: PropertyMap;
  readonly failures: readonly CheckFailure[];
}

/**
 * Returns the plain config key for a key as the engine sends it: `vsphereServer`,
 * `bonneville:vsphereServer` or `bonneville:config:vsphereServer`.
 */
export function configKeyName(key: string): string {
  for (const prefix of [`${PACKAGE_NAME}:config:`, `${PACKAGE_NAME}:`]) {
    if (key.startsWith(prefix)) return key.slice(prefix.length);
  }
  return key;
}

/**
 * Turns the `variables` map of a Configure request (`bonneville:config:key` → string, JSON-encoded for
 * non-strings) into plain config inputs.
 */
export function configFromVariables(
  variables: ReadonlyMap<string, string> | Record<string, string>,
): PropertyMap {
  const entries = variables instanceof Map ? [...variables.entries()] : Object.entries(variables);
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of entries) inputs[configKeyName(key)] = value;
  return inputs;
}

/**
 * Validates provider configuration inputs (`news` as CheckConfig or Configure receives them, secrets
 * already unwrapped), applying environment defaults from `env`. Never throws for bad input: every problem
 * is a failure naming the property and the allowed form.
 */
export function checkProviderConfig(
  news: PropertyMap,
  env: NodeJS.ProcessEnv = process.env,
): ProviderConfigCheck {
  const failures: CheckFailure[] = [];
  const inputs: Record<string, unknown> = {};
  const given: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(news)) {
    const key = configKeyName(rawKey);
    if (engineInputKeys.has(key) || key.startsWith("__")) continue;
    if (value === undefined || value === null) continue;
    if (!(providerConfigKeys as readonly string[]).includes(key)) {
      failures.push({
        property: key,
        reason: `unknown configuration key "${key}"; allowed keys: ${providerConfigKeys.join(", ")}`,
      });
      continue;
    }
    given[key] = value;
  }

  const values: Record<string, unknown> = {};
  let unknown = false;
  for (const key of providerConfigKeys) {
    let value = given[key];
    let source = `"${key}"`;
    const fromConfig = value !== undefined;
    const variable = configEnvironmentVariable(key);
    if (value === undefined && variable !== undefined) {
      const envValue = env[variable];
      if (envValue !== undefined && envValue !== "") {
        value = envValue;
        source = `"${key}" (from the ${variable} environment variable)`;
      }
    }
    if (value === undefined) continue;
    if (containsUnknown(value)) {
      unknown = true;
      if (fromConfig) inputs[key] = UNKNOWN;
      continue;
    }
    const parsed = parseConfigValue(key, value, source, failures);
    if (parsed === undefined) continue;
    values[key] = parsed;
    if (fromConfig) inputs[key] = parsed;
  }

  for (const key of ["vsphereServer", "user", "password"] as const) {
    if (values[key] === undefined && given[key] === undefined) {
      failures.push({
        property: key,
        reason:
          `missing required configuration "${key}": set it with \`pulumi config set ${PACKAGE_NAME}:${key}` +
          `${key === "password" ? " --secret" : ""} <value>\` or the ${providerConfigEnvironment[key]} environment variable`,
      });
    }
  }

  if (failures.length > 0 || unknown) return { config: undefined, inputs, failures };
  const config: ProviderConfig = {
    vsphereServer: values.vsphereServer as string,
    user: values.user as string,
    password: values.password as string,
    allowUnverifiedSsl: (values.allowUnverifiedSsl as boolean | undefined) ?? false,
    ...(values.thumbprint !== undefined ? { thumbprint: values.thumbprint as string } : {}),
    ...(values.datacenter !== undefined ? { datacenter: values.datacenter as string } : {}),
    ...(values.maxTasksInFlight !== undefined ? { maxTasksInFlight: values.maxTasksInFlight as number } : {}),
    ...(values.maxTasksInFlightPerHost !== undefined
      ? { maxTasksInFlightPerHost: values.maxTasksInFlightPerHost as number }
      : {}),
  };
  return { config, inputs, failures };
}

function parseConfigValue(
  key: ProviderConfigKey,
  value: unknown,
  source: string,
  failures: CheckFailure[],
): unknown {
  const fail = (allowed: string): undefined => {
    failures.push({ property: key, reason: `${source} is ${describe(value, key)}; expected ${allowed}` });
    return undefined;
  };
  switch (key) {
    case "allowUnverifiedSsl": {
      if (typeof value === "boolean") return value;
      if (typeof value === "string") {
        const text = value.trim().toLowerCase();
        if (text === "true" || text === "1") return true;
        if (text === "false" || text === "0") return false;
      }
      return fail(`a boolean (true or false, or the strings "true"/"false")`);
    }
    case "vsphereServer": {
      if (typeof value !== "string" || vsphereSdkUrl(value) === undefined) {
        return fail(
          "a host name (vcenter.example.com), host:port (vcenter.example.com:8443) or an https URL (https://vcenter.example.com/sdk)",
        );
      }
      return value.trim();
    }
    case "thumbprint": {
      if (typeof value !== "string" || !isThumbprint(value)) {
        return fail(
          "a SHA-256 certificate fingerprint: 32 hexadecimal bytes, optionally separated by colons",
        );
      }
      return value.trim();
    }
    case "maxTasksInFlight":
    case "maxTasksInFlightPerHost": {
      const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 10000) {
        return fail("a whole number from 1 to 10000");
      }
      return n;
    }
    case "user":
    case "password":
    case "datacenter": {
      if (typeof value !== "string" || value.length === 0) return fail("a non-empty string");
      const found = firstUnencodableCharacter(value);
      if (found) {
        failures.push({ property: key, reason: `${source} ${describeUnencodable(found)}` });
        return undefined;
      }
      return value;
    }
  }
}

/** Describes a received value for a message, never revealing the password. */
function describe(value: unknown, key: ProviderConfigKey): string {
  if (key === "password") return `a ${typeof value}`;
  // A server written as https://user:password@host must not have its password echoed back.
  if (typeof value === "string") return JSON.stringify(value.replace(/\/\/[^/@\s]*@/, "//…@"));
  return `${JSON.stringify(value) ?? String(value)} (a ${Array.isArray(value) ? "list" : typeof value})`;
}

/** True for a SHA-256 fingerprint: 64 hex digits, or 32 colon-separated hex bytes. */
export function isThumbprint(value: string): boolean {
  const text = value.trim();
  return /^[0-9a-f]{64}$/i.test(text) || /^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i.test(text);
}

/**
 * The SDK URL for a `vsphereServer` value (`host` → `https://host/sdk`, `host:port` →
 * `https://host:port/sdk`, an http(s) URL without a path gets `/sdk`); undefined when it is none of these.
 */
export function vsphereSdkUrl(server: string): string | undefined {
  try {
    return sdkUrl(server).toString();
  } catch {
    return undefined;
  }
}

/** Connection options for {@link VSphereClient} from a checked configuration. */
export function toConnectionOptions(config: ProviderConfig): VSphereConnectionOptions {
  return {
    url: vsphereSdkUrl(config.vsphereServer) ?? config.vsphereServer,
    user: config.user,
    password: config.password,
    allowUnverifiedSsl: config.allowUnverifiedSsl,
    ...(config.thumbprint !== undefined ? { thumbprint: config.thumbprint } : {}),
    ...(config.maxTasksInFlight !== undefined || config.maxTasksInFlightPerHost !== undefined
      ? {
          admission: {
            ...(config.maxTasksInFlight !== undefined ? { perVCenter: config.maxTasksInFlight } : {}),
            ...(config.maxTasksInFlightPerHost !== undefined
              ? { perHost: config.maxTasksInFlightPerHost }
              : {}),
          },
        }
      : {}),
  };
}

/**
 * The config keys whose change replaces every resource: server (compared as SDK URLs), user and datacenter.
 * A key whose new value is unknown counts as changed.
 */
export function replacingConfigChanges(olds: PropertyMap, news: PropertyMap): string[] {
  const normal = (key: ProviderConfigKey, value: unknown): unknown =>
    key === "vsphereServer" && typeof value === "string" ? (vsphereSdkUrl(value) ?? value) : value;
  return replacingConfigKeys.filter((key) => {
    const before = olds[key];
    const after = news[key];
    if (containsUnknown(after)) return true;
    return normal(key, before) !== normal(key, after);
  });
}

/** Config keys that changed at all (for DiffConfig's detailed diff). */
export function changedConfigKeys(olds: PropertyMap, news: PropertyMap): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)].map(configKeyName));
  return [...keys]
    .filter((key) => !engineInputKeys.has(key) && !key.startsWith("__"))
    .filter((key) => containsUnknown(news[key]) || JSON.stringify(olds[key]) !== JSON.stringify(news[key]))
    .sort();
}
