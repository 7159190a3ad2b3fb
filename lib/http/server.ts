/**
 * The federation HTTP server (docs/FEDERATION_PROTOCOL.md §Transport): routes, body and content-type limits, timeouts
 * against slow clients, a connection cap, and error answers without stack traces.
 * HTTPS when `mesh.listen.tls` names a key and certificate.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ProtocolError } from "../errors.js";
import { LIMITS } from "../messages/limits.js";
import type { ChunkedBody } from "../messages/sign-in-slices.js";
import { readJsonBody, type BodyScreen } from "./body.js";
import { chooseEncoding, type BodyEncoding } from "./encoding.js";
import { checkHost } from "./host.js";
import { serveLog, type ServedLog } from "./log-routes.js";
import { topLevelString } from "./preauth.js";
import { BURST_S, RateLimiter } from "./rate-limit.js";
import { sendError, sendJson, sendJsonChunks } from "./reply.js";

/**
 * What the server serves: the federation node (lib/federation/node.ts implements it). The
 * server knows only this shape, so lib/http depends on nothing in lib/federation.
 */
export interface ServedNode {
  readonly stopping: boolean;
  readonly startedAtMs: number;
  readonly config: { federation: { mesh: { nodeId: string; maxPostsPerAddressPerMin?: number }; explorer?: { publicUrl?: string } } };
  /** Handles a POST body of `kind`; throws ProtocolError for every refusal. `bytes`, when present, is `body` already serialised. */
  receive(kind: "announce" | "request" | "reconcile", text: string, accepted?: BodyEncoding): Promise<{ status: number; body: unknown; bytes?: ChunkedBody; encoding?: BodyEncoding }>;
  /**
   * Asked before a large body is read on, with the `signer` it names: a refusal (an unknown
   * signer, a budget in debt), or undefined to read on (docs/FEDERATION_PROTOCOL.md §Limits).
   */
  screen(kind: "announce" | "request" | "reconcile", signer: string): ProtocolError | undefined;
  /** Prometheus text for GET /metrics. */
  renderMetrics(): Promise<string>;
}

