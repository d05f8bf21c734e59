/**
 * The Docker Engine API endpoints Bonneville's endpoint does not serve, each with
 * the feature it belongs to and why: a container here is a whole VM forked from
 * a parent, its image is pulled and run by the guest agent, and its networks are
 * the ContainerHost's port groups, declared with Pulumi.
 */

interface UnsupportedEndpoint {
  /** Methods this entry covers; empty: every method. */
  readonly methods: readonly string[];
  readonly pattern: RegExp;
  readonly feature: string;
  readonly reason: string;
}

const GUEST =
  "the container runs inside its own VM and the guest contract carries no channel for it (use the VM's console or your own tooling in the guest)";
const FIXED_VM = "a container VM's configuration is fixed at its fork; remove it and run a new one";

const table: readonly UnsupportedEndpoint[] = [
  {
    methods: [],
    pattern: /^\/containers\/[^/]+\/attach\/ws$/,
    feature: "attach over websocket",
    reason: "attach with the docker CLI (an upgraded HTTP connection) instead",
  },
  { methods: [], pattern: /^\/containers\/[^/]+\/exec$/, feature: "exec", reason: GUEST },
  { methods: [], pattern: /^\/exec\//, feature: "exec", reason: GUEST },
  { methods: [], pattern: /^\/containers\/[^/]+\/top$/, feature: "top", reason: GUEST },
  { methods: [], pattern: /^\/containers\/[^/]+\/stats$/, feature: "stats", reason: GUEST },
  { methods: [], pattern: /^\/containers\/[^/]+\/changes$/, feature: "diff (changes)", reason: GUEST },
  {
    methods: [],
    pattern: /^\/containers\/[^/]+\/(export|archive)$/,
    feature: "copying files (cp, export)",
    reason: GUEST,
  },
  {
    methods: [],
    pattern: /^\/containers\/[^/]+\/(pause|unpause)$/,
    feature: "pause and unpause",
    reason: "suspending a container VM is not offered; stop it instead",
  },
  { methods: [], pattern: /^\/containers\/[^/]+\/update$/, feature: "update", reason: FIXED_VM },
  {
    methods: [],
    pattern: /^\/containers\/[^/]+\/rename$/,
    feature: "rename",
    reason: "a container's name is part of its identity (its URN); remove it and run a new one",
  },
  { methods: [], pattern: /^\/containers\/[^/]+\/resize$/, feature: "resize (TTY)", reason: GUEST },
  {
    methods: [],
    pattern: /^\/containers\/prune$/,
    feature: "container prune",
    reason: "remove containers one by one with docker rm",
  },
  {
    methods: [],
    pattern: /^\/commit$/,
    feature: "commit",
    reason: "images are pulled by the guest agent; a container VM cannot be turned into an image",
  },
  {
    methods: [],
    pattern: /^\/build(\/|$)/,
    feature: "build",
    reason: "build images elsewhere and push them to a registry the guests can pull from",
  },
  {
    methods: [],
    pattern: /^\/session$/,
    feature: "build sessions",
    reason: "build images elsewhere and push them to a registry the guests can pull from",
  },
  {
    methods: [],
    pattern: /^\/volumes(\/|$)/,
    feature: "volumes",
    reason: "container VMs have only the disk they forked from their parent",
  },
  {
    methods: [],
    pattern: /^\/(swarm|services|nodes|tasks|secrets|configs)(\/|$)/,
    feature: "swarm",
    reason: "vSphere (DRS, one parent per ESXi host) places container VMs; there is no swarm",
  },
  {
    methods: [],
    pattern: /^\/plugins(\/|$)/,
    feature: "plugins",
    reason: "the endpoint has no plugin system",
  },
  {
    methods: [],
    pattern: /^\/events$/,
    feature: "events",
    reason: "watch the VMs' tasks and events in vCenter",
  },
  {
    methods: [],
    pattern: /^\/system\/df$/,
    feature: "system df",
    reason: "disk usage is vSphere's datastore usage; see vCenter",
  },
  {
    methods: [],
    pattern: /^\/auth$/,
    feature: "login",
    reason: "the endpoint never stores registry credentials; configure them in the parent template's guest",
  },
  {
    methods: [],
    pattern: /^\/distribution\//,
    feature: "distribution inspect",
    reason: "the endpoint does not contact registries; the guest pulls images",
  },
  {
    methods: [],
    pattern: /^\/images\/(search|get|load|prune)$/,
    feature: "image search, save, load and prune",
    reason: "images are pulled by the guest agent of each container VM, never stored by the endpoint",
  },
  {
    methods: [],
    pattern: /^\/images\/.+\/(push|tag|history|get)$/,
    feature: "image push, tag, history and save",
    reason: "images are pulled by the guest agent of each container VM, never stored by the endpoint",
  },
  {
    methods: [],
    pattern: /^\/networks\/(create|prune)$/,
    feature: "creating networks",
    reason:
      "networks are the ContainerHost's port groups: declare them in its Pulumi program (containerNetworks)",
  },
  {
    methods: [],
    pattern: /^\/networks\/[^/]+\/(connect|disconnect)$/,
    feature: "connecting networks",
    reason: "a container VM's network cards are wired at its fork; run a new container on the other network",
  },
  {
    methods: ["DELETE"],
    pattern: /^\/networks\/[^/]+$/,
    feature: "removing networks",
    reason: "networks are the ContainerHost's port groups: remove them from its Pulumi program",
  },
  { methods: [], pattern: /^\/grpc$/, feature: "gRPC (BuildKit)", reason: "build images elsewhere" },
];

/** The unsupported feature a request belongs to, if it is one of Docker's endpoints this one does not serve. */
export function unsupportedEndpoint(
  method: string,
  path: string,
): { feature: string; reason: string } | undefined {
  const found = table.find(
    (e) => (e.methods.length === 0 || e.methods.includes(method)) && e.pattern.test(path),
  );
  return found ? { feature: found.feature, reason: found.reason } : undefined;
}

/** The features the table lists, for documentation and `docker info`. */
export function unsupportedFeatures(): string[] {
  return [...new Set(table.map((e) => e.feature))];
}
