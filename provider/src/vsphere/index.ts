/** Bonneville's typed vSphere (vim25) client. Knows nothing of Pulumi. */
export * from "./types";
export * from "./faults";
export { VSphereClient, type TaskOptions, type VSphereConnectionOptions } from "./client";
export {
  TaskAdmission,
  defaultAdmissionLimits,
  type AdmissionLimits,
  type AdmissionRelease,
} from "./admission";
export { NotVCenterError, requireVCenter, type ServerAbout } from "./vcenter-only";
export { sdkUrl } from "./sdk-url";
export { CallCounter } from "./soap/call-counter";
export { XsdValue, list, type DataObject } from "./soap/xml";
export {
  describeUnencodable,
  firstUnencodableCharacter,
  UnencodableCharacterError,
  type UnencodableCharacter,
} from "./soap/xml-characters";
export { normaliseThumbprint, presentedThumbprint } from "./soap/transport";
export type { ObjectContent, ViewQuery } from "./property-collector";
export {
  Finder,
  NotFoundError,
  DatacenterNotFoundError,
  objectKinds,
  looksLikeId,
  type InventoryKind,
  type DatacenterInfo,
} from "./objects/finder";
export { Datacenter } from "./objects/datacenter";
export { Folder, type FolderInfo } from "./objects/folder";
export { ResourcePool, type Allocation, type ResourcePoolInfo } from "./objects/resource-pool";
export { ClusterComputeResource, type ClusterInfo } from "./objects/cluster-compute-resource";
export { HostSystem, type HostInfo } from "./objects/host-system";
export { Datastore, type DatastoreInfo } from "./objects/datastore";
export {
  DistributedVirtualSwitch,
  type PortGroupSpec,
  type SwitchInfo,
} from "./objects/distributed-virtual-switch";
export { DistributedVirtualPortgroup, type PortGroupInfo } from "./objects/distributed-virtual-portgroup";
export { Network, networkTarget, nicBacking, type NetworkTarget } from "./objects/network";
export {
  VirtualMachine,
  nicsOf,
  extraConfigOf,
  optionValues,
  vmInfoOf,
  vmInfoPaths,
  type CloneLocation,
  type NicInfo,
  type PowerState,
  type VirtualMachineInfo,
} from "./objects/virtual-machine";
export {
  PropertyWaiter,
  PropertyWaitTimeoutError,
  WaitedObjectGoneError,
  type PropertyWaitOptions,
  type PropertyWaiterOptions,
} from "./property-waiter";
export { LookupCache } from "./lookup-cache";
export {
  DatastoreFileReader,
  parseDatastorePath,
  formatDatastorePath,
  folderUrl,
  type DatastorePath,
  type DatastoreFileChunk,
} from "./datastore-file";
