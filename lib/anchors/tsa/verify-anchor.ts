/**
 * verifyTsaAnchor: an `rfc3161:<name>` anchor (docs/ANCHORS.md §RFC 3161 time-stamps)
 * checked against the batch root it claims. The upstream writer stamped a file holding the
 * 32 raw root bytes with `openssl ts -query -data … -sha256`, so the imprint is
 * sha256(rootBytes): the root hashed once more. The `<name>` binds the token to a configured
 * TSA (docs/ANCHORS.md §TSA names); the token is verified on a worker thread.
 */
import { createHash } from "node:crypto";
import type { Anchor } from "../anchor.js";
import { parseChainId } from "../anchor.js";
import { rejected, verified, type VerificationResult } from "../result.js";
import { digestBytes } from "../../digest.js";
import { ArgumentError } from "../../errors.js";
import { verifyTimestampTokenOffThread } from "./off-thread.js";
import { decodeTokenSig } from "./token-sig.js";
import type { TimestampOptions, TimestampVerification } from "./verify-token.js";

/** One configured time-stamp authority (anchors.yaml `rfc3161.tsas.<name>`). */
export interface NamedTsa {
  /** PEM of this TSA's own roots; without it, the roots of `TsaAnchorContext.trustPem`. */
  trustPem?: string;
  /** The signer certificate's subject, as evidence `signer` shows it ("O=…, CN=…"). */
  subject?: string;
}

export interface TsaAnchorContext {
  /** PEM of the roots any TSA may chain to (anchors.yaml `rfc3161.trustBundle`). */
  trustPem?: string;
  intermediatesPem?: string;
  /** The named TSAs (anchors.yaml `rfc3161.tsas`); an anchor naming one must come from it. */
  tsas?: ReadonlyMap<string, NamedTsa>;
  /** Clock for `evidence.checkedAt`; defaults to the system clock. */
  now?: () => Date;
  /** Verify on the calling thread instead of the worker thread (default false). */
  inline?: boolean;
}

function fingerprints(pem: string): Set<string> {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g)];
  return new Set(blocks.map((m) => createHash("sha256").update(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")).digest("hex")));
}

/** Whether a verified token comes from the named TSA `tsa` (its subject, and its roots when it has its own). */
function fromTsa(result: TimestampVerification, tsa: NamedTsa): boolean {
  if (tsa.subject !== undefined && result.signer !== tsa.subject) return false;
  if (tsa.trustPem !== undefined && !fingerprints(tsa.trustPem).has(result.trustAnchor!)) return false;
  return true;
}

/**
 * Verifies a TSA anchor: its batchRoot, then its `sig` token stamping sha256(root bytes), then
 * that the token comes from the TSA its chain id names.
 * @example
 * const result = await verifyTsaAnchor(anchor, "sha256:…", { trustPem });
 * result.outcome // "verified", evidence.genTime "2026-01-02T03:04:05.000Z"
 */
export async function verifyTsaAnchor(anchor: Anchor, batchRoot: string, ctx: TsaAnchorContext): Promise<VerificationResult> {
  const rootBytes = digestBytes(batchRoot, "batchRoot");
  const chain = parseChainId(anchor?.chain ?? "");
  if (chain?.rail !== "rfc3161") return rejected(`anchor chain ${JSON.stringify(anchor?.chain)} is not rfc3161:<tsa name>`);
  if (anchor.batchRoot !== batchRoot) return rejected(`anchor batchRoot ${JSON.stringify(anchor.batchRoot)} differs from the batch root ${batchRoot}`);
  const name = chain.network;
  const named = ctx.tsas?.get(name);
  const trustPem = named?.trustPem ?? ctx.trustPem;
  if (trustPem === undefined) throw new ArgumentError("ctx.trustPem", `no roots for rfc3161:${name}: give trustPem or tsas.${name}.trustPem`);
  const decoded = decodeTokenSig(anchor.sig);
  if ("reason" in decoded) return rejected(decoded.reason);

  const options: TimestampOptions = { trustPem, ...(ctx.intermediatesPem === undefined ? {} : { intermediatesPem: ctx.intermediatesPem }) };
  // The token verifier (and node-forge) loads here only when it runs on this thread.
  const verify = ctx.inline === true ? (await import("./verify-token.js")).verifyTimestampToken : verifyTimestampTokenOffThread;
  const result = await verify(decoded.token, { data: rootBytes }, options);
  if (result.outcome !== "verified") return rejected(`time-stamp token rejected: ${result.reason}`);
  if (named !== undefined && !fromTsa(result, named)) {
    return rejected(`time-stamp token signed by "${result.signer}" is not from the configured TSA "${name}"${named.subject === undefined ? " (it chains to another root)" : ` (subject "${named.subject}")`}`);
  }
  if (named === undefined) {
    // A token of a named TSA keeps that name: it cannot be relabelled as another, unnamed one.
    for (const [other, tsa] of ctx.tsas ?? []) {
      if (fromTsa(result, tsa)) return rejected(`time-stamp token is from the configured TSA "${other}", not "${name}"`);
    }
  }
  const checkedAt = Math.floor((ctx.now?.() ?? new Date()).getTime() / 1000);
  return verified({
    genTime: result.genTime!.toISOString(),
    signer: result.signer!,
    serialNumber: result.serialNumber!,
    policy: result.policy!,
    ...(named !== undefined ? { tsa: name } : {}),
    checkedAt,
  });
}
