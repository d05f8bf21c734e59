/** Starts one embedded vSphere that read-mostly tests share; tests that inject faults start their own. */
import { Sim } from "./sim";

export default async function globalSetup(): Promise<void> {
  const sim = await Sim.start();
  (globalThis as { __bonnevilleSim?: Sim }).__bonnevilleSim = sim;
  process.env.BONNEVILLE_TEST_SIM = JSON.stringify({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    thumbprint: sim.thumbprint,
  });
}
