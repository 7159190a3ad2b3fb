/**
 * Benchmark of message signatures (docs/FEDERATION_PROTOCOL.md §Signatures): announces verified per second through
 * `authenticate()` (every check of docs/FEDERATION_PROTOCOL.md §Verification order, node:crypto Ed25519 over our detached JWS) against
 * tweetnacl's `nacl.sign.detached.verify` over the same signing input, the implementation
 * measured at about 140/s, docs/BENCHMARKS.md §What each row measures; plus the bare node:crypto verify and `signMessage` per second.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/messages.bench.js [--seconds S]
 */
import { checkpointBy } from "../test/support/checkpoint.js";
import { verify as cryptoVerify } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import nacl from "tweetnacl";
import { generateNodeKey } from "../lib/identity/keys.js";
import { authenticate, signMessage, type AuthenticateContext, type Role } from "../lib/messages/authenticate.js";
import { canonicalJson, unsigned } from "../lib/messages/canonical.js";
import { ReplayCache } from "../lib/messages/replay.js";
import type { Announce } from "../lib/messages/schema.js";
import { formatTable, type BenchFigures } from "./table.js";

const NS = "dao:vaultmesh";
const SIGNER = "did:vm:node:bench";
const NOW = 1_750_000_000;
/** Distinct messages: the replay cache must see a new digest on every check, as in production. */
const POOL = 512;
const SLICE_MS = 250;

/**
 * Operations per second of each op, run for about `seconds` each in interleaved slices of
 * SLICE_MS, so that load from other processes on the shared machine falls on every op alike
 * (the ratios are what this benchmark is for). The clock is read every 8 calls.
 */
function perSecond(seconds: number, ops: ReadonlyArray<(i: number) => void>): number[] {
  const counts = ops.map(() => 0);
  const elapsed = ops.map(() => 0);
  for (const op of ops) for (let i = 0; i < 16; i++) op(i); // JIT warm-up, not counted
  for (let round = 0; round < Math.max(1, Math.round((seconds * 1000) / SLICE_MS)); round++) {
    ops.forEach((op, k) => {
      const t0 = performance.now();
      let now = t0;
      while (now - t0 < SLICE_MS) {
        for (let j = 0; j < 8; j++) op(counts[k]!++);
        now = performance.now();
      }
      elapsed[k]! += now - t0;
    });
  }
  return counts.map((c, k) => (c / elapsed[k]!) * 1000);
}

/** The node the benchmarked messages are addressed to. */
const RECEIVER = "did:vm:node:receiver";
const ORIGIN = { did: "did:vm:node:bench-origin", key: generateNodeKey() };
/** An origin's checkpoint of the announced batch (docs/FEDERATION_PROTOCOL.md §Checkpoint). */
const CHECKPOINT = (batchId: string, batchRoot: string) => checkpointBy(ORIGIN, { namespace: NS, batchId, batchRoot, ts: NOW });

function announce(i: number): Omit<Announce, "sig"> {
  const root = `sha256:${i.toString(16).padStart(64, "0")}`;
  const batchId = `b-${String(i).padStart(6, "0")}`;
  return {
    type: "announce",
    v: 2,
    namespace: NS,
    aud: RECEIVER,
    batchId,
    batchRoot: root,
    checkpoint: CHECKPOINT(batchId, root),
    anchors: [{ batchId, batchRoot: root, chain: "btc:regtest", tx: "cd".repeat(32), block: 101, ts: NOW - 60 }],
    ts: NOW,
    signer: SIGNER,
  };
}

/** The JWS signing input (RFC 7515 §5.2) of a signed message: what both libraries verify. */
function signingInput(message: Announce): { input: Uint8Array; signature: Uint8Array } {
  const [protectedB64, , signatureB64] = message.sig.split(".") as [string, string, string];
  const payload = Buffer.from(canonicalJson(unsigned(message)), "utf8").toString("base64url");
  return { input: Buffer.from(`${protectedB64}.${payload}`, "ascii"), signature: Buffer.from(signatureB64, "base64url") };
}

/**
 * Measures each operation for about `seconds` (default 3) and returns the rows.
 * @example const { rows } = run({ seconds: 1 });
 */
export function run(options: { seconds?: number } = {}): BenchFigures {
  const seconds = options.seconds ?? 3;
  const key = generateNodeKey();
  const messages = Array.from({ length: POOL }, (_, i) => signMessage<Announce>(announce(i), key.privateKey));
  const inputs = messages.map(signingInput);
  const peers = new Map([[SIGNER, { did: SIGNER, roles: new Set<Role>(["announce"]), publicKey: key.publicKey }]]);
  const ctx: AuthenticateContext = { peers, isRouted: () => true, now: () => NOW, skewS: 300, replay: new ReplayCache(), self: RECEIVER };
  const fresh = () => (ctx.replay = new ReplayCache());

  // Every figure below counts only checks that succeeded: a rejected message would be a bug here.
  const [authenticated, bare, tweetnacl, signed] = perSecond(seconds, [
    (i) => {
      if (i % POOL === 0) fresh();
      if (!authenticate(messages[i % POOL]!, ctx).ok) throw new Error(`authenticate refused message ${i % POOL}`);
    },
    (i) => {
      const m = inputs[i % POOL]!;
      if (!cryptoVerify(null, m.input, key.publicKey, m.signature)) throw new Error("node:crypto refused a good signature");
    },
    (i) => {
      const m = inputs[i % POOL]!;
      if (!nacl.sign.detached.verify(m.input, m.signature, key.publicKeyBytes)) throw new Error("tweetnacl refused a good signature");
    },
    (i) => void signMessage<Announce>(announce(i), key.privateKey),
  ]) as [number, number, number, number];

  const vsNacl = { name: "tweetnacl verify", value: tweetnacl };
  return {
    name: "messages (Ed25519, one-anchor announce)",
    rows: [
      { metric: "verified/s: authenticate() (node:crypto, all protocol checks)", value: authenticated, unit: "msg/s", baseline: vsNacl },
      { metric: "verified/s: node:crypto verify of the signing input", value: bare, unit: "msg/s", baseline: vsNacl },
      { metric: "signed/s: signMessage() (node:crypto)", value: signed, unit: "msg/s" },
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--seconds");
  console.log(formatTable([run(at < 0 ? {} : { seconds: Number(process.argv[at + 1]) })]));
}