/** What the server needs of the explorer (lib/explorer/explorer.ts implements it). */
export interface ServedExplorer {
  /** Whether `path` is the explorer's (its page, its assets, its API). */
  handles(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

export interface ServerOptions {
  node: ServedNode;
  log: { error(message: string, fields?: Record<string, unknown>): void };
  version: string;
  /** PEM key and certificate for HTTPS. */
  tls?: { key: string; cert: string };
  /** Connections held open at once; past it new ones are refused by the kernel backlog. */
  maxConnections?: number;
  /** The web explorer and its API (docs/EXPLORER.md); absent: those paths answer 404. */
  explorer?: ServedExplorer;
  /** The origin log and witness endpoints under /log/ (docs/FEDERATION_PROTOCOL.md §Origin log); absent: 404. */
  originLog?: ServedLog;
  /** `GET|POST /federation/roster` (docs/FEDERATION_PROTOCOL.md §Roster exchange); absent: 404. */
  roster?: {
    current(): { status: number; body: unknown };
    receive(text: string): Promise<{ status: number; body: unknown }>;
  };
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
const POST_ROUTES: Readonly<Record<string, { kind: "announce" | "request" | "reconcile"; maxBytes: number }>> = {
  "/federation/announce": { kind: "announce", maxBytes: LIMITS.maxInboundBodyBytes },
  "/federation/request": { kind: "request", maxBytes: LIMITS.maxInboundBodyBytes },
  // Reconcile rounds carry binary range payloads (base64): a larger, still bounded, body.
  "/federation/reconcile": { kind: "reconcile", maxBytes: LIMITS.maxReconcileBodyBytes },
};

/** Refusals made before the sender is known: their body is drained only briefly (PRE_AUTH_DRAIN_*). */
const refusedUnread = new WeakSet<Error>();
function unread(error: ProtocolError): ProtocolError {
  refusedUnread.add(error);
  return error;
}

/** POSTs a client address may send a minute when the configuration names none (docs/FEDERATION_PROTOCOL.md §Limits). */
const DEFAULT_POSTS_PER_ADDRESS_PER_MIN = 1200;

/**
 * The look at a large body before it is read on (docs/FEDERATION_PROTOCOL.md §Limits, "Before
 * authentication"): its top-level `signer` must be within the first LIMITS.preAuthBodyBytes and
 * be a signer this node admits.
 */
function signerScreen(node: ServedNode, kind: "announce" | "request" | "reconcile"): BodyScreen {
  return {
    openBytes: LIMITS.preAuthBodyBytes,
    check(head) {
      const signer = topLevelString(head, "signer");
      // Drained like any body over the limit, so the sender reads its 413 (a declared Content-Length already costs that much).
      if (signer === undefined) throw new ProtocolError("BODY_TOO_LARGE", 413, `a body over ${LIMITS.preAuthBodyBytes} bytes must name its signer within its first ${LIMITS.preAuthBodyBytes} bytes (send the members type, v and signer first)`);
      const refusal = node.screen(kind, signer);
      if (refusal === undefined) return;
      // An admitted signer's refusal (its budget) is drained in full, so it reads its Retry-After.
      throw refusal.code === "SIGNER_UNKNOWN" ? unread(refusal) : refusal;
    },
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: ServerOptions, perAddress: RateLimiter): Promise<void> {
  const { node } = options;
  const path = (req.url ?? "/").split("?")[0]!;
  if (path === "/health") {
    if (req.method !== "GET" && req.method !== "HEAD") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use GET`);
    return sendJson(res, node.stopping ? 503 : 200, { status: node.stopping ? "shutting_down" : "ok", node: node.config.federation.mesh.nodeId, version: options.version, uptimeS: Math.floor((Date.now() - node.startedAtMs) / 1000) });
  }
  if (path === "/metrics") {
    if (req.method !== "GET") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use GET`);
    // Operational detail stays on the machine: scrape from loopback (docs/FEDERATION_OPERATIONS.md).
    if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) throw new ProtocolError("FORBIDDEN", 403, "/metrics answers loopback clients only");
    checkHost(req, node.config.federation.explorer?.publicUrl);
    const text = await node.renderMetrics();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(text);
    return;
  }
  if (options.explorer?.handles(path)) return options.explorer.handle(req, res, path);
  if (path.startsWith("/log/") && options.originLog) {
    // The witness's add-checkpoint is an unauthenticated POST: it shares the per-address allowance.
    if (req.method === "POST") {
      const perMinute = node.config.federation.mesh.maxPostsPerAddressPerMin ?? DEFAULT_POSTS_PER_ADDRESS_PER_MIN;
      const wait = perAddress.take(req.socket.remoteAddress ?? "?", perMinute, Date.now(), BURST_S);
      if (wait > 0) throw unread(new ProtocolError("RATE_LIMITED", 429, `more than ${perMinute} federation POSTs a minute from this address; retry in ${wait} s`, { details: String(wait) }));
    }
    return serveLog(req, res, path, options.originLog);
  }
  if (path === "/federation/roster" && options.roster !== undefined) {
    if (req.method === "GET") {
      const r = options.roster.current();
      return sendJson(res, r.status, r.body);
    }
    if (req.method !== "POST") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use GET or POST`);
    if (node.stopping) throw new ProtocolError("SHUTTING_DOWN", 503, "this node is shutting down; try again shortly");
    const r = await options.roster.receive(await readJsonBody(req, LIMITS.maxInboundBodyBytes));
    return sendJson(res, r.status, r.body);
  }
  const post = POST_ROUTES[path];
  if (post === undefined) throw new ProtocolError("NOT_FOUND", 404, `no such endpoint ${path}`);
  if (req.method !== "POST") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use POST`);
  if (node.stopping) throw new ProtocolError("SHUTTING_DOWN", 503, "this node is shutting down; try again shortly");
  // Before a byte of the body is read: every address has its own allowance (docs/FEDERATION_PROTOCOL.md §Limits).
  const perMinute = node.config.federation.mesh.maxPostsPerAddressPerMin ?? DEFAULT_POSTS_PER_ADDRESS_PER_MIN;
  const wait = perAddress.take(req.socket.remoteAddress ?? "?", perMinute, Date.now(), BURST_S);
  if (wait > 0) throw unread(new ProtocolError("RATE_LIMITED", 429, `more than ${perMinute} federation POSTs a minute from this address; retry in ${wait} s`, { details: String(wait) }));
  const text = await readJsonBody(req, post.maxBytes, signerScreen(node, post.kind));
  const accepted = chooseEncoding(req.headers["accept-encoding"]);
  const reply = await node.receive(post.kind, text, accepted);
  if (reply.bytes !== undefined) await sendJsonChunks(res, reply.status, reply.bytes, reply.encoding ?? accepted, reply.encoding !== undefined);
  else sendJson(res, reply.status, reply.body);
}

/**
 * The raw answer to a request that is not valid HTTP/1.1 (node's parser refused it before any
 * route ran): still the JSON error shape of docs/FEDERATION_PROTOCOL.md §Errors, and the connection closes after it.
 */
function framingAnswer(parserCode: string | undefined): string {
  const [status, reason, code, message] =
    parserCode === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE", "request headers are over the size limit"]
      : parserCode === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "REQUEST_TIMEOUT", "the request did not arrive in time"]
        : [400, "Bad Request", "MALFORMED_HTTP", `the request is not valid HTTP/1.1${parserCode?.startsWith("HPE_") ? ` (${parserCode})` : ""}`];
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * What a refused body may still send before the answer: enough for a sender that overran the
 * limit by a few MiB to read its 413. Past either bound the connection is cut after the answer.
 */
const DRAIN_BYTES = 4 * LIMITS.maxInboundBodyBytes;
/** How long a stopping server waits for requests still in flight before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;
const DRAIN_MS = 2_000;
/** The same for a sender refused before it is known (docs/FEDERATION_PROTOCOL.md §Limits): a stranger's megabytes are not read. */
const PRE_AUTH_DRAIN_BYTES = LIMITS.preAuthBodyBytes;
const PRE_AUTH_DRAIN_MS = 200;

/**
 * Reads and discards the rest of a refused request body, at most DRAIN_BYTES or DRAIN_MS;
 * true when it all arrived. Answering first and closing with bytes still unread makes the
 * kernel reset the connection, and the reset can overtake the answer: the sender that overran
 * the limit would see ECONNRESET or EPIPE instead of its 413.
 */
function drainBody(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (complete: boolean): void => {
      clearTimeout(timer);
      req.off("data", count);
      req.pause();
      resolve(complete);
    };
    const count = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > maxBytes) done(false);
    };
    const timer = setTimeout(() => done(false), maxMs);
    req.on("data", count);
    req.once("end", () => done(true));
    req.once("error", () => done(false));
    req.resume();
  });
}

