/**
 * A TCP proxy on 127.0.0.1 (port 0) that forwards every connection to `target` and counts the
 * bytes each way: what a catch-up costs on the wire, headers and all, whatever the HTTP stack
 * on either side does (docs/FEDERATION_PROTOCOL.md §Compression).
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface CountingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Bytes from the client to the target. */
  up: number;
  /** Bytes from the target to the client. */
  down: number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * @example const proxy = await startCountingProxy(new URL(a.url)); … proxy.up + proxy.down
 */
export async function startCountingProxy(target: URL): Promise<CountingProxy> {
  const sockets = new Set<Socket>();
  const counts = { up: 0, down: 0 };
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (d: Buffer) => (counts.up += d.length));
    upstream.on("data", (d: Buffer) => (counts.down += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    get up() {
      return counts.up;
    },
    get down() {
      return counts.down;
    },
    reset() {
      counts.up = 0;
      counts.down = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
