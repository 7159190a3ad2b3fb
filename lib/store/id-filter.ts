/**
 * The receipt-id filter of one namespace (docs/STATE.md §Id filter): a Bloom filter of every
 * receipt id stored in it, kept in `namespaces/<ns>/ids.json` beside the manifest, and valid only
 * for the set of batch versions and receipt counts it names (a version only ever gains receipts,
 * so the same versions with the same counts hold the same ids, whoever wrote them). It answers "certainly not stored" for an id, which is what a
 * command storing one batch needs to count the namespace's distinct receipts without reading
 * every batch file; an id it may hold sends that command back to the full receipt index.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-file.js";

/** Bits per id at capacity and probes per id: a false "may hold" for about 1 id in 50,000. */
const BITS_PER_ID = 24;
const PROBES = 16;
const MIN_CAPACITY = 4_096;
/** The file's kind and version (docs/STATE.md §Id filter). */
export const ID_FILTER_VERSION = 1;

export interface IdFilterFile {
  kind: "id-filter";
  version: number;
  namespace: string;
  /** `versionsDigest` of the batch versions whose ids it holds. */
  versions: string;
  /** Ids added, and how many it holds before it must be rebuilt larger. */
  count: number;
  capacity: number;
  /** Per-filter random seed (hex), so that ids cannot be chosen to fill it. */
  seed: string;
  bits: string;
}

/** 32-bit FNV-1a of `s`, started from `h`. */
function fnv(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class IdFilter {
  readonly capacity: number;
  count: number;
  /** `versionsDigest` of the versions this filter is complete for. */
  versions = "";
  readonly #bits: Uint8Array;
  readonly #seed: [number, number];
  readonly #seedHex: string;

  private constructor(capacity: number, count: number, bits: Uint8Array, seedHex: string) {
    this.capacity = capacity;
    this.count = count;
    this.#bits = bits;
    this.#seedHex = seedHex;
    this.#seed = [parseInt(seedHex.slice(0, 8), 16) >>> 0, parseInt(seedHex.slice(8, 16), 16) >>> 0];
  }

  /** An empty filter sized for `expected` ids with room to grow (twice that, at least MIN_CAPACITY). */
  static sizedFor(expected: number): IdFilter {
    const capacity = Math.max(MIN_CAPACITY, 2 * expected);
    return new IdFilter(capacity, 0, new Uint8Array(Math.ceil((capacity * BITS_PER_ID) / 8)), randomBytes(8).toString("hex"));
  }

  /** The filter of a file, or undefined when the file is not one this build wrote for `namespace` holding `versions`. */
  static fromFile(data: unknown, namespace: string, versions: string): IdFilter | undefined {
    const f = data as Partial<IdFilterFile> | null;
    if (typeof f !== "object" || f === null || f.kind !== "id-filter" || f.version !== ID_FILTER_VERSION || f.namespace !== namespace || f.versions !== versions) return undefined;
    if (!Number.isSafeInteger(f.capacity) || !Number.isSafeInteger(f.count) || f.count! < 0 || f.capacity! < MIN_CAPACITY || typeof f.seed !== "string" || !/^[0-9a-f]{16}$/.test(f.seed) || typeof f.bits !== "string") return undefined;
    const bits = Buffer.from(f.bits, "base64");
    if (bits.length !== Math.ceil((f.capacity! * BITS_PER_ID) / 8)) return undefined;
    const filter = new IdFilter(f.capacity!, f.count!, new Uint8Array(bits.buffer, bits.byteOffset, bits.length), f.seed);
    filter.versions = versions;
    return filter;
  }

  #probe(id: string, fn: (byte: number, mask: number) => boolean): boolean {
    const m = this.#bits.length * 8;
    const h1 = fnv(id, this.#seed[0] ^ 0x811c9dc5);
    const h2 = fnv(id, this.#seed[1] ^ 0x050c5d1f) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = bit % m;
      if (!fn(at >>> 3, 1 << (at & 7))) return false;
    }
    return true;
  }

  add(id: string): void {
    this.#probe(id, (byte, mask) => {
      this.#bits[byte]! |= mask;
      return true;
    });
    this.count++;
  }

  /** False: `id` was certainly never added. True: it may have been. */
  mayHave(id: string): boolean {
    return this.#probe(id, (byte, mask) => (this.#bits[byte]! & mask) !== 0);
  }

  /** Whether `more` ids fit before the false "may hold" rate passes its design. */
  hasRoomFor(more: number): boolean {
    return this.count + more <= this.capacity;
  }

  toFile(namespace: string, versions: string): IdFilterFile {
    return { kind: "id-filter", version: ID_FILTER_VERSION, namespace, versions, count: this.count, capacity: this.capacity, seed: this.#seedHex, bits: Buffer.from(this.#bits.buffer, this.#bits.byteOffset, this.#bits.length).toString("base64") };
  }
}

/**
 * Names a namespace's batch versions and their receipt counts, in any order: what an id filter
 * must have been built over to be complete.
 * @example versionsDigest([{ batchId: "b1", batchRoot: "sha256:…", origin: "did:vm:node:a", receiptCount: 200 }])
 */
export function versionsDigest(versions: Iterable<{ batchId: string; batchRoot: string; origin?: string | undefined; receiptCount: number }>): string {
  const lines: string[] = [];
  for (const v of versions) lines.push(JSON.stringify([v.batchId, v.batchRoot, v.origin ?? null, v.receiptCount]));
  lines.sort();
  const h = createHash("sha256");
  for (const l of lines) h.update(`${l}\n`);
  return `sha256:${h.digest("hex")}`;
}

/** The filter at `path` if it describes `namespace` holding `versions`; undefined when absent, unreadable or stale (never an error: it is a cache). */
export async function readIdFilter(path: string, namespace: string, versions: string): Promise<IdFilter | undefined> {
  try {
    return IdFilter.fromFile(JSON.parse(await readFile(path, "utf8")), namespace, versions);
  } catch {
    return undefined;
  }
}

/** Writes `filter`, complete for `versions` of `namespace`, atomically (under the store lock). */
export async function writeIdFilter(path: string, filter: IdFilter, namespace: string, versions: string): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(filter.toFile(namespace, versions))}\n`);
  filter.versions = versions;
}
