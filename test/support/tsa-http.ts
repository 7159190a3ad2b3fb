/**
 * The throwaway openssl TSA (./openssl-tsa.ts) served over HTTP on loopback, as an RFC 3161
 * authority is reached (POST application/timestamp-query, answer application/timestamp-reply).
 * `mode` makes it misbehave: answer 500, or stamp other bytes than it was asked for.
 */
import { createServer, type Server } from "node:http";
import type { OpensslTsa } from "./openssl-tsa.js";

export interface HttpTsa {
  url: string;
  /** Queries answered so far. */
  requests: number;
  mode: "honest" | "http-500" | "other-imprint";
  close(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1, port 0.
 * @example const http = await serveTsa(tsa); t.after(() => http.close()); await requestStamp(http.url, root)
 */
export async function serveTsa(tsa: OpensslTsa): Promise<HttpTsa> {
  const state: HttpTsa = { url: "", requests: 0, mode: "honest", close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.requests++;
      if (req.method !== "POST" || req.headers["content-type"] !== "application/timestamp-query") return res.writeHead(415).end();
      if (state.mode === "http-500") return res.writeHead(500, { "content-type": "text/plain" }).end("busy");
      try {
        const answer = state.mode === "other-imprint" ? tsa.mint(new TextEncoder().encode("something else"), { noNonce: true }) : tsa.reply(Buffer.concat(chunks));
        res.writeHead(200, { "content-type": "application/timestamp-reply" }).end(Buffer.from(answer));
      } catch (e) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(e));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/tsr`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