export interface RunningServer {
  server: Server;
  /** `http://127.0.0.1:PORT` (or https) as bound. */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts listening on `host:port` (port 0 picks a free one).
 * @example const s = await startServer({ node, log, version }, "127.0.0.1", 8088)
 */
export async function startServer(options: ServerOptions, host: string, port: number): Promise<RunningServer> {
  const perAddress = new RateLimiter();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, options, perAddress).catch(async (error: unknown) => {
      if (!(error instanceof ProtocolError)) options.log.error("request failed", { path: req.url, error: (error as Error).message });
      // A refused body may still be arriving: take in a bounded rest before answering.
      const brief = error instanceof Error && refusedUnread.has(error);
      const drained = req.complete || req.destroyed || (await drainBody(req, brief ? PRE_AUTH_DRAIN_BYTES : DRAIN_BYTES, brief ? PRE_AUTH_DRAIN_MS : DRAIN_MS));
      sendError(res, error);
      if (!drained) res.once("finish", () => req.destroy());
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handle) : createHttpServer(handle);
  // Slow clients cannot hold a connection forever: headers within 10 s, the whole request within 30 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  server.maxConnections = options.maxConnections ?? 4096;
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(framingAnswer(err.code));
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `${options.tls ? "https" : "http"}://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // A connection whose request is still in flight keeps close() waiting: after a grace
        // period it is cut, so a stop always ends (the daemon drained its own work before).
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
