/** Pieces of the Bonneville programs the tests deploy: the tokens, provider config for a simulator, networks. */
import type { SimEndpoint } from "../support/sim";
import { startPlugin } from "./plugin";
import { Stack, type InputValue, type ResolveContext, type ResourceDeclaration } from "./stack";
import { isUnknown, secret, type WireValue } from "./values";

export const HOST = "bonneville:index:ContainerHost";
export const PARENT = "bonneville:index:ParentTemplate";
export const VM = "bonneville:index:ContainerVM";

/** Provider configuration that reaches `sim` (the password secret, the certificate pinned). */
export function simConfig(sim: SimEndpoint): Record<string, WireValue> {
  return {
    vsphereServer: sim.url,
    user: sim.user,
    password: secret(sim.password),
    thumbprint: sim.thumbprint,
  };
}

/** A stack on `sim` whose commands each start the plugin executable. */
export function simStack(sim: SimEndpoint): Stack {
  return new Stack({ plugin: () => startPlugin(), config: simConfig(sim) });
}

/** The port group ID of one of the host's networks (unknown in a preview before the host exists). */
export function networkOf(host: ResourceDeclaration, network: string): InputValue {
  return ({ output: out }: ResolveContext) => {
    const networks = out(host, "networks");
    return isUnknown(networks) ? networks : (networks as Record<string, string>)[network]!;
  };
}
