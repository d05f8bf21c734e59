/** The resource types this provider serves. */
import type { ResourceType } from "./resource";
import { containerHost } from "./container-host";
import { parentTemplate } from "./parent-template";
import { containerVm } from "./container-vm";

export * from "./resource";
export * from "./errors";

/** Every resource type, in schema order. */
export const resourceTypes: readonly ResourceType[] = [containerHost, parentTemplate, containerVm];
export { containerHost, CONTAINER_HOST_TOKEN } from "./container-host";
export { parentTemplate, PARENT_TEMPLATE_TOKEN } from "./parent-template";
export { containerVm, CONTAINER_VM_TOKEN } from "./container-vm";
export { withoutSameObjectReplacements } from "./common";
export { explainServerFault, MissingPrivilegeError, UnsupportedServerError } from "./server-faults";
