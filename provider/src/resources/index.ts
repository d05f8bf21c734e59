/** The resource types this provider serves. */
import type { ResourceType } from "./resource";

export * from "./resource";
export * from "./errors";

/** Every resource type, in schema order. */
export const resourceTypes: readonly ResourceType[] = [];
