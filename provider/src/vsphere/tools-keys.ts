/**
 * Extra-config keys VMware Tools publishes on its own and refreshes while it
 * runs: its version (`guestinfo.vmtools.*`) and the appInfo plugin's list of
 * applications (`guestinfo.appInfo`, with a counter and a time that change at
 * every publish). A watcher of `config.extraConfig` sees them change while
 * nothing it waits for did (REAL-VSPHERE.md, "Noise").
 */

/** True for a key that VMware Tools itself publishes. */
export function isToolsKey(key: string): boolean {
  return key === "guestinfo.appInfo" || key.startsWith("guestinfo.vmtools.");
}

/** An extra-config value (OptionValue[] as read) without Tools' own keys; other values unchanged. */
export function withoutToolsKeys(extraConfig: unknown): unknown {
  if (!Array.isArray(extraConfig)) return extraConfig;
  return extraConfig.filter((o) => {
    const key = (o as { key?: unknown } | null)?.key;
    return typeof key !== "string" || !isToolsKey(key);
  });
}
