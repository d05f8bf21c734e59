/**
 * What the three dynamic resource classes share: their type tokens, the provider object of each type
 * (one per process, so Pulumi serializes each once), and the property bag they register.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./connection";
import { BonnevilleDynamicProvider } from "./provider";

/** The module of the dynamic resources' types: `pulumi-nodejs:dynamic/bonneville:<Kind>`. */
export const DYNAMIC_MODULE = "bonneville";

/** The three resource kinds, named as in the package schema. */
export type ResourceKind = "ContainerHost" | "ParentTemplate" | "ContainerVM";

/** The Pulumi type of a dynamic resource, e.g. `pulumi-nodejs:dynamic/bonneville:ContainerVM`. */
export function dynamicResourceType(kind: ResourceKind): string {
  return `pulumi-nodejs:dynamic/${DYNAMIC_MODULE}:${kind}`;
}

/** The Bonneville token a kind's provider serves, e.g. `bonneville:index:ContainerVM`. */
export function resourceToken(kind: ResourceKind): string {
  return `bonneville:index:${kind}`;
}

const providers = new Map<ResourceKind, BonnevilleDynamicProvider>();

/**
 * The dynamic provider object of a resource kind: always the same object, which Pulumi serializes once per
 * program (`pulumi.runtime.serializeFunction(() => provider)`) into each resource's `__provider` input.
 */
export function dynamicProvider(kind: ResourceKind): BonnevilleDynamicProvider {
  let provider = providers.get(kind);
  if (!provider) {
    provider = new BonnevilleDynamicProvider(resourceToken(kind));
    providers.set(kind, provider);
  }
  return provider;
}

/** Arguments every dynamic resource accepts besides its own. */
export interface DynamicResourceArgs {
  /** How to reach vCenter. Default: the stack configuration `bonneville:*`, then the `VSPHERE_*` environment. */
  readonly connection?: pulumi.Input<ConnectionArgs>;
}

/**
 * The property bag a dynamic resource registers: every property of the resource (those not given as
 * `undefined`, so that each becomes an output of the object), the arguments, `connection` as a secret and
 * `__urn` (the dynamic provider receives no URN, and the resources need it to tag what they create).
 */
export function dynamicResourceProps(
  kind: ResourceKind,
  name: string,
  args: DynamicResourceArgs & object,
  properties: readonly string[],
  opts: pulumi.CustomResourceOptions | undefined,
): { props: pulumi.Inputs; opts: pulumi.CustomResourceOptions } {
  const props: Record<string, unknown> = {};
  for (const property of properties) props[property] = undefined;
  for (const [key, value] of Object.entries(args)) {
    if (key !== "connection") props[key] = value;
  }
  props.connection = args.connection === undefined ? undefined : pulumi.secret(args.connection);
  props.__urn = pulumi.createUrn(name, dynamicResourceType(kind), opts?.parent);
  return {
    props,
    opts: { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
  };
}
