/**
 * A vCenter that stops answering: a TCP listener on loopback that either forwards every connection
 * to a real endpoint (the simulator) until {@link SilentVCenter.silence} is called, or, without a
 * target, never forwards at all. Once silent it still accepts connections and keeps them open, but
 * sends nothing back and passes nothing on: TLS handshakes, SOAP requests and Logout all wait
 * forever, as with a vCenter whose services hang.
 */
import * as net from "node:net";

export class SilentVCenter {
  private silent: boolean;
  private readonly sockets = new Set<net.Socket>();
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections accepted while silent. */
  acceptedWhileSilent = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number } | undefined,
    /** `127.0.0.1:<port>`: what the provider's `vsphereServer` names. */
    readonly address: string,
  ) {
    this.silent = target === undefined;
  }

  /**
   * Starts listening. `target` (`https://host:port/sdk`) is forwarded to until {@link silence};
   * without it the listener is silent from the start.
   */
  static async start(target?: string): Promise<SilentVCenter> {
    const parsed = target ? new URL(target) : undefined;
    const holder: { vc?: SilentVCenter } = {};
    const server = net.createServer((socket) => holder.vc!.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    const vc = new SilentVCenter(
      server,
      parsed ? { host: parsed.hostname, port: Number(parsed.port || 443) } : undefined,
      `127.0.0.1:${port}`,
    );
    holder.vc = vc;
    return vc;
  }

  /** The SDK URL through this listener. */
  get url(): string {
    return `https://${this.address}/sdk`;
  }

  /** From now on nothing is answered or passed on, on open connections and new ones alike. */
  silence(): void {
    this.silent = true;
  }

  /** Resolves once at least `count` connections were accepted while silent. */
  async waitForSilentConnections(count = 1, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acceptedWhileSilent < count) {
      if (Date.now() > deadline) {
        throw new Error(`no connection reached the silent vCenter within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes every connection and the listener. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.accepted++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (this.silent || !this.target) {
      this.acceptedWhileSilent++;
      socket.on("data", () => undefined); // read and drop: the peer's writes never block
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      if (!this.silent) socket.destroy();
    });
    upstream.on("error", () => upstream.destroy());
    socket.on("close", () => {
      if (!this.silent) upstream.destroy();
    });
    // Bytes pass both ways until silence; after it they are dropped and the connection stays open.
    socket.on("data", (chunk: Buffer) => {
      if (!this.silent) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!this.silent) socket.write(chunk);
    });
  }
}
