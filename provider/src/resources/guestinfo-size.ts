/**
 * Size checks of the container spec's guestinfo values: the guest agent reads each value with one
 * guest RPC, and one guest RPC message carries at most 64 KiB (open-vm-tools `guest_msg_def.h`,
 * GUESTMSG_MAX_IN_SIZE), so a larger value could never reach the container.
 */
import { contractKeys, encodeJson, GUEST_MESSAGE_MAX_BYTES, guestMessageBytes } from "./guest-contract";
import type { PropertyMap } from "./resource";

/** The inputs whose encoded guestinfo value is too large for one guest message, each with why. */
export function guestinfoSizeFailures(inputs: PropertyMap): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  const sized: readonly [string, string, (v: unknown) => boolean][] = [
    ["command", contractKeys.command, (v) => Array.isArray(v)],
    ["env", contractKeys.env, (v) => typeof v === "object" && v !== null && !Array.isArray(v)],
    ["labels", contractKeys.labels, (v) => typeof v === "object" && v !== null && !Array.isArray(v)],
  ];
  for (const [property, key, applies] of sized) {
    const value = inputs[property];
    if (value === undefined || !applies(value)) continue;
    const bytes = guestMessageBytes(key, encodeJson(value));
    if (bytes > GUEST_MESSAGE_MAX_BYTES) {
      failures.push({
        property,
        reason: `is too large for the guest: encoded as ${key} (base64 JSON) it needs a ${bytes}-byte guest RPC message, and one message carries at most ${GUEST_MESSAGE_MAX_BYTES} bytes (64 KiB); pass large data another way (an image, a mounted volume, a URL to fetch)`,
      });
    }
  }
  return failures;
}
