/** Test support: key sets built from a seed, and a loop that runs a whole reconcile exchange in memory. */
import { createHash } from "node:crypto";
import { seededRandom, type ReconcileLimits } from "../../lib/reconcile/limits.js";
import { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { initiate, respond, type NamespaceDelta, type ReconcilePart, type RespondResult } from "../../lib/reconcile/session.js";
import type { ReceiptKey } from "../../lib/store/types.js";

export const BASE_TS = 1_732_000_000;

/** The `sha256:<hex>` id of item `n` of a universe named `salt`. */
export function idOf(n: number, salt = "u"): string {
  return `sha256:${createHash("sha256").update(`${salt}:${n}`).digest("hex")}`;
}

export function byKey(a: ReceiptKey, b: ReceiptKey): number {
  return a.ts !== b.ts ? a.ts - b.ts : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Keys for item numbers; `perSecond` items share each ts, as receipts of one batch do. */
export function keysOf(items: readonly number[], perSecond = 10, salt = "u"): ReceiptKey[] {
  return items.map((n) => ({ ts: BASE_TS + Math.floor(n / perSecond), id: idOf(n, salt) })).sort(byKey);
}

export function indexOf(keys: readonly ReceiptKey[]): ReconcileIndex {
  return ReconcileIndex.fromSorted([...keys].sort(byKey));
}

export interface ExchangeResult {
  /** HTTP round trips: calls to the responder. */
  roundTrips: number;
  /** Binary payload bytes in both directions. */
  bytes: number;
  error?: string;
  initiator: NamespaceDelta[];
  /** What the responder learned over all rounds, per namespace, as key names: what it has that the initiator lacks, and what it lacks. */
  responder: Map<string, { have: Set<string>; need: Set<string> }>;
}

export type Responder = (message: readonly ReconcilePart[], round: number) => RespondResult;

/** The honest responder over `indexes`. */
export function honest(indexes: ReadonlyMap<string, ReconcileIndex>, limits: Partial<ReconcileLimits> = {}, seed = 7): Responder {
  return (message, round) => respond((ns) => indexes.get(ns), message, { ...limits, random: seededRandom(seed * 1000 + round) });
}

const size = (parts: readonly ReconcilePart[]) => parts.reduce((n, p) => n + p.payload.length, 0);

/** Runs initiate → respond → receive … until done or error. */
export function exchange(a: ReadonlyMap<string, ReconcileIndex>, responder: Responder, limits: Partial<ReconcileLimits> = {}, seed = 1): ExchangeResult {
  const { message, session } = initiate(a, { ...limits, random: seededRandom(seed) });
  const learned = new Map<string, { have: Set<string>; need: Set<string> }>();
  let next: readonly ReconcilePart[] = message;
  let roundTrips = 0;
  let bytes = 0;
  for (;;) {
    roundTrips++;
    bytes += size(next);
    const r = responder(next, roundTrips);
    if (!r.ok) return { roundTrips, bytes, error: `responder: ${r.reason}`, initiator: session.deltas(), responder: learned };
    bytes += size(r.reply);
    for (const d of r.deltas) {
      const entry = learned.get(d.namespace) ?? { have: new Set(), need: new Set() };
      d.have.forEach((k) => entry.have.add(keyName(k)));
      d.need.forEach((k) => entry.need.add(keyName(k)));
      learned.set(d.namespace, entry);
    }
    const s = session.receive(r.reply);
    if (s.error !== undefined) return { roundTrips, bytes, error: s.error, initiator: session.deltas(), responder: learned };
    if (s.next === undefined) return { roundTrips, bytes, initiator: session.deltas(), responder: learned };
    next = s.next;
  }
}

/** A key as one comparable string. */
export const keyName = (k: ReceiptKey): string => `${k.ts} ${k.id}`;

/** Keys of `a` not in `b`, as sorted key names. */
export function minus(a: readonly ReceiptKey[], b: readonly ReceiptKey[]): string[] {
  const other = new Set(b.map(keyName));
  return a.map(keyName).filter((k) => !other.has(k)).sort();
}
