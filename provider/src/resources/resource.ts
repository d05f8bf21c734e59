/**
 * The contract every Bonneville resource implements, and that the adapters
 * (the gRPC plugin in `server/`, the dynamic provider in `sdk/`) drive. Values
 * here are plain JSON-like data: the adapters unwrap secrets and map unknowns
 * to {@link UNKNOWN} before calling in, and re-wrap on the way out.
 */
import type { InventoryKind, VSphereClient } from "../vsphere";

/** Marks a value that is not known yet (a preview, before its dependency exists). */
export const UNKNOWN: unique symbol = Symbol.for("bonneville.unknown");
export type Unknown = typeof UNKNOWN;

export function isUnknown(value: unknown): value is Unknown {
  return value === UNKNOWN;
}

/** True when a value or anything inside it is unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Property values as they cross the adapter boundary. */
export type PropertyMap = Record<string, unknown>;

/** One property of a resource's schema, in Pulumi package-schema terms. */
export interface PropertySchema {
  readonly type: "string" | "integer" | "number" | "boolean" | "array" | "object";
  readonly description: string;
  /** Element type of an array. */
  readonly items?: PropertySchema;
  /** Value type of a map (an object with arbitrary string keys). */
  readonly additionalProperties?: PropertySchema;
  /** Allowed values of a string. */
  readonly enum?: readonly string[];
  /** The value the provider uses when the input is omitted. */
  readonly default?: unknown;
  /** Always a secret in state and outputs. */
  readonly secret?: boolean;
  /** A change replaces the resource. */
  readonly replaceOnChanges?: boolean;
  /**
   * The value names vSphere objects by inventory path, name or managed object ID (the string
   * itself, a list's items or a map's values): objects of `types`, a relative path starting at the
   * datacenter's `kind` folder. Not part of the package schema.
   */
  readonly reference?: { readonly types: readonly string[]; readonly kind: InventoryKind };
}

/** Inputs and outputs of a resource, with a description for each. */
export interface ResourceSchema {
  readonly description: string;
  readonly inputProperties: Readonly<Record<string, PropertySchema>>;
  readonly requiredInputs: readonly string[];
  /** Outputs that are not also inputs (computed by the provider). */
  readonly outputProperties: Readonly<Record<string, PropertySchema>>;
}

/** A rejected input: which property (a path such as `env.FOO` or `networks[1]`) and why. */
export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

export interface CheckResult {
  /** Inputs after defaults (e.g. auto-naming) were applied. */
  readonly inputs: PropertyMap;
  readonly failures: readonly CheckFailure[];
}

/** What a change to one property does. */
export type PropertyChangeKind =
  "add" | "update" | "delete" | "add-replace" | "update-replace" | "delete-replace";

export interface DiffResult {
  readonly changes: boolean;
  /** Top-level properties whose change replaces the resource. */
  readonly replaces: readonly string[];
  /** Per property path, what changed. */
  readonly detailedDiff: Readonly<Record<string, PropertyChangeKind>>;
  /** The replacement cannot exist beside the old resource (a fixed name), so delete it first. */
  readonly deleteBeforeReplace: boolean;
}

/** Information the engine gives about the resource being checked. */
export interface CheckInfo {
  /** The resource's logical name (from its URN), used for auto-naming. */
  readonly name: string;
  /** Bytes the engine provides so that auto-naming is stable across previews. */
  readonly randomSeed?: Uint8Array;
  /** The engine's autonaming options (the stack's `pulumi:autonaming` config), when it sent any. */
  readonly autonaming?: AutonamingOptions;
}

/**
 * How the engine asks for names to be made (pulumi/pulumi proto/pulumi/provider.proto,
 * CheckRequest.AutonamingOptions): `propose` — use the proposed name, made to fit the object's
 * naming rules; `enforce` — use exactly the proposed name or fail Check; `disable` — make no
 * name: a resource without one fails Check.
 */
export interface AutonamingOptions {
  readonly proposedName: string;
  readonly mode: "propose" | "enforce" | "disable";
}

/** What an operation needs beyond its inputs. */
export interface OperationContext {
  /** The shared vSphere connection of this provider process (logged in lazily). */
  client(): Promise<VSphereClient>;
  /** The resource's URN. */
  readonly urn: string;
  /** Aborted when the engine cancels or the operation's timeout passes. */
  readonly signal: AbortSignal;
  /** Reports progress of a long wait to the user (engine log, info level). */
  progress(message: string): void;
  /** Provider configuration (datacenter etc.) after CheckConfig. */
  readonly config: ProviderConfig;
}

/** The provider's configuration, after defaults from the environment. */
export interface ProviderConfig {
  readonly vsphereServer: string;
  readonly user: string;
  readonly password: string;
  readonly allowUnverifiedSsl: boolean;
  readonly thumbprint?: string;
  readonly datacenter?: string;
  /** Tasks in flight at once on the vCenter (admission control). */
  readonly maxTasksInFlight?: number;
  /** Tasks in flight at once on one ESXi host (admission control). */
  readonly maxTasksInFlightPerHost?: number;
}

/** What a create knows beyond its inputs. */
export interface CreateOptions {
  /**
   * The create makes the replacement of this object (its ID), which still exists and holds the
   * fixed name the replacement keeps: the engine creates before it deletes. See
   * {@link ResourceType.renamesReplacements}.
   */
  readonly replacing?: { readonly id: string };
}

export interface CreateResult {
  readonly id: string;
  readonly outputs: PropertyMap;
}

export interface ReadResult {
  readonly id: string;
  readonly outputs: PropertyMap;
  /** Inputs reconstructed from what vSphere has (used by import). */
  readonly inputs: PropertyMap;
  /**
   * Top-level properties (of inputs and outputs) to keep secret although the engine sent them
   * plain: values read back from vSphere whose secrecy is not known, such as an imported env.
   */
  readonly secretKeys?: readonly string[];
}

/** A Bonneville resource type: its token, its schema and its lifecycle. */
export interface ResourceType {
  readonly token: string;
  readonly schema: ResourceSchema;
  /** Validates and normalises inputs; never touches vSphere. */
  check(news: PropertyMap, olds: PropertyMap | undefined, info: CheckInfo): CheckResult;
  /** Compares old state with new (checked) inputs. */
  diff(id: string, olds: PropertyMap, news: PropertyMap): DiffResult;
  /** Outputs a preview shows for a create or update: known inputs plus UNKNOWN for computed values. */
  preview(news: PropertyMap, olds?: PropertyMap): PropertyMap;
  /**
   * Creates the object. When the object was made but not finished, throws
   * {@link ResourceInitError} with its ID and partial outputs.
   */
  create(ctx: OperationContext, inputs: PropertyMap, options?: CreateOptions): Promise<CreateResult>;
  /**
   * True when a create-before-delete replacement may keep a fixed name: the create
   * ({@link CreateOptions.replacing}) makes the object under a temporary vSphere name, reports the
   * fixed name, and the delete of the replaced object renames it. Otherwise such a replacement is
   * refused with a message that says to delete first.
   */
  readonly renamesReplacements?: boolean;
  /** Reads the object as vSphere has it now; `undefined` when it is gone. */
  read(ctx: OperationContext, id: string, state: PropertyMap | undefined): Promise<ReadResult | undefined>;
  /** Applies in-place changes; returns the new outputs. */
  update(ctx: OperationContext, id: string, olds: PropertyMap, news: PropertyMap): Promise<PropertyMap>;
  /** Deletes the object; an object that is already gone counts as deleted. */
  delete(ctx: OperationContext, id: string, state: PropertyMap): Promise<void>;
}
