/**
 * Entry point of the plugin tarball's single-file bundle (scripts/package-plugin.sh): both
 * executables of the tarball, `pulumi-resource-bonneville` and `bonneville`, load this one file
 * and call their command. Each command's modules initialise only when it runs.
 */

/** The resource plugin (`pulumi-resource-bonneville`): serves until a signal arrives. */
export function plugin(args: readonly string[]): Promise<void> {
  return (require("./server/main") as typeof import("./server/main")).main(args);
}

/** The `bonneville` command; resolves with its exit code. */
export function cli(args: readonly string[]): Promise<number> {
  return (require("./cli/main") as typeof import("./cli/main")).main(args);
}
