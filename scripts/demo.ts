/**
 * The demo on the embedded vSphere: one parent per ESXi host, six containers
 * forked from them by instant clone, a table of what was made, then a clean
 * inventory again.
 */
import {
  ClusterComputeResource,
  VSphereClient,
  VirtualMachine,
  networkTarget,
  objectKinds,
  type MoRef,
} from "../provider/src/vsphere";
import { Sim } from "../tests/support/sim";

const containers = Number(process.env.BONNEVILLE_DEMO_CONTAINERS ?? 6);

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

async function main(): Promise<void> {
  const started = Date.now();
  const sim = await Sim.start();
  const client = new VSphereClient({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
  });
  try {
    console.log(`embedded vSphere serving at ${sim.url} (certificate ${sim.thumbprint.slice(0, 23)}…)`);
    const dc = await client.find.datacenter();
    const cluster = (await new ClusterComputeResource(
      client,
      await client.find.resolve("DC0_C0", objectKinds.cluster, "host"),
    ).info())!;
    const hostNames = new Map<string, string>();
    for (const [id, c] of await client.properties.retrieve(cluster.hosts, ["name"]))
      hostNames.set(id, String(c.props.name));
    console.log(
      `datacenter ${dc.name}, cluster ${cluster.name} with hosts ${[...hostNames.values()].join(", ")}\n`,
    );

    const source = new VirtualMachine(
      client,
      await client.find.resolve("bonneville-source", objectKinds.virtualMachine, "vm"),
    );
    const parents = await Promise.all(
      cluster.hosts.map((host, i) =>
        source.clone(dc.vmFolder, `demo-parent-${i}`, {
          location: { pool: cluster.rootPool, host },
          powerOn: true,
        }),
      ),
    );
    for (const p of parents) {
      for (;;) {
        const info = await p.info();
        if (info?.extraConfig.get("guestinfo.bonneville.ready") === "true") break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    console.log(`${parents.length} parents running and ready to fork\n`);

    const networks: MoRef[] = [
      await client.find.resolve("DC0_DVPG0", objectKinds.portGroup, "network"),
      await client.find.resolve("DC0_DVPG1", objectKinds.portGroup, "network"),
    ];
    const parentInfo = await Promise.all(parents.map((p) => p.info()));
    const results = await Promise.all(
      Array.from({ length: containers }, async (_, i) => {
        const parent = parents[i % parents.length]!;
        const nic = parentInfo[i % parents.length]!.nics[0]!;
        const target = await networkTarget(client, networks[i % networks.length]!);
        const t0 = Date.now();
        const vm = await parent.instantClone(
          `demo-web-${i}`,
          { nicNetworks: new Map([[nic.key, { nic, target }]]) },
          {
            "guestinfo.bonneville.version": "1",
            "guestinfo.bonneville.image": "nginx:1.27",
            "bonneville.managed": "true",
          },
        );
        return { vm, seconds: (Date.now() - t0) / 1000, network: target.name };
      }),
    );
    const rows: string[][] = [["NAME", "VM ID", "HOST", "NETWORK", "MAC", "CLONE"]];
    for (const r of results) {
      const info = (await r.vm.info())!;
      rows.push([
        info.name,
        info.ref.value,
        hostNames.get(info.host?.value ?? "") ?? "?",
        r.network,
        info.nics[0]?.macAddress ?? "",
        `${r.seconds.toFixed(2)}s`,
      ]);
    }
    console.log(table(rows));

    await Promise.all(
      [...results.map((r) => r.vm), ...parents].map(async (vm) => {
        await vm.powerOff();
        await vm.destroy();
      }),
    );
    const left = (await sim.inventory()).virtualMachines.filter((vm) => vm.name.startsWith("demo-"));
    if (left.length) throw new Error(`left behind: ${left.map((v) => v.name).join(", ")}`);
    console.log(`\ndeleted ${results.length} containers and ${parents.length} parents; inventory clean`);
    console.log(`total ${((Date.now() - started) / 1000).toFixed(1)}s, ${client.calls.total} SOAP calls`);
  } finally {
    await client.close();
    await sim.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
