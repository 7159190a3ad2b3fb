/**
 * The outbound HTTP client of a node: one bounded undici Pool per peer origin, with
 * connect/headers/body timeouts and keep-alive. Whatever the network or the peer does,
 * a call resolves to a `PeerResponse`; only a caller's mistake (a bad path, a URL that
 * config validation should have refused) throws. Answers are read up to a byte limit and
 * parsed with the same bounded parser as inbound bodies (lib/messages/json.ts).
 */
import { performance } from "node:perf_hooks";
import type { Dispatcher, Pool } from "undici";
import { ArgumentError } from "../errors.js";
import { ACCEPT_ENCODING, COMPRESS_FROM_BYTES, compressBody, InflatedTooLarge, inflateBody, knownEncoding } from "../http/encoding.js";
import { parsePeerJson } from "../messages/json.js";
import { LIMITS } from "../messages/limits.js";
import { VERSION } from "../version.js";
import { parseRetryAfter } from "./backoff.js";
import { networkFailure, statusFailure, type PeerFailure } from "./peer-failure.js";

export type { PeerFailure } from "./peer-failure.js";

/**
 * A 2xx answer; `body` is the parsed JSON (null for an empty body), `bytes` its size on the wire
 * (compressed, when the peer compressed it), `inflatedBytes` its size as JSON.
 */
export interface PeerSuccess {
  ok: true;
  status: number;
  body: unknown;
  bytes: number;
  inflatedBytes?: number;
  /** Bytes of the request body as sent (compressed, when it went compressed). */
  sentBytes?: number;
}

export type PeerResponse = PeerSuccess | PeerFailure;
/** A GET's answer with the time from sending to the end of the body (or the failure). */
export type PeerTimedResponse = PeerResponse & { latencyMs: number };

/** Where to send: a peers.yaml entry or anything with its `did` and `url`. */
export interface PeerTarget {
  did: string;
  url: string;
}

export interface PeerClientOptions {
  /** Concurrent connections per peer origin (default 4). */
  connections?: number;
  /** TCP + TLS handshake limit, ms (default 5 000). */
  connectTimeoutMs?: number;
  /** Limit for the answer's headers after the request is sent, ms (default 10 000). */
  headersTimeoutMs?: number;
  /** Limit between two chunks of the answer's body, ms (default 30 000). */
  bodyTimeoutMs?: number;
  /** Idle keep-alive socket lifetime, ms (default 4 000). */
  keepAliveTimeoutMs?: number;
  /** PEM CA certificate(s) trusted instead of the system's for https peers (tests, private meshes). */
  ca?: string | Buffer;
}

export interface RequestOptions {
  /** Bytes of answer read before giving up (default LIMITS.maxBundleBytes). */
  maxResponseBytes?: number;
  /** Whole-call deadline including queueing for a connection, ms (default none: the pool's timeouts apply). */
  timeoutMs?: number;
  /**
   * Seconds a POST may wait in all, in the peer's `Retry-After` steps, to send the same message
   * again after a 429 (its work budget, docs/FEDERATION_PROTOCOL.md §Limits); default 0: none.
   */
  waitOnRateLimitS?: number;
  /**
   * Send the POST body gzip-compressed when it is large enough to gain: only to a peer known to
   * inflate bodies (one that took a Request of version 3, docs/FEDERATION_PROTOCOL.md §Compression).
   */
  compressBody?: boolean;
}

/** Error bodies are small JSON objects; more than this of one is not worth reading. */
const ERROR_BODY_LIMIT = 64 * 1024;
const DEFAULT_GET_LIMIT = 1024 * 1024;

interface Target {
  origin: string;
  path: string;
  authorization: string | undefined;
  secrets: string[];
}

let undici: Promise<typeof import("undici")> | undefined;
/** undici on first use: a command that talks to no peer (`--help`, `init`) does not pay for loading it. */
function loadUndici(): Promise<typeof import("undici")> {
  undici ??= import("undici");
  return undici;
}

/**
 * `message` with its members `type`, `v` and `signer` first: a receiver reads a large body on
 * only once its signer is known (docs/FEDERATION_PROTOCOL.md §Limits). The signature covers the
 * canonical form, so member order on the wire changes nothing else.
 */
function signerFirst(message: unknown): unknown {
  if (typeof message !== "object" || message === null || Array.isArray(message) || !("signer" in message)) return message;
  const m = message as Record<string, unknown>;
  return { type: m.type, v: m.v, signer: m.signer, ...m };
}

/** Outbound calls to peers. Implements the `GossipClient` lib/federation/gossip.ts expects. */
export class PeerClient {
  readonly #options: Required<Omit<PeerClientOptions, "ca">> & { ca: string | Buffer | undefined };
  readonly #pools = new Map<string, Pool>();
  #closed = false;

