/**
 * Asking a time-stamp authority for a token over a batch root (RFC 3161 §3.4, time-stamp
 * protocol over HTTP): the TimeStampReq upstream's writer made with `openssl ts -query -data
 * <32 raw root bytes> -sha256 -cert -no_nonce`, POSTed as `application/timestamp-query`; the
 * answer is checked to be granted and to stamp exactly sha256(root bytes) before it is kept
 * (docs/ANCHORS.md §Sealing with a TSA). Whether the TSA is trusted is decided later, by the
 * verifier of every node that receives the anchor.
 */
import { createHash } from "node:crypto";
import { forge } from "./forge-asn1.js";
import { digestBytes } from "../../digest.js";
import { VmshError } from "../../errors.js";
import { decodeDer, encodeDer } from "./der.js";
import { TokenRejection } from "./rejection.js";
import { unwrapResponse } from "./response.js";
import { readSignedData } from "./signed-data.js";
import { readTstInfo } from "./tst-info.js";

const OID_SHA256 = "2.16.840.1.101.3.4.2.1";

/** The most a TSA answer may be; real ones are a few KB. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/**
 * The DER TimeStampReq over sha256(`root`'s 32 bytes): version 1, SHA-256 imprint, certReq true, no nonce, no policy.
 * @example timeStampRequest("sha256:" + "00".repeat(32)).length // 59
 */
export function timeStampRequest(root: string): Uint8Array {
  const imprint = createHash("sha256").update(digestBytes(root)).digest();
  const a = forge.asn1;
  const node = a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
    a.create(a.Class.UNIVERSAL, a.Type.INTEGER, false, String.fromCharCode(1)),
    a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [
      a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [a.create(a.Class.UNIVERSAL, a.Type.OID, false, a.oidToDer(OID_SHA256).getBytes()), a.create(a.Class.UNIVERSAL, a.Type.NULL, false, "")]),
      a.create(a.Class.UNIVERSAL, a.Type.OCTETSTRING, false, imprint.toString("binary")),
    ]),
    a.create(a.Class.UNIVERSAL, a.Type.BOOLEAN, false, String.fromCharCode(0xff)),
  ]);
  return encodeDer(node);
}

/** What a TSA answered, once checked. */
export interface StampedRoot {
  /** The whole DER TimeStampResp, as upstream's writer keeps it in `sig` (base64). */
  response: Uint8Array;
  /** The token's genTime, unix seconds. */
  genTime: number;
}

/**
 * Checks a TSA's answer to {@link timeStampRequest}: granted, a token inside, and its imprint is
 * sha256(root bytes) with SHA-256. Throws VmshError TSA_FAILED naming what is wrong.
 * @example readStampResponse(bytes, root).genTime // 1760000000
 */
export function readStampResponse(response: Uint8Array, root: string, url: string): StampedRoot {
  try {
    const token = unwrapResponse(decodeDer(response, "time-stamp response"));
    const info = readTstInfo(readSignedData(token).eContent);
    const want = createHash("sha256").update(digestBytes(root)).digest();
    if (info.imprintAlgorithm !== "sha256" || !Buffer.from(info.imprint).equals(want)) {
      throw new TokenRejection(`the token stamps ${info.imprintAlgorithm}:${Buffer.from(info.imprint).toString("hex")}, not sha256(root bytes) ${want.toString("hex")}`);
    }
    return { response, genTime: Math.floor(info.genTime.getTime() / 1000) };
  } catch (e) {
    if (e instanceof TokenRejection) throw new VmshError("TSA_FAILED", `--tsa ${url}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The system error code (ECONNREFUSED, ENOTFOUND…) somewhere in fetch's cause chain. */
function errorCode(e: unknown): string | undefined {
  let c = e as { code?: unknown; cause?: unknown; errors?: Array<{ code?: unknown }>; name?: string } | undefined;
  for (let depth = 0; depth < 5 && c !== undefined && c !== null; depth++) {
    if (typeof c.code === "string" && c.code !== "UND_ERR_SOCKET") return c.code;
    if (typeof c.errors?.[0]?.code === "string") return c.errors[0].code;
    if (c.name === "TimeoutError") return "timed out";
    c = c.cause as typeof c;
  }
  return undefined;
}

export interface RequestStampOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/**
 * POSTs the TimeStampReq for `root` to `url` and returns the checked answer.
 * Throws VmshError TSA_FAILED when the TSA cannot be reached, answers other than 200, or the token does not fit.
 * @example const { response, genTime } = await requestStamp("http://127.0.0.1:3180/tsa", root)
 */
export async function requestStamp(url: string, root: string, options: RequestStampOptions = {}): Promise<StampedRoot> {
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query", accept: "application/timestamp-reply" },
      body: timeStampRequest(root),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (cause) {
    const inner = (cause as { cause?: { message?: unknown } }).cause?.message;
    const why = errorCode(cause) ?? (typeof inner === "string" ? inner : (cause as Error).message);
    throw new VmshError("TSA_FAILED", `--tsa ${url}: cannot be reached: ${why}`, { cause });
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new VmshError("TSA_FAILED", `--tsa ${url}: answered HTTP ${res.status}, not a time-stamp response`);
  if (body.length > MAX_RESPONSE_BYTES) throw new VmshError("TSA_FAILED", `--tsa ${url}: answer of ${body.length} bytes is larger than ${MAX_RESPONSE_BYTES}`);
  return readStampResponse(body, root, url);
}
