/**
 * Faults about the server or the account, as the user reads them: the resource, the operation, and
 * what to change; never a bare fault type.
 */
import {
  explainServerFault,
  MissingPrivilegeError,
  UnsupportedServerError,
} from "../../provider/src/resources";
import { resourceOfUrn } from "../../provider/src/resources/server-faults";
import {
  describeFault,
  MoRef,
  NotVCenterError,
  SoapFaultError,
  TaskError,
  VimFault,
} from "../../provider/src/vsphere";

const urn = "urn:pulumi:dev::shop::bonneville:index:ContainerHost::pool";
const pool = new MoRef("ResourcePool", "resgroup-7");

describe("server faults", () => {
  it("names a resource by its type and name", () => {
    expect(resourceOfUrn(urn)).toBe('ContainerHost "pool"');
    expect(resourceOfUrn("urn:pulumi:dev::shop::my:component$bonneville:index:ContainerVM::web")).toBe(
      'ContainerVM "web"',
    );
  });

  it("turns NoPermission into the privilege, the object and the resource", () => {
    const fault = new VimFault(
      "NoPermission",
      "CreateResourcePool on resgroup-7: NoPermission: Permission to perform this operation was denied.",
      { object: pool, privilegeId: "Resource.CreatePool" },
      "CreateResourcePool",
      pool,
    );
    const explained = explainServerFault(fault, "create", urn);
    expect(explained).toBeInstanceOf(MissingPrivilegeError);
    expect(explained).toMatchObject({ privilegeId: "Resource.CreatePool", object: pool });
    expect((explained as Error).message).toBe(
      `create of ContainerHost "pool": the vCenter user lacks the privilege Resource.CreatePool on ResourcePool resgroup-7, which CreateResourcePool needs (NoPermission); add it to the user's role on that object or a parent of it (README, "vCenter privileges", lists what each resource needs)`,
    );
  });

  it("finds NoPermission inside a failed task too, and leaves NotAuthenticated alone", () => {
    const fault = new VimFault(
      "NoPermission",
      "x",
      { privilegeId: "DVPortgroup.Create" },
      "CreateDVPortgroup_Task",
    );
    const task = new TaskError(
      new MoRef("Task", "task-1"),
      "CreateDVPortgroup_Task",
      undefined,
      fault,
      "denied",
    );
    expect((explainServerFault(task, "create", urn) as Error).message).toContain(
      "lacks the privilege DVPortgroup.Create, which CreateDVPortgroup_Task needs",
    );
    const expired = new VimFault("NotAuthenticated", "x", {}, "RetrievePropertiesEx");
    expect(explainServerFault(expired, "read", urn)).toBe(expired);
  });

  it("says an ESXi host and a vCenter without InstantClone_Task are not enough", () => {
    const esx = new NotVCenterError("esx1.example.com", {
      apiType: "HostAgent",
      apiVersion: "8.0.2.0",
      fullName: "VMware ESXi 8.0.2 build-22380479",
    });
    const a = explainServerFault(esx, "create", urn);
    expect(a).toBeInstanceOf(UnsupportedServerError);
    expect((a as Error).message).toBe(
      'create of ContainerHost "pool": esx1.example.com is an ESXi host (VMware ESXi 8.0.2 build-22380479), not vCenter: Bonneville needs vCenter Server 6.7 or later, because Instant Clone is a vCenter operation. Set vsphereServer to the vCenter that manages this host',
    );
    const missing = new VimFault(
      "MethodNotFound",
      "x",
      { receiver: new MoRef("VirtualMachine", "vm-9"), method: "InstantClone_Task" },
      "InstantClone_Task",
    );
    expect((explainServerFault(missing, "create", urn) as Error).message).toContain(
      "Instant Clone needs vSphere 6.7 or later",
    );
    const plain = new SoapFaultError(
      "InstantClone_Task",
      "ServerFaultCode",
      "Unable to resolve WSDL method name InstantClone_Task",
    );
    expect(explainServerFault(plain, "create", urn)).toBeInstanceOf(UnsupportedServerError);
  });

  it("puts the privilege in a fault's own message, for faults reported inside other errors", () => {
    expect(
      describeFault("NoPermission", "Permission to perform this operation was denied.", {
        object: pool,
        privilegeId: "Resource.AssignVMToPool",
      }),
    ).toBe(
      "NoPermission: Permission to perform this operation was denied. (privilege Resource.AssignVMToPool, object resgroup-7)",
    );
  });
});
