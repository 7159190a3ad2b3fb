/**
 * Slow clients ("slowloris"): many sockets that send a request's headers a few bytes at a time
 * and never finish, to show the server keeps answering others (docs/FEDERATION_PROTOCOL.md §Errors, lib/http/server.ts
 * timeouts). Loopback only; every socket is closed by `close()`.
 */
import { connect, type Socket } from "node:net";

export interface SlowClients {
  /** Sockets still open (the server may have cut some). */
  open(): number;
  /** Sockets the server closed. */
  closedByServer(): number;
  close(): void;
}

/**
 * Opens `count` connections to `url` (http://127.0.0.1:PORT), each sending a partial request
 * line and then one header line every `intervalMs`, never the blank line that ends the headers.
 * Resolves once every socket has connected (or failed to).
 * @example const slow = await holdSlowClients(node.url, 1000); ...; slow.close()
 */
export async function holdSlowClients(url: string, count: number, intervalMs = 1000): Promise<SlowClients> {
  const { hostname, port } = new URL(url);
  if (hostname !== "127.0.0.1" && hostname !== "localhost" && hostname !== "[::1]") throw new Error(`slow clients are for loopback only, not ${hostname}`);
  const sockets = new Set<Socket>();
  let closedByServer = 0;
  let stopping = false;
  await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<void>((resolve) => {
        const s = connect({ host: hostname, port: Number(port) });
        s.setNoDelay(true);
        s.once("connect", () => {
          sockets.add(s);
          s.write(`POST /federation/announce HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
          resolve();
        });
        s.on("error", () => resolve());
        s.once("close", () => {
          if (sockets.delete(s) && !stopping) closedByServer++;
          resolve();
        });
        s.resume();
      }),
    ),
  );
  let n = 0;
  const timer = setInterval(() => {
    n++;
    for (const s of sockets) if (s.writable) s.write(`x-slow-${n}: ${"a".repeat(8)}\r\n`);
  }, intervalMs);
  timer.unref();
  return {
    open: () => sockets.size,
    closedByServer: () => closedByServer,
    close() {
      stopping = true;
      clearInterval(timer);
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
