/**
 * Managed-object IDs of every form vCenter and govmomi's simulators write are IDs, never inventory
 * paths or names; names that merely contain a dash stay names.
 */
import { looksLikeId, typeOfId } from "../../provider/src/vsphere";

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
