/**
 * The digest a create tags its VM with names the vCenter as its SDK URL, whichever way the
 * configuration wrote it, and changes with the vCenter and the datacenter. Each configuration's URL
 * is parsed once; these cases keep one configuration's answer from leaking into another's.
 */
import { creationDigest } from "../../provider/src/resources/common";
import type { ProviderConfig } from "../../provider/src/resources/resource";

const urn = "urn:pulumi:dev::pool::bonneville:index:ContainerVM::web";
const spec = { parentId: "vm-60", image: "nginx:1.27" };

function config(vsphereServer: string, datacenter?: string): ProviderConfig {
  return {
    vsphereServer,
    user: "administrator@vsphere.local",
    password: "not-logged",
    allowUnverifiedSsl: false,
    ...(datacenter ? { datacenter } : {}),
  };
}

describe("creationDigest", () => {
  it("is the same for one vCenter written as a host name, host:443 or its SDK URL", () => {
    const digests = [
      "vc.example.com",
      "vc.example.com:443",
      "https://vc.example.com/sdk",
      " vc.example.com ",
    ].map((server) => creationDigest({ urn, config: config(server) }, spec));
    expect(new Set(digests).size).toBe(1);
  });

  it("differs for another vCenter, another port, another datacenter, another URN or spec", () => {
    const one = config("vc.example.com", "DC0");
    const base = creationDigest({ urn, config: one }, spec);
    // Asked again with the same configuration object: the same answer.
    expect(creationDigest({ urn, config: one }, spec)).toBe(base);
    const others = [
      creationDigest({ urn, config: config("vc2.example.com", "DC0") }, spec),
      creationDigest({ urn, config: config("vc.example.com:8443", "DC0") }, spec),
      creationDigest({ urn, config: config("vc.example.com", "DC1") }, spec),
      creationDigest({ urn: `${urn}2`, config: one }, spec),
      creationDigest({ urn, config: one }, { ...spec, image: "nginx:1.28" }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it("names a server that is not a vCenter address as written, as before", () => {
    const odd = creationDigest({ urn, config: config("not a host") }, spec);
    expect(odd).not.toBe(creationDigest({ urn, config: config("vc.example.com") }, spec));
    expect(creationDigest({ urn, config: config("not a host") }, spec)).toBe(odd);
  });
});
