/**
 * verifyTsaAnchor: an `rfc3161:<name>` anchor (docs/ANCHORS.md §The anchor) checked against the batch
 * root it claims. The upstream writer stamped a file holding the 32 raw root bytes
 * with `openssl ts -query -data … -sha256`, so the imprint is sha256(rootBytes):
 * the root hashed once more.
 */
import type { Anchor } from "../anchor.js";
import { parseChainId } from "../anchor.js";
import { rejected, verified, type VerificationResult } from "../result.js";
import { digestBytes } from "../../digest.js";
import { verifyTimestampToken } from "./verify-token.js";

export interface TsaAnchorContext {
  /** PEM of the TSA trust anchors (anchors.yaml `rfc3161.trustBundle`). */
  trustPem: string;
  intermediatesPem?: string;
  /** Clock for `evidence.checkedAt`; defaults to the system clock. */
  now?: () => Date;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Verifies a TSA anchor: its batchRoot, then its `sig` token stamping sha256(root bytes).
 * @example
 * const result = await verifyTsaAnchor(anchor, "sha256:…", { trustPem });
 * result.outcome // "verified", evidence.genTime "2026-01-02T03:04:05.000Z"
 */
export async function verifyTsaAnchor(anchor: Anchor, batchRoot: string, ctx: TsaAnchorContext): Promise<VerificationResult> {
  const rootBytes = digestBytes(batchRoot, "batchRoot");
  const chain = parseChainId(anchor?.chain ?? "");
  if (chain?.rail !== "rfc3161") return rejected(`anchor chain ${JSON.stringify(anchor?.chain)} is not rfc3161:<tsa name>`);
  if (anchor.batchRoot !== batchRoot) return rejected(`anchor batchRoot ${JSON.stringify(anchor.batchRoot)} differs from the batch root ${batchRoot}`);
  if (typeof anchor.sig !== "string" || anchor.sig.length === 0) return rejected("TSA anchor has no sig (base64 time-stamp token)");
  const compact = anchor.sig.replace(/\s+/g, "");
  if (!BASE64.test(compact)) return rejected("TSA anchor sig is not base64");

  const result = await verifyTimestampToken(Uint8Array.from(Buffer.from(compact, "base64")), { data: rootBytes }, { trustPem: ctx.trustPem, ...(ctx.intermediatesPem === undefined ? {} : { intermediatesPem: ctx.intermediatesPem }) });
  if (result.outcome !== "verified") return rejected(`time-stamp token rejected: ${result.reason}`);
  const checkedAt = Math.floor((ctx.now?.() ?? new Date()).getTime() / 1000);
  return verified({
    genTime: result.genTime!.toISOString(),
    signer: result.signer!,
    serialNumber: result.serialNumber!,
    policy: result.policy!,
    checkedAt,
  });
}
