/** The SOAP transport's call timeout: a bound on the server's silence, not on a call's length. */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { SoapTransport } from "../../provider/src/vsphere/soap/transport";
import { TransportError } from "../../provider/src/vsphere/faults";

/** A plain-HTTP server that answers every POST with `parts` chunks, `gapMs` apart. */
async function tricklingServer(parts: number, gapMs: number): Promise<{ url: URL; close(): Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, gapMs);
    timers.add(timer);
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/xml" });
      let sent = 0;
      const next = () => {
        if (sent === parts) {
          res.end();
          return;
        }
        res.write(`<part n="${sent++}"/>`);
        later(next);
      };
      later(next);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/sdk`),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("SoapTransport's call timeout", () => {
  it("lets a call run longer than the timeout while the server keeps sending, and times out on silence", async () => {
    const steady = await tricklingServer(8, 150); // 1.35 s in all, never silent for 0.5 s
    const transport = new SoapTransport({ url: steady.url, requestTimeoutMs: 500 });
    try {
      const answer = await transport.post("Slow", "<x/>");
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(Array.from({ length: 8 }, (_, n) => `<part n="${n}"/>`).join(""));
    } finally {
      transport.close();
      await steady.close();
    }

    const stalled = await tricklingServer(2, 1500); // 1.5 s of silence before its first part
    const impatient = new SoapTransport({ url: stalled.url, requestTimeoutMs: 500 });
    try {
      const err = await impatient.post("Stalled", "<x/>").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect((err as Error).message).toMatch(
        /^Stalled: cannot reach 127\.0\.0\.1:\d+: no answer within 1 s$/,
      );
    } finally {
      impatient.close();
      await stalled.close();
    }
  }, 20_000);
});
