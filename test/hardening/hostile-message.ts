/**
 * Building the messages of the hostile-input suite: the valid Announce and Request every case
 * starts from, and the two ways a case damages one (edit then sign, or sign then edit), plus
 * the kind of value each member must hold.
 */
import { createHash } from "node:crypto";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { checkpointBy } from "../support/checkpoint.js";
import type { Guest } from "../support/mesh.js";

export type Endpoint = "announce" | "request";

/** Who signs: guests with both roles, one with `request` only, one with `announce` only. */
export interface Cast {
  namespace: string;
  guests: readonly Guest[];
  reader: Guest;
  herald: Guest;
}

/**
 * What the node must answer. `refuse`: a 4xx other than 429. `valid`: 2xx, or 429 when the
 * sender is over its rate. A number: valid but for `ts = built second + skew`, judged against
 * the seconds read before sending and after the answer (the node's clock lies between them).
 */
export type Expect = "refuse" | "valid" | -301 | -300 | 300 | 301;

export interface Prepared {
  body: string | Uint8Array;
  contentType: string | undefined;
  expect: Expect;
}

export interface HostileCase {
  label: string;
  build(cast: Cast, nowS: number, unique: string): Prepared;
}

export type Obj = Record<string, unknown>;
export const ROOT = `sha256:${"5a".repeat(32)}`;
/** The node under attack (mesh node "a"): every base message names it in `aud`. */
const TARGET = "did:vm:node:a";
/** Signs the checkpoints of the base Announces; not an origin of any node, so nothing is pulled for them. */
const CHECKPOINT_SIGNER = { did: "did:vm:node:hostile-origin", key: generateNodeKey() };
export const JSON_TYPE = "application/json";

/** `sha256:<hex>` of `text`: distinct wanted ids. @example digestOf("a") // "sha256:ca97…" */
export const digestOf = (text: string): string => `sha256:${createHash("sha256").update(text).digest("hex")}`;
/** The `i`-th item, cycling. @example pick(cast.guests, 5) */
export const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
/** A deep copy through JSON, so a `__proto__` member stays an own member. @example clone(message) */
export const clone = (o: unknown): Obj => JSON.parse(JSON.stringify(o)) as Obj;

/**
 * The valid message a case starts from; `unique` makes its digest (and batch id) unlike any other case's.
 * @example base("announce", cast, guest.did, now, "c1")
 */
export function base(endpoint: Endpoint, cast: Cast, signer: string, ts: number, unique: string): Obj {
  if (endpoint === "announce") {
    const batchId = `h-${unique}`;
    const checkpoint = checkpointBy(CHECKPOINT_SIGNER, { namespace: cast.namespace, batchId, batchRoot: ROOT, ts });
    return { type: "announce", v: 2, namespace: cast.namespace, aud: TARGET, batchId, batchRoot: ROOT, checkpoint, anchors: [{ batchId, batchRoot: ROOT, chain: "rfc3161:vmsh-test", tx: "t1", block: 0, ts: 1, sig: "AAAA" }], ts, signer };
  }
  return { type: "request", v: 2, namespace: cast.namespace, aud: TARGET, fromTs: 0, toTs: 2 ** 40, want: [digestOf(unique)], ts, signer };
}

/** `o` signed by guest `g`. @example sign(base("request", cast, g.did, now, "c1"), g) */
export const sign = (o: Obj, g: Guest): Obj => signMessage(o as never, g.key.privateKey) as unknown as Obj;
/** A JSON body with its expectation. @example json("{}") // refused */
export const json = (body: string, expect: Expect = "refuse"): Prepared => ({ body, contentType: JSON_TYPE, expect });

/**
 * A correctly signed message with `edit` applied before signing: the edit is its only fault.
 * @example resigned("no anchors", "announce", (o) => void (o.anchors = []))
 */
export function resigned(label: string, endpoint: Endpoint, edit: (o: Obj, cast: Cast) => void, expect: Expect = "refuse", guest = 0): HostileCase {
  return {
    label,
    build(cast, nowS, unique) {
      const g = pick(cast.guests, guest);
      const o = clone(base(endpoint, cast, g.did, nowS, unique));
      edit(o, cast);
      // The checkpoint follows the announced batch, so an edit of namespace or batch id reaches
      // the check it aims at instead of stopping at "checkpoint is for another batch".
      const cp = o.checkpoint;
      if (endpoint === "announce" && typeof cp === "object" && cp !== null && !Array.isArray(cp)) {
        for (const k of ["namespace", "batchId", "batchRoot"] as const) if (typeof o[k] === "string" && Object.hasOwn(cp, k)) (cp as Obj)[k] = o[k];
      }
      // Through JSON again: what is signed is what is sent (NaN becomes null, undefined goes).
      return json(JSON.stringify(sign(clone(o), g)), expect);
    },
  };
}

/**
 * A correctly signed message edited after signing (so the signature no longer covers it).
 * @example tampered("ts changed", "request", (o) => void (o.ts = 0))
 */
export function tampered(label: string, endpoint: Endpoint, edit: (o: Obj) => void, guest = 0): HostileCase {
  return {
    label,
    build(cast, nowS, unique) {
      const g = pick(cast.guests, guest);
      const signed = sign(base(endpoint, cast, g.did, nowS, unique), g);
      const before = JSON.stringify(signed);
      const o = clone(signed);
      edit(o);
      const after = JSON.stringify(o);
      // An edit that happens to leave the message as it was would make a valid message.
      return json(after === before ? JSON.stringify({ ...o, sig: null }) : after);
    },
  };
}

/** The text of a valid signed message from the first guest. @example validText("request", cast, now, "c1") */
export function validText(endpoint: Endpoint, cast: Cast, nowS: number, unique: string): string {
  const g = pick(cast.guests, 0);
  return JSON.stringify(sign(base(endpoint, cast, g.did, nowS, unique), g));
}

/** What a member must hold: a JSON type, or the one literal allowed. */
export type Kind = "string" | "integer" | "array" | "object" | "announce" | "request" | 1 | 2;

export const KINDS: Readonly<Record<Endpoint, Record<string, Kind>>> = {
  announce: { type: "announce", v: 2, namespace: "string", aud: "string", batchId: "string", batchRoot: "string", checkpoint: "object", anchors: "array", ts: "integer", signer: "string", sig: "string" },
  request: { type: "request", v: 2, namespace: "string", aud: "string", fromTs: "integer", toTs: "integer", want: "array", ts: "integer", signer: "string", sig: "string" },
};
export const ANCHOR_KINDS: Readonly<Record<string, Kind>> = { batchId: "string", batchRoot: "string", chain: "string", tx: "string", block: "integer", ts: "integer", sig: "string", memo: "string", contract: "string" };

/** The members of the base message of `endpoint`. @example fieldsOf("request") // ["type", "v", …] */
export const fieldsOf = (endpoint: Endpoint): string[] => Object.keys(KINDS[endpoint]);
