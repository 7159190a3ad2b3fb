/**
 * The explorer's HTTP side (docs/EXPLORER.md): the page under /explorer/, the read-only API
 * under /api/v1/, its live event stream, and the federation endpoint POST /federation/topology.
 * lib/http/server.ts hands it every request whose path `handles` accepts; everything else
 * about the server (timeouts, connection cap, error shape) stays there.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ProtocolError } from "../errors.js";
import { readJsonBody } from "../http/body.js";
import { RateLimiter } from "../http/rate-limit.js";
import { sendJson } from "../http/reply.js";
import { parsePeerJson } from "../messages/json.js";
import { DEFAULT_EXPLORER } from "../config/explorer.js";
import { checkHost } from "../http/host.js";
import { checkAccess } from "./access.js";
import { matchApiRoute } from "./api.js";
import { CONTENT_SECURITY_POLICY, loadAssets, type Asset } from "./assets.js";
import type { ExplorerSource } from "./source.js";

export interface Explorer {
  /** True for the paths this module answers. */
  handles(path: string): boolean;
  /** Answers one request; throws ProtocolError for refusals (the server writes the error). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** Ends every open event stream (before the server closes, or it would wait for them). */
  close(): void;
}

export interface ExplorerOptions {
  /** Event streams open at once; past it a new one is answered 503 (default 32). */
  maxStreams?: number;
  /** Comment line sent on idle streams so that proxies keep them, ms (default 15 000). */
  heartbeatMs?: number;
  /** Built page files; default: read from dist/explorer. */
  assets?: Map<string, Asset>;
}

/** A topology request is a few hundred bytes. */
const TOPOLOGY_BODY_LIMIT = 16 * 1024;
const PAGE_HEADERS = { "content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-cache" };

/**
 * The explorer over `source`.
 * @example const explorer = await createExplorer(nodeExplorerSource(parts)); startServer({ ..., explorer }, host, port)
 */
export async function createExplorer(source: ExplorerSource, options: ExplorerOptions = {}): Promise<Explorer> {
  const assets = options.assets ?? (await loadAssets());
  const rate = new RateLimiter();
  const streams = new Set<ServerResponse>();
  const maxStreams = options.maxStreams ?? 32;
  let closed = false;

  const limit = (req: IncomingMessage, kind: string) => {
    const perMinute = source.explorerConfig()?.ratePerMin ?? DEFAULT_EXPLORER.ratePerMin;
    const wait = rate.take(`${kind} ${req.socket.remoteAddress ?? "?"}`, perMinute, Date.now(), 60);
    if (wait > 0) throw new ProtocolError("RATE_LIMITED", 429, `more than ${perMinute} explorer requests a minute from this address; retry in ${wait} s`, { details: String(wait) });
  };

  const readOnly = (req: IncomingMessage, path: string) => {
    if (req.method !== "GET" && req.method !== "HEAD") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; the explorer is read-only, use GET`);
    // A GET carries no body; refusing one keeps request smuggling and slow uploads out.
    if (req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0) throw new ProtocolError("BODY_NOT_ALLOWED", 400, "explorer requests carry no body");
  };

  const stream = (req: IncomingMessage, res: ServerResponse) => {
    if (closed) throw new ProtocolError("SHUTTING_DOWN", 503, "this node is shutting down");
    if (streams.size >= maxStreams) throw new ProtocolError("TOO_MANY_STREAMS", 503, `${maxStreams} event streams are open already; poll the API instead`);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
    streams.add(res);
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ node: source.nodeId() })}\n\n`);
    const off = source.watch((change) => res.write(`event: ${change.kind}\ndata: ${JSON.stringify({ namespace: change.namespace })}\n\n`));
    const beat = setInterval(() => res.write(": keep-alive\n\n"), options.heartbeatMs ?? 15_000);
    const end = () => {
      clearInterval(beat);
      off();
      streams.delete(res);
    };
    req.once("close", end);
    res.once("close", end);
  };

  return {
    handles: (path) => path === "/explorer" || path.startsWith("/explorer/") || path.startsWith("/api/") || path === "/federation/topology",

    async handle(req, res, path) {
      if (path === "/federation/topology") {
        if (req.method !== "POST") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use POST`);
        limit(req, "topology");
        const text = await readJsonBody(req, TOPOLOGY_BODY_LIMIT);
        return sendJson(res, 200, await source.answerTopology(parsePeerJson(text)));
      }
      // The page and the API are read by browsers: refuse a rebound name before anything else (docs/EXPLORER.md §Access).
      checkHost(req, source.explorerConfig()?.publicUrl);
      readOnly(req, path);
      const url = new URL(req.url ?? "/", "http://explorer.invalid");
      if (path === "/explorer" || path.startsWith("/explorer/")) {
        checkAccess(req, source.explorerConfig(), { needsToken: false });
        limit(req, "page");
        if (path === "/explorer") {
          res.writeHead(301, { location: "/explorer/", "content-length": 0 });
          res.end();
          return;
        }
        const name = path === "/explorer/" ? "index.html" : path.slice("/explorer/".length);
        if (assets === undefined) throw new ProtocolError("NOT_BUILT", 503, "the explorer page is not built: run `npm run build` in the vmsh-federation checkout");
        const asset = assets.get(name);
        if (asset === undefined) throw new ProtocolError("NOT_FOUND", 404, `no such explorer file ${path}`);
        res.writeHead(200, { "content-type": asset.type, "content-length": asset.body.length, ...PAGE_HEADERS });
        res.end(asset.body);
        return;
      }
      checkAccess(req, source.explorerConfig(), { needsToken: true });
      limit(req, "api");
      if (path === "/api/v1/events") {
        if (req.method !== "GET") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, "the event stream answers GET only");
        return stream(req, res);
      }
      const route = matchApiRoute(path);
      if (route === undefined) throw new ProtocolError("NOT_FOUND", 404, `no such API route ${path} (docs/explorer-openapi.json lists them)`);
      await source.fresh();
      const answer = await route.handler(source, route.params, url.searchParams);
      sendJson(res, answer.status, answer.body, { "x-content-type-options": "nosniff", ...answer.headers });
    },

    close() {
      closed = true;
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
