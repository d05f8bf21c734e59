/**
 * Managed-object IDs of every form vCenter and govmomi's simulators write are IDs, never inventory
 * paths or names; names that merely contain a dash stay names.
 */
import { looksLikeId, objectKinds, typeOfId } from "../../provider/src/vsphere";
import { sharedSim } from "../support/sim";

describe("managed object IDs", () => {
  it.each([
    // vCenter's folders: root, VMs, hosts, networks, datastores; datastore clusters.
    ["group-d1", "Folder"],
    ["group-v12", "Folder"],
    ["group-h4", "Folder"],
    ["group-n5", "Folder"],
    ["group-s6", "Folder"],
    ["group-p7", "StoragePod"],
    // upstream vcsim's folders, and this simulator's.
    ["group-54", "Folder"],
    ["folder-3", "Folder"],
    ["domain-c7", "ClusterComputeResource"],
    ["clustercomputeresource-9", "ClusterComputeResource"],
    ["domain-s9", "ComputeResource"],
    ["resgroup-7", "ResourcePool"],
    ["resgroup-v10", "VirtualApp"],
    ["datastore-1", "Datastore"],
    ["dvs-21", "VmwareDistributedVirtualSwitch"],
    ["dvportgroup-44", "DistributedVirtualPortgroup"],
    ["host-12", "HostSystem"],
    ["vm-123", "VirtualMachine"],
    ["network-15", "Network"],
    ["datacenter-2", "Datacenter"],
  ])("takes %s for the ID of a %s", (id, type) => {
    expect(typeOfId(id)).toBe(type);
    expect(looksLikeId(id)).toBe(true);
  });

  it.each(["DC0_C0", "web-1", "group-x", "team/parents", "/DC0/vm/group-v3", "vm-", "my-vm-7", "Group-v3"])(
    "takes %s for a path or a name",
    (input) => {
      expect(looksLikeId(input)).toBe(false);
    },
  );

  it("takes Type:value for an ID of that type", () => {
    expect(looksLikeId("Folder:group-54")).toBe(true);
  });
});

describe("resolving IDs", () => {
  it("looks an ID up as an ID, the form the server writes included, never as a path", () =>
    sharedSim().operator(async (client) => {
      const root = (await client.find.datacenter()).vmFolder;
      // This simulator writes folder IDs as folder-N; an ID resolves to itself.
      expect(await client.find.resolve(root.value, objectKinds.folder, "vm")).toEqual(root);
      // Forms this server does not write are still IDs: the failure names an ID, not a path.
      for (const id of ["group-54", "group-v999", "group-h4"]) {
        await expect(client.find.resolve(id, objectKinds.folder, "vm")).rejects.toThrow(
          `no Folder with ID "${id}" exists`,
        );
      }
    }));
});
