/**
 * Command-line flags: `--name value`, `--name=value` and boolean `--name`, each
 * flag declared with its description and, where it has one, the environment
 * variable it defaults from. Errors name the flag and what it takes.
 */
import { BonnevilleError } from "../resources/errors";

/** One flag of a command. */
export interface FlagSpec {
  /** The name without dashes (`host-id`). */
  readonly name: string;
  /** The placeholder of its value (`ID`); absent for a boolean flag. */
  readonly value?: string;
  readonly description: string;
  /** May be given more than once. */
  readonly repeatable?: boolean;
  /** The environment variable it defaults from. */
  readonly env?: string;
}

/** Bad command-line usage: an unknown flag, a missing value. */
export class UsageError extends BonnevilleError {}

/** The flags given, by name (repeatable flags keep every value, in order). */
export class ParsedFlags {
  constructor(
    private readonly values: ReadonlyMap<string, readonly string[]>,
    private readonly specs: readonly FlagSpec[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** The flag's last value, else its environment variable's (when set and not empty). */
  get(name: string): string | undefined {
    const given = this.values.get(name);
    if (given && given.length > 0) return given[given.length - 1];
    const variable = this.specs.find((s) => s.name === name)?.env;
    const fromEnv = variable ? this.env[variable] : undefined;
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
  }

  /** Every value of a repeatable flag. */
  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }

  /** True when a boolean flag was given. */
  has(name: string): boolean {
    return this.values.has(name);
  }
}

/** Parses `args` against `specs`; throws {@link UsageError} for anything else. */
export function parseFlags(
  args: readonly string[],
  specs: readonly FlagSpec[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedFlags {
  const values = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      throw new UsageError(
        `unexpected argument ${JSON.stringify(arg)}: this command takes flags only (see --help)`,
      );
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const spec = specs.find((s) => s.name === name);
    if (!spec) {
      throw new UsageError(
        `unknown flag --${name}; known flags: ${specs.map((s) => `--${s.name}`).join(", ")}`,
      );
    }
    let value: string;
    if (spec.value === undefined) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      value = "true";
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new UsageError(`--${name} needs a value: --${name} ${spec.value}`);
      }
      value = next;
      i++;
    }
    const list = values.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable) throw new UsageError(`--${name} was given more than once`);
    list.push(value);
    values.set(name, list);
  }
  return new ParsedFlags(values, specs, env);
}

/** The help text of a command's flags, one per line. */
export function describeFlags(specs: readonly FlagSpec[]): string {
  const heads = specs.map((s) => `--${s.name}${s.value ? ` ${s.value}` : ""}`);
  const width = Math.max(...heads.map((h) => h.length));
  return specs
    .map((s, i) => {
      const env = s.env ? ` (env ${s.env})` : "";
      const repeat = s.repeatable ? " Repeatable." : "";
      return `  ${heads[i]!.padEnd(width)}  ${s.description}${repeat}${env}`;
    })
    .join("\n");
}