  /**
   * @example
   * const client = new PeerClient({ connectTimeoutMs: 2000 });
   * try { await client.postJson(peer, "/federation/announce", announce); } finally { await client.close(); }
   */
  constructor(options: PeerClientOptions = {}) {
    const positive = (name: keyof PeerClientOptions, value: number | undefined, fallback: number): number => {
      if (value === undefined) return fallback;
      if (!Number.isInteger(value) || value <= 0) throw new ArgumentError(`options.${name}`, "must be a positive integer");
      return value;
    };
    this.#options = {
      connections: positive("connections", options.connections, 4),
      connectTimeoutMs: positive("connectTimeoutMs", options.connectTimeoutMs, 5_000),
      headersTimeoutMs: positive("headersTimeoutMs", options.headersTimeoutMs, 10_000),
      bodyTimeoutMs: positive("bodyTimeoutMs", options.bodyTimeoutMs, 30_000),
      keepAliveTimeoutMs: positive("keepAliveTimeoutMs", options.keepAliveTimeoutMs, 4_000),
      ca: options.ca,
    };
  }

  /**
   * POSTs `message` as JSON to `peer.url` + `path`. Never throws for network or peer faults.
   * @example
   * const r = await client.postJson(peer, "/federation/announce", announce, { maxResponseBytes: 65536 });
   * if (!r.ok && r.retryable) outbox.enqueue(peer, "/federation/announce", announce);
   */
  async postJson(peer: PeerTarget, path: string, message: unknown, options: RequestOptions = {}): Promise<PeerResponse> {
    const json = JSON.stringify(signerFirst(message));
    if (typeof json !== "string") throw new ArgumentError("message", "cannot be serialised as JSON");
    const text: string | Buffer = options.compressBody === true && json.length >= COMPRESS_FROM_BYTES ? await compressBody(Buffer.from(json), "gzip") : json;
    // A peer refused with 429 did not act on the message and forgot it (docs/FEDERATION_PROTOCOL.md §Errors): the same one may go again.
    for (let waited = 0; ; ) {
      const sent = await this.#call("POST", peer, path, text, options);
      const r = sent.ok ? { ...sent, sentBytes: typeof text === "string" ? Buffer.byteLength(text) : text.length } : sent;
      if (r.ok || r.status !== 429 || this.#closed) return r;
      const wait = Math.max(1, r.retryAfterS ?? 1);
      if (waited + wait > (options.waitOnRateLimitS ?? 0)) return r;
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      waited += wait;
    }
  }

  /**
   * GETs `peer.url` + `path` (GET /health for `status`) and measures the latency.
   * @example const h = await client.getJson(peer, "/health", { timeoutMs: 3000 }); if (h.ok) print(h.latencyMs)
   */
  async getJson(peer: PeerTarget, path: string, options: RequestOptions = {}): Promise<PeerTimedResponse> {
    const started = performance.now();
    const response = await this.#call("GET", peer, path, undefined, { maxResponseBytes: DEFAULT_GET_LIMIT, ...options });
    return { ...response, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  }

  /**
   * Closes the pools of origins no peer in `peers` uses any more (a peer removed or moved by a
   * SIGHUP reload), gracefully: calls in flight to them finish first.
   * @example await client.retain([...config.peers.values()])
   */
  async retain(peers: readonly PeerTarget[]): Promise<number> {
    const keep = new Set<string>();
    for (const p of peers) {
      try {
        keep.add(new URL(p.url).origin);
      } catch {
        // a URL the config validator refused never got a pool
      }
    }
    const gone = [...this.#pools].filter(([origin]) => !keep.has(origin));
    for (const [origin] of gone) this.#pools.delete(origin);
    await Promise.all(gone.map(([, pool]) => pool.close().catch(() => undefined)));
    return gone.length;
  }

  /** Origins with an open connection pool. */
  get origins(): string[] {
    return [...this.#pools.keys()];
  }

  /**
   * Destroys every pool: calls in flight end as CONNECTION_RESET failures, later calls as CLIENT_CLOSED.
   * @example after(() => client.close())
   */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  #target(peer: PeerTarget, path: string): Target {
    if (typeof peer !== "object" || peer === null || typeof peer.url !== "string") throw new ArgumentError("peer", "must be an object with a url");
    if (typeof path !== "string" || !path.startsWith("/")) throw new ArgumentError("path", "must start with /");
    let url: URL;
    try {
      url = new URL(peer.url);
    } catch {
      throw new ArgumentError("peer.url", `is not a URL (peer ${String(peer.did)})`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new ArgumentError("peer.url", `must be http or https, not ${url.protocol} (peer ${String(peer.did)})`);
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    // User info in peers.yaml is for a reverse proxy in front of the peer: sent as Basic auth, never logged.
    const authorization = user === "" && password === "" ? undefined : `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    return {
      origin: url.origin,
      path: `${url.pathname.replace(/\/+$/, "")}${path}`,
      authorization,
      secrets: [url.username, url.password, user, password].filter((s) => s.length >= 3),
    };
  }

  async #pool(origin: string): Promise<Pool> {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      const o = this.#options;
      const { Pool } = await loadUndici();
      // Another call may have made the pool, or close() run, while undici loaded.
      pool = this.#pools.get(origin);
      if (pool !== undefined) return pool;
      if (this.#closed) throw new ArgumentError("client", "the peer client was closed");
      pool = new Pool(origin, {
        connections: o.connections,
        headersTimeout: o.headersTimeoutMs,
        bodyTimeout: o.bodyTimeoutMs,
        keepAliveTimeout: o.keepAliveTimeoutMs,
        connect: { timeout: o.connectTimeoutMs, ...(o.ca === undefined ? {} : { ca: o.ca }) },
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  async #call(method: "GET" | "POST", peer: PeerTarget, path: string, body: string | Buffer | undefined, options: RequestOptions): Promise<PeerResponse> {
    const target = this.#target(peer, path);
    const limit = options.maxResponseBytes ?? LIMITS.maxBundleBytes;
    if (!Number.isInteger(limit) || limit <= 0) throw new ArgumentError("options.maxResponseBytes", "must be a positive integer");
    if (options.timeoutMs !== undefined && (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0)) throw new ArgumentError("options.timeoutMs", "must be a positive integer");
    if (this.#closed) return { ok: false, code: "CLIENT_CLOSED", message: "the peer client is closed", retryable: true };
    const controller = new AbortController();
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), controller.abort()), options.timeoutMs);
    timer?.unref();
    // Compressed answers are welcome on every call (docs/FEDERATION_PROTOCOL.md §Compression).
    const headers: Record<string, string> = { accept: "application/json", "accept-encoding": ACCEPT_ENCODING, "user-agent": `vmsh-federation/${VERSION}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (Buffer.isBuffer(body)) headers["content-encoding"] = "gzip";
    if (target.authorization !== undefined) headers["authorization"] = target.authorization;
    try {
      const res = await (await this.#pool(target.origin)).request({ method, path: target.path, headers, body: body ?? null, signal: controller.signal });
      return await readAnswer(res, limit, () => controller.abort());
    } catch (error) {
      if (timedOut) return { ok: false, code: "TIMEOUT", message: `${target.origin}: no complete answer within ${options.timeoutMs} ms`, retryable: true };
      return networkFailure(error, target.origin, target.secrets);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}

async function readAnswer(res: Dispatcher.ResponseData, maxResponseBytes: number, abort: () => void): Promise<PeerResponse> {
  const status = res.statusCode;
  const success = status >= 200 && status < 300;
  const retryAfterS = parseRetryAfter(res.headers["retry-after"], Date.now());
  const limit = success ? maxResponseBytes : Math.min(maxResponseBytes, ERROR_BODY_LIMIT);
  const encoding = knownEncoding(res.headers["content-encoding"]);
  if (encoding === undefined) {
    abort();
    res.body.destroy();
    return { ok: false, status, code: "RESPONSE_ENCODING", message: `answer in Content-Encoding ${JSON.stringify(String(res.headers["content-encoding"]).slice(0, 40))}, which this node did not offer`, retryable: false };
  }
  const raw = await readLimited(res.body, res.headers["content-length"], limit, abort);
  let text: { text: string; bytes: number } | undefined = raw === undefined ? undefined : { text: raw.data.toString("utf8"), bytes: raw.data.length };
  let inflatedBytes = raw?.data.length ?? 0;
  if (raw !== undefined && encoding !== "identity" && raw.data.length > 0) {
    // Inflated under the same limit as a plain answer: a zip bomb stops at `limit` bytes.
    try {
      const inflated = await inflateBody(raw.data, encoding, limit);
      inflatedBytes = inflated.length;
      text = { text: inflated.toString("utf8"), bytes: raw.data.length };
    } catch (e) {
      if (e instanceof InflatedTooLarge) return success ? { ok: false, status, code: "RESPONSE_TOO_LARGE", message: `answer inflates to more than ${limit} bytes`, retryable: false } : statusFailure(status, res.statusText ?? "", undefined, retryAfterS);
      return { ok: false, status, code: "RESPONSE_ENCODING", message: `answer is not valid ${encoding}: ${(e as Error).message.slice(0, 120)}`, retryable: false };
    }
  }
  if (!success) return statusFailure(status, res.statusText ?? "", text === undefined ? undefined : tryParse(text.text), retryAfterS);
  if (text === undefined) return { ok: false, status, code: "RESPONSE_TOO_LARGE", message: `answer larger than ${maxResponseBytes} bytes`, retryable: false };
  if (text.bytes === 0) return { ok: true, status, body: null, bytes: 0 };
  try {
    return { ok: true, status, body: parsePeerJson(text.text), bytes: text.bytes, inflatedBytes };
  } catch (e) {
    return { ok: false, status, code: "RESPONSE_NOT_JSON", message: (e as Error).message.slice(0, 200), retryable: false };
  }
}

/** The body's bytes, or undefined once they pass `limit` (the request is then aborted). */
async function readLimited(body: Dispatcher.ResponseData["body"], declared: string | string[] | undefined, limit: number, abort: () => void): Promise<{ data: Buffer } | undefined> {
  // A declared length over the limit is refused before a byte of it is read.
  if (typeof declared === "string" && /^\d+$/.test(declared) && Number(declared) > limit) {
    abort();
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limit) {
      abort();
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return { data: Buffer.concat(chunks, bytes) };
}

function tryParse(text: string): unknown {
  try {
    return parsePeerJson(text);
  } catch {
    return undefined;
  }
}
