import type { Sim } from "./sim";

export default async function globalTeardown(): Promise<void> {
  const sim = (globalThis as { __bonnevilleSim?: Sim }).__bonnevilleSim;
  if (sim) await sim.stop();
}
