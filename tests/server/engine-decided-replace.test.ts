/**
 * Replacements the engine decides without asking Diff (`--replace`, replaceWith, deletedWith:
 * pulumi/pulumi pkg/resource/deploy/step_generator.go, diff) run create-before-delete. A
 * ContainerVM's replacement with the same URN and spec takes the old VM over (as it would a VM an
 * interrupted create left); the engine's delete of the "old" VM must then not destroy the VM the
 * new state names.
 */
import { sharedSim } from "../support/sim";
import { VM, output, resource, simStack } from "../harness";
import { base } from "../reliability/support";

jest.setTimeout(300_000);

describe("a replacement the engine decides alone", () => {
  it("never leaves the state naming a destroyed VM, and says the VM was kept; with deleteBeforeReplace it is made anew", async () => {
    const sim = sharedSim();
    const stack = simStack(sim);
    const { host, parent } = base("e16r");
    const fixed = (options = {}) =>
      resource(
        VM,
        "fixed",
        { name: "e16r-fixed", parentId: output(parent, "vmId"), image: "nginx:1.27" },
        options,
      );
    const auto = resource(VM, "auto", { parentId: output(parent, "vmId"), image: "nginx:1.27" });
    try {
      await stack.up([host, parent, auto, fixed()]);
      const before = { auto: stack.get("auto")!.id, fixed: stack.get("fixed")!.id };

      const replaced = await stack.up([host, parent, auto, fixed()], { replace: ["auto", "fixed"] });
      expect(
        replaced.steps.filter((s) => s.op === "replace").map((s) => `${s.name}:${s.replacedBecause}`),
      ).toEqual(["auto:replace", "fixed:replace"]);
      const vms = (await sim.inventory()).virtualMachines.map((v) => v.id);
      expect(vms).toEqual(expect.arrayContaining([stack.get("auto")!.id, stack.get("fixed")!.id]));
      expect(stack.pluginStderr.at(-1)).toContain(
        `${before.fixed} was not replaced: the replacement of ${stack.get("fixed")!.urn}, decided by the engine alone`,
      );

      await stack.up([host, parent, auto, fixed({ deleteBeforeReplace: true })], { replace: ["fixed"] });
      const after = stack.get("fixed")!.id;
      expect(after).not.toBe(before.fixed);
      const now = (await sim.inventory()).virtualMachines.map((v) => v.id);
      expect(now).toContain(after);
      expect(now).not.toContain(before.fixed);
    } finally {
      await stack.destroy();
    }
  });
});
